"""Fixtures for tests/integration: what the real clients talk to.

EB_TARGET picks the target (a clients_lib.Target):
  kafka (default)  the real Apache Kafka broker: the one at EB_KAFKA_BOOTSTRAP if set (with
                   EB_KAFKA_LOG_DIR, its log.dirs, to enable the batch checks), else one this session
                   starts with scripts/kafka/kafka.sh in a temp dir and stops at the end.
  edgebridge       the edgebridge binary (EB_BRIDGE_BIN, else build/bridge/edgebridge), started by
                   this session on a free port with a data dir of its own. Read-back is from
                   storage: the bridge is stopped (SIGTERM), edgebridge-dump prints what it
                   stored, and the bridge starts again on the same dir and port.
Knobs: EB_CLIENT_RECORDS (10000), EB_CLIENT_PARTITIONS (3), EB_CLIENT_TIMEOUT (s per client run, 180).
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

import clients_lib

_TIMINGS = pytest.StashKey[list]()


@pytest.fixture(scope="session")
def clients_installed() -> None:
    """The client programs of tests/clients/, installed (a no-op when already done)."""
    clients_lib.install_clients()


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory) -> tuple[str, Path | None]:
    """(bootstrap, log_dir or None) of a real Apache Kafka broker for the session."""
    if os.environ.get("EB_KAFKA_BOOTSTRAP"):
        log_dir = os.environ.get("EB_KAFKA_LOG_DIR")
        yield os.environ["EB_KAFKA_BOOTSTRAP"], Path(log_dir) if log_dir else None
        return
    state = tmp_path_factory.mktemp("kafka")
    bootstrap = clients_lib.start_kafka(state)
    try:
        yield bootstrap, state / "logs"
    finally:
        clients_lib.stop_kafka(state)


def _kafka_target(request) -> clients_lib.Target:
    bootstrap, log_dir = request.getfixturevalue("kafka_broker")
    return clients_lib.kafka_target(bootstrap, log_dir)


@pytest.fixture(scope="session")
def edgebridge_process(tmp_path_factory):
    """One edgebridge for the session (bridge_process.Bridge), stopped at the end."""
    from bridge_process import Bridge

    bridge = Bridge(tmp_path_factory.mktemp("edgebridge")).start()
    try:
        yield bridge
    finally:
        rc = bridge.stop()
        assert rc == 0, f"edgebridge exited with {rc}\n{bridge.log()[-4000:]}"


def _edgebridge_target(request) -> clients_lib.Target:
    from bridge_process import dump_bin

    bridge = request.getfixturevalue("edgebridge_process")

    def stopped(read):
        """Runs read(topic) with the bridge stopped (RocksDB is single-process), then restarts it:
        every read-back also proves that what was acknowledged survives a restart."""
        def run(topic: str) -> list[dict]:
            assert bridge.stop() == 0, bridge.log()[-4000:]
            try:
                return read(topic)
            finally:
                bridge.start()
        return run

    def records(topic: str) -> list[dict]:
        return clients_lib.read_back_with_command([dump_bin(), "--data-dir", str(bridge.data_dir)],
                                                  topic)

    def batches(topic: str) -> list[dict]:
        out = subprocess.run([dump_bin(), "--data-dir", str(bridge.data_dir), "--batches",
                              "--topic", topic], check=True, capture_output=True, text=True,
                             timeout=120)
        return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]

    return clients_lib.Target(
        name="edgebridge",
        bootstrap=bridge.bootstrap,
        create_topic=lambda t, n: clients_lib.create_topic_admin(bridge.bootstrap, t, n),
        read_back=stopped(records),
        batches=stopped(batches),
        committed=lambda g, t: clients_lib.committed_admin(bridge.bootstrap, g, t),
    )


# EB_TARGET value -> factory(request) -> Target.
_TARGETS = {"kafka": _kafka_target, "edgebridge": _edgebridge_target}


@pytest.fixture(scope="session")
def target(request, clients_installed) -> clients_lib.Target:
    name = os.environ.get("EB_TARGET", "kafka")
    if name not in _TARGETS:
        pytest.fail(f"EB_TARGET={name}: no such target (known: {', '.join(_TARGETS)})")
    return _TARGETS[name](request)


@pytest.fixture(scope="session")
def client_settings() -> dict:
    return {
        "records": int(os.environ.get("EB_CLIENT_RECORDS", "10000")),
        "partitions": int(os.environ.get("EB_CLIENT_PARTITIONS", "3")),
        "timeout": float(os.environ.get("EB_CLIENT_TIMEOUT", "180")),
    }


@pytest.fixture
def record_timing(request):
    """record_timing(text): one line for the timing table printed at the end of the run."""
    return lambda text: request.config.stash[_TIMINGS].append(text)


def pytest_configure(config) -> None:
    config.stash[_TIMINGS] = []


def pytest_terminal_summary(terminalreporter, config) -> None:
    lines = config.stash.get(_TIMINGS, [])
    if lines:
        terminalreporter.section("client timings")
        for line in lines:
            terminalreporter.write_line(line)
