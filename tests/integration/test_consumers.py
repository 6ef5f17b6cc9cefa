"""Unmodified group consumers read what was produced, commit, and resume from their commits.

Each consumer (default settings except starting at the earliest offset for a new group) reads a
topic seeded by the librdkafka C producer, in a group of its own; the records it printed must be
exactly the seeded run, in order per partition, and the committed offsets must be the ends. A second
seeded run must then be all the same group gets on its next start: a consumer that ignored its
commits would print the first run again. Target: see conftest.py.

Run: tests/clients/install.sh && .cache/clients/venv/bin/python -m pytest tests/integration/test_consumers.py
"""
from __future__ import annotations

import pytest

import clients_lib
from clients_lib import CONSUMERS, Consumer
from verify import verify

SEEDER = "rdkafka-c"


def _seed(target, topic: str, count: int, timeout: float) -> str:
    run_id = clients_lib.new_run_id()
    run = clients_lib.run_producer(clients_lib.producer_by_name(SEEDER), target.bootstrap, topic,
                                   count, run_id, timeout)
    assert clients_lib.producer_ok(run, count), run.explain()
    return run_id


def _ends(records: list[dict]) -> dict[int, int]:
    ends: dict[int, int] = {}
    for r in records:
        ends[r["partition"]] = max(ends.get(r["partition"], 0), r["offset"] + 1)
    return ends


def _consume_and_check(consumer, target, topic, group, run_id, count, partitions, timeout,
                       previous_ends):
    run, got = clients_lib.run_consumer(consumer, target.bootstrap, topic, group, count, timeout)
    assert run.returncode == 0 and run.summary and run.summary["consumed"] == count, run.explain()
    report = verify(got, SEEDER, run_id, count, min_partitions=partitions)
    assert report.ok, f"{report}\n{run.explain()}"
    ends = {**previous_ends, **_ends(got)}
    if target.committed is not None:
        committed = target.committed(group, topic)
        assert {p: o for p, o in committed.items() if o >= 0} == ends, \
            f"committed {committed}, expected the ends {ends}"
    return run, ends


@pytest.mark.parametrize("consumer", CONSUMERS, ids=lambda c: c.name)
def test_consumer_group_reads_commits_and_resumes(consumer: Consumer, target, client_settings,
                                                  record_timing):
    count, partitions = client_settings["records"], client_settings["partitions"]
    timeout = client_settings["timeout"]
    topic = f"eb-consumers-{consumer.name}-{clients_lib.new_run_id()}"
    group = f"{topic}-group"
    target.create_topic(topic, partitions)

    first = _seed(target, topic, count, timeout)
    run1, ends = _consume_and_check(consumer, target, topic, group, first, count, partitions,
                                    timeout, {})

    second_count = max(100, count // 10)
    second = _seed(target, topic, second_count, timeout)
    # Only partitions with new records need to move; the others keep their first-run commits.
    run2, _ = _consume_and_check(consumer, target, topic, group, second, second_count, 1, timeout,
                                 ends)
    record_timing(f"consume {consumer.name:<16} {count} records: client {run1.summary['seconds']:.2f} s,"
                  f" process {run1.wall_seconds:.2f} s; resume {second_count}:"
                  f" process {run2.wall_seconds:.2f} s")


@pytest.mark.parametrize("consumer", CONSUMERS, ids=lambda c: c.name)
def test_consumer_reports_shortfall(consumer: Consumer, target):
    """Asked for more records than exist, each program must stop at its deadline with exit 1,
    having printed exactly the records that do exist."""
    topic = f"eb-consumers-short-{consumer.name}-{clients_lib.new_run_id()}"
    target.create_topic(topic, 1)
    run_id = _seed(target, topic, 10, 60)
    run = clients_lib.run_program(consumer.argv(target.bootstrap, topic, f"{topic}-group", 20, 6),
                                  timeout=60)
    assert run.returncode == 1, run.explain()
    assert run.summary is not None and run.summary["consumed"] == 10, run.explain()
    report = verify(clients_lib.verify.read_json_lines(run.stdout.splitlines()), SEEDER, run_id, 10)
    assert report.ok, f"{report}\n{run.explain()}"
