"""scripts/run.sh, README's first command, end to end.

With no --config, run.sh starts a real Apache Kafka as the stand-in cloud (scripts/kafka/kafka.sh),
runs edgebridge in the foreground mirroring to it, and stops that Kafka when it exits. Here it runs
the build's edgebridge (EB_BINARY: no install, no build) with the stand-in in a temp dir
(EB_CLOUD_DIR) and the listener/data dir moved off 9092/./data by flags. Records produced with kcat
must arrive in the stand-in; then the script's process group gets SIGINT, as a terminal's Ctrl-C
sends it, or SIGTERM, as a service manager stopping the whole group does: edgebridge must stop
cleanly (the script exits with its status) and no Kafka JVM may be left for that dir.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from bridge_process import ROOT, bridge_bin, free_port, wait_for_port

RUN_SH = ROOT / "scripts" / "run.sh"
KAFKA_SH = ROOT / "scripts" / "kafka" / "kafka.sh"
# kafka.sh waits up to 90 s for the broker (EB_KAFKA_START_TIMEOUT) on a machine shared with builds.
START_TIMEOUT = 150.0
# edgebridge's shutdown plus kafka.sh stop (SIGTERM, SIGKILL after 30 s).
STOP_TIMEOUT = 90.0
RECORDS = 5


def kafka_jvms(cloud_dir: Path) -> list[int]:
    """Pids of java processes running the broker whose state is in cloud_dir."""
    props = str(cloud_dir / "server.properties")
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # exited meanwhile
            continue
        args = [a.decode(errors="replace") for a in argv if a]
        if args and Path(args[0]).name == "java" and props in args:
            pids.append(int(entry.name))
    return pids


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def wait_until(check, timeout: float, what: str, step: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"{what}: not within {timeout} s")


def kcat_produce(bootstrap: str, topic: str, lines: list[str]) -> None:
    """Produces "key:value" lines; kcat at -v -v prints one line per delivery report."""
    r = subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", topic, "-K:", "-v", "-v"],
                       input="".join(f"{line}\n" for line in lines), capture_output=True,
                       text=True, timeout=60)
    delivered = r.stderr.count("Message delivered to partition")
    assert r.returncode == 0 and delivered == len(lines), r.stderr[-3000:]


def kcat_read(bootstrap: str, topic: str) -> list[dict]:
    """The topic's records up to its end at this moment; [] while it does not exist yet."""
    try:
        r = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e",
                            "-J", "-q", "-m", "10"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return []
    if r.returncode != 0:
        return []
    return [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]


# Ctrl-C signals the terminal's process group; a service manager or `kill PID` only the script.
@pytest.mark.parametrize("sig,whole_group", [(signal.SIGINT, True), (signal.SIGTERM, True),
                                             (signal.SIGTERM, False)],
                         ids=["ctrl-c", "sigterm-group", "sigterm-script"])
def test_run_sh_mirrors_to_the_stand_in_cloud_and_stops_it(tmp_path, sig, whole_group):
    cloud_dir = tmp_path / "cloud"
    port = free_port()
    env = dict(os.environ, EB_BINARY=bridge_bin(), EB_CLOUD_DIR=str(cloud_dir))
    env.pop("EB_CLOUD_BOOTSTRAP", None)  # that would skip the stand-in
    log_path = tmp_path / "run.log"
    with open(log_path, "wb") as log:
        # A session of its own: the script's process group is what a terminal would signal, and
        # pytest is not in it.
        proc = subprocess.Popen(
            [str(RUN_SH), "--port", str(port), "--http-port", "0", "--data-dir",
             str(tmp_path / "data")],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True)

    def log_text() -> str:
        return log_path.read_text(errors="replace")[-6000:]

    try:
        try:
            wait_for_port(port, proc, timeout=START_TIMEOUT)
        except (RuntimeError, TimeoutError) as e:
            pytest.fail(f"{e}\n{log_text()}")
        bridge = f"127.0.0.1:{port}"
        wait_until(lambda: subprocess.run(["kcat", "-L", "-b", bridge, "-m", "5"],
                                          capture_output=True, timeout=30).returncode == 0,
                   30, "edgebridge answering Metadata")
        cloud = (cloud_dir / "bootstrap").read_text().strip()
        assert kafka_jvms(cloud_dir), "no Kafka JVM runs for the stand-in's dir"

        topic = f"runsh-{sig.name.lower()}-{'group' if whole_group else 'script'}"
        sent = [f"k{i}:{sig.name}-value-{i}" for i in range(RECORDS)]
        kcat_produce(bridge, topic, sent)
        # The default mirror topic template is "{site}.{topic}", site "edge".
        got = wait_until(lambda: (r := kcat_read(cloud, f"edge.{topic}")) and len(r) >= RECORDS
                         and r, 60, f"{RECORDS} records mirrored to edge.{topic} at {cloud}")
        assert sorted(f"{r['key']}:{r['payload']}" for r in got) == sorted(sent)

        if whole_group:
            os.killpg(proc.pid, sig)
        else:
            os.kill(proc.pid, sig)
        try:
            rc = proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"run.sh still runs {STOP_TIMEOUT} s after {sig.name}\n{log_text()}")
        assert rc == 0, f"run.sh exited {rc}\n{log_text()}"
        assert "stopped cleanly" in log_text(), log_text()
        # Nothing of the group (bash, edgebridge) is left, nor the broker, which kafka.sh started
        # in a session of its own so only the script's EXIT trap can stop it.
        assert not group_alive(proc.pid)
        assert kafka_jvms(cloud_dir) == [], "the stand-in Kafka outlived run.sh"
        assert not (cloud_dir / "pid").exists()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        subprocess.run([str(KAFKA_SH), "stop", str(cloud_dir)], timeout=60, check=False)
