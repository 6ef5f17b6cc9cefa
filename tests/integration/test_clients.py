"""Unmodified producers, with their default settings, produce to the target and every record comes
back intact, once, in producer order per partition (see tests/clients/records.py for the records and
conftest.py for the target: the real Apache Kafka broker now, edgebridge later).

Run: tests/clients/install.sh && .cache/clients/venv/bin/python -m pytest tests/integration/test_clients.py
"""
from __future__ import annotations

import copy
import socket
import time

import pytest

import clients_lib
from clients_lib import PRODUCERS, Producer
from verify import verify
import records as contract


@pytest.mark.parametrize("producer", PRODUCERS, ids=lambda p: p.name)
def test_producer_round_trip(producer: Producer, target, client_settings, record_timing):
    count, partitions = client_settings["records"], client_settings["partitions"]
    run_id = clients_lib.new_run_id()
    topic = f"eb-clients-{producer.name}-{run_id}"
    target.create_topic(topic, partitions)

    run = clients_lib.run_producer(producer, target.bootstrap, topic, count, run_id,
                                   client_settings["timeout"])
    assert clients_lib.producer_ok(run, count), run.explain()

    t0 = time.monotonic()
    got = target.read_back(topic)
    read_s = time.monotonic() - t0
    report = verify(got, producer.name, run_id, count, producer.seq_header,
                    min_partitions=partitions)
    assert report.ok, str(report)

    if target.batches is not None:
        batches = target.batches(topic)
        assert sum(b["count"] for b in batches) == count
        codecs = {b["codec"] for b in batches}
        assert codecs == {producer.codec}, f"batch codecs {codecs}, expected {producer.codec}"
        pids = {b["producer_id"] for b in batches}
        if producer.idempotent:
            assert min(pids) >= 0, f"idempotent producer wrote batches without a producer id: {pids}"
        else:
            assert pids == {-1}, f"non-idempotent producer wrote producer ids {pids}"
    record_timing(f"produce {producer.name:<16} {count} records: client {run.summary['seconds']:.2f} s,"
                  f" process {run.wall_seconds:.2f} s, read-back {read_s:.2f} s")


def _closed_port() -> int:
    """A loopback port with nothing listening (bound, then released): connections are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# One of each program: the Java compression variants run the same code as "java".
_FAILURE_CASES = [p for p in PRODUCERS if not p.extra]


@pytest.mark.parametrize("producer", _FAILURE_CASES, ids=lambda p: p.name)
def test_producer_reports_failure(producer: Producer, clients_installed):
    """With nothing to deliver to, each program must say so itself: its own exit 1 within its
    deadline and a summary counting every record as an error, never a success."""
    count = 10
    run = clients_lib.run_program(
        producer.argv(f"127.0.0.1:{_closed_port()}", "eb-clients-unreachable", count, "fail", 5),
        timeout=60)
    assert run.returncode == 1, run.explain()
    assert run.summary is not None, run.explain()
    assert run.summary["acked"] == 0 and run.summary["errors"] == count, run.explain()
    assert run.summary["first_error"], run.explain()


# ---------------------------------------------------------------- the verifier itself


def _good_run(count=300, partitions=3, client="probe", run_id="r1", seq_header=True):
    recs, next_offset = [], [0] * partitions
    for i in range(count):
        p = i % partitions
        recs.append({"topic": "t", "partition": p, "offset": next_offset[p],
                     "key": contract.key(i), "value": contract.value(client, run_id, i),
                     "headers": contract.headers(client, i, seq_header)})
        next_offset[p] += 1
    return recs


def _mutate(kind, recs):
    recs = copy.deepcopy(recs)
    if kind == "missing":
        del recs[17]
    elif kind == "duplicate":
        dup = dict(recs[17], offset=10_000)
        recs.append(dup)
    elif kind == "producer_order":  # two records of partition 0 trade places, offsets kept
        recs[0]["value"], recs[3]["value"] = recs[3]["value"], recs[0]["value"]
        recs[0]["key"], recs[3]["key"] = recs[3]["key"], recs[0]["key"]
        recs[0]["headers"], recs[3]["headers"] = recs[3]["headers"], recs[0]["headers"]
    elif kind == "offset_order":
        recs[0]["offset"], recs[3]["offset"] = recs[3]["offset"], recs[0]["offset"]
    elif kind == "value":
        v = recs[40]["value"]
        recs[40]["value"] = v[:-1] + ("a" if v[-1] != "a" else "b")
    elif kind == "key":
        recs[40]["key"] = "key-41"
    elif kind == "headers":
        recs[40]["headers"] = [["seq", "40"]]
    elif kind == "foreign":
        recs.append(dict(recs[5], value=contract.value("other", "r1", 5), offset=10_000))
    elif kind == "partitions":
        for r in recs:
            r["partition"] = 0
        for n, r in enumerate(recs):
            r["offset"] = n
    return recs


def test_verifier_accepts_a_good_run():
    assert verify(_good_run(), "probe", "r1", 300, min_partitions=3).ok
    assert verify(_good_run(seq_header=False), "probe", "r1", 300, seq_header=False).ok


@pytest.mark.parametrize("kind", ["missing", "duplicate", "producer_order", "offset_order", "value",
                                  "key", "headers", "foreign", "partitions"])
def test_verifier_catches(kind):
    report = verify(_mutate(kind, _good_run()), "probe", "r1", 300, min_partitions=3)
    assert not report.ok
    assert kind in report.problem_counts, str(report)


def test_verifier_reads_kcat_json():
    line = ('{"topic":"t","partition":1,"offset":7,"tstype":"create","ts":1,"broker":1,'
            '"headers":["seq","3","client","probe"],"key":"key-3","payload":"v"}')
    [rec] = clients_lib.verify.read_json_lines([line, "not json", '{"level":"INFO"}'])
    assert rec["value"] == "v" and rec["headers"] == [["seq", "3"], ["client", "probe"]]
