"""Fixtures for tests/integration: what the real clients talk to.

EB_TARGET picks the target (a clients_lib.Target):
  kafka (default)  the real Apache Kafka broker: the one at EB_KAFKA_BOOTSTRAP if set (with
                   EB_KAFKA_LOG_DIR, its log.dirs, to enable the batch checks), else one this session
                   starts with scripts/kafka/kafka.sh in a temp dir and stops at the end.
  edgebridge       not here yet: add a session fixture that starts edgebridge and returns a Target
                   whose read_back is clients_lib.read_back_with_command([dump, "--data-dir", DIR]),
                   and register it in _TARGETS.
Knobs: EB_CLIENT_RECORDS (10000), EB_CLIENT_PARTITIONS (3), EB_CLIENT_TIMEOUT (s per client run, 180).
"""
from __future__ import annotations

import os
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


# EB_TARGET value -> factory(request) -> Target. The lead adds "edgebridge" here.
_TARGETS = {"kafka": _kafka_target}


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
