"""The edgebridge process: config rejection paths, graceful shutdown, restart."""
from __future__ import annotations

import signal
import socket
import subprocess
import time

import pytest

from bridge_process import Bridge, bridge_bin, free_port


def run_with_config(tmp_path, text: str) -> subprocess.CompletedProcess:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    return subprocess.run([bridge_bin(), "--config", str(cfg)], capture_output=True, text=True,
                          timeout=30)


@pytest.mark.parametrize(
    "yaml_text, expected",
    [
        ("colour: blue\n", "colour: unknown key"),
        ("listener: {port: abc}\n", "listener.port: expected an integer"),
        ("listener: {port: 70000}\n", "listener.port: must be between"),
        ("storage: {fsync: sometimes}\n", "storage.fsync: expected one of"),
        ("server: {idle_timeout: 600}\n", "server.idle_timeout: expected a duration"),
        ("storage: {data_dir: /proc/version/x}\n", "storage.data_dir"),
        ("listener: {port: 1\n", "YAML syntax error"),
        ("mirror: {properties: {no.such.librdkafka.property: 1}}\n", "mirror.properties"),
    ],
)
def test_bad_config_exits_2_naming_the_key(tmp_path, yaml_text, expected):
    # Every case gets a data dir of its own (and a free port): should a case wrongly pass, the
    # bridge it starts must not touch the working dir or a real port.
    data_dir = f"data_dir: {tmp_path / 'd'}"
    if "storage: {" in yaml_text:
        if "data_dir" not in yaml_text:
            yaml_text = yaml_text.replace("storage: {", "storage: {" + data_dir + ", ")
    else:
        yaml_text = f"storage: {{{data_dir}}}\n" + yaml_text
    if "listener:" not in yaml_text:
        yaml_text = f"listener: {{host: 127.0.0.1, port: {free_port()}}}\n" + yaml_text
    r = run_with_config(tmp_path, yaml_text)
    assert r.returncode == 2, r.stderr
    assert expected in r.stderr
    assert "edgebridge: config error:" in r.stderr


def test_missing_config_file_exits_2(tmp_path):
    r = subprocess.run([bridge_bin(), "--config", str(tmp_path / "nope.yaml")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert "cannot be read" in r.stderr


def test_unknown_flag_exits_2():
    r = subprocess.run([bridge_bin(), "--no-such-flag"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2


def test_check_config_accepts_the_example(tmp_path):
    from bridge_process import ROOT
    text = (ROOT / "config/edgebridge.example.yaml").read_text()
    text = text.replace("data_dir: ./data", f"data_dir: {tmp_path / 'data'}")
    cfg = tmp_path / "example.yaml"
    cfg.write_text(text)
    r = subprocess.run([bridge_bin(), "--config", str(cfg), "--check-config"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr


def test_sigterm_and_sigint_shut_down_cleanly(tmp_path):
    for sig in (signal.SIGTERM, signal.SIGINT):
        b = Bridge(tmp_path / sig.name).start()
        assert b.stop(sig) == 0
        assert "stopped cleanly" in b.log()


def test_port_in_use_exits_1(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        cfg = tmp_path / "c.yaml"
        cfg.write_text(f"listener: {{host: 127.0.0.1, port: {port}}}\n"
                       f"storage: {{data_dir: {tmp_path / 'd'}}}\n")
        r = subprocess.run([bridge_bin(), "--config", str(cfg)], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 1
        assert "cannot listen" in (r.stdout + r.stderr)


def test_embedded_default_config_runs(tmp_path):
    port = free_port()
    # The default listens on 9092; point it elsewhere with a flag-free copy of the default.
    out = subprocess.run([bridge_bin(), "--print-default-config"], capture_output=True, text=True,
                         check=True).stdout
    assert "site_id" in out
    text = out.replace("port: 9092", f"port: {port}").replace("./data", str(tmp_path / "data"))
    cfg = tmp_path / "d.yaml"
    cfg.write_text(text)
    # Any free HTTP port: tests run side by side.
    proc = subprocess.Popen([bridge_bin(), "--config", str(cfg), "--http-port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the default config did not come up")
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
