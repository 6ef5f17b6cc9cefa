"""Starts and stops the real edgebridge binary for integration tests.

The binaries come from the CMake build: EB_BRIDGE_BIN / EB_DUMP_BIN (set by ctest), or
build/bridge/edgebridge and build/bridge/edgebridge-dump under the source tree.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def bridge_bin() -> str:
    return os.environ.get("EB_BRIDGE_BIN", str(ROOT / "build/bridge/edgebridge"))


def dump_bin() -> str:
    return os.environ.get("EB_DUMP_BIN", str(ROOT / "build/bridge/edgebridge-dump"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"edgebridge exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class Bridge:
    """One edgebridge process with its own data dir and port. Restartable on the same dir/port."""

    def __init__(self, workdir: Path, extra_yaml: str = "", mirror_bootstrap: str | None = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.workdir / "data"
        self.port = free_port()
        # The HTTP endpoints (/metrics, /v1/status, the page): a port of its own, never 9644, so
        # that bridges of parallel tests do not collide.
        self.http_port = free_port()
        self.log_path = self.workdir / "edgebridge.log"
        self.config_path = self.workdir / "edgebridge.yaml"
        mirror = ""
        if mirror_bootstrap:
            mirror = f"mirror:\n  bootstrap: {mirror_bootstrap}\n"
        self.config_path.write_text(
            f"listener: {{host: 127.0.0.1, port: {self.port}}}\n"
            f"http: {{host: 127.0.0.1, port: {self.http_port}}}\n"
            f"storage: {{data_dir: {self.data_dir}}}\n" + mirror + extra_yaml
        )
        self.proc: subprocess.Popen | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "Bridge":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [bridge_bin(), "--config", str(self.config_path)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        log.close()
        wait_for_port(self.port, self.proc)
        # The HTTP listener starts after the Kafka one (bridge/app.cc): ready means both.
        wait_for_port(self.http_port, self.proc)
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        """Stops the process; returns its exit status (negative: killed by that signal)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            raise AssertionError(f"edgebridge did not stop within {timeout}s of signal {sig}")
        finally:
            self.proc = None
        return rc

    def kill9(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def dump(self, topic: str) -> list[dict]:
        """Every stored record of `topic` (the bridge must be stopped: RocksDB is locked)."""
        out = subprocess.run(
            [dump_bin(), "--data-dir", str(self.data_dir), "--topic", topic],
            check=True, capture_output=True, timeout=300,
        )
        return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
