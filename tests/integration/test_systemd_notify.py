"""The binary under systemd's notify protocol, with a real datagram socket standing in for
systemd: READY=1 once serving, WATCHDOG=1 repeatedly (each ping answered by an io thread first),
RELOADING=1 then READY=1 around SIGHUP, STOPPING=1 on SIGTERM.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

from bridge_process import Bridge, bridge_bin, wait_for_port


def read_until(sock: socket.socket, want: str, timeout: float = 30.0) -> list[str]:
    got = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            msg = sock.recv(4096).decode()
        except socket.timeout:
            break
        got.append(msg)
        if want in msg.split("\n"):
            return got
    raise AssertionError(f"no {want} in {got}")


def test_ready_watchdog_reload_stopping(tmp_path):
    b = Bridge(tmp_path)
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="300000")
    log = open(b.log_path, "ab")
    proc = subprocess.Popen([bridge_bin(), "--config", str(b.config_path)], env=env, stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        read_until(sock, "READY=1")
        # Serving when it says so.
        wait_for_port(b.port, proc, timeout=1)
        pings = 0
        for _ in range(3):
            read_until(sock, "WATCHDOG=1", timeout=5)
            pings += 1
        assert pings == 3
        proc.send_signal(signal.SIGHUP)
        got = read_until(sock, "READY=1")
        assert any("RELOADING=1" in m for m in got), got
        proc.send_signal(signal.SIGTERM)
        read_until(sock, "STOPPING=1")
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sock.close()
        log.close()
