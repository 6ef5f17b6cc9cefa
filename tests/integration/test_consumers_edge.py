"""Consumer scenarios beyond one consumer reading a settled topic (test_consumers.py):

- a confluent-kafka group of 3 members, one of them killed (SIGKILL) mid-stream: every record is
  processed by someone, the group rebalances onto the survivors once the killed member's session
  (librdkafka default 45 s) expires, and the committed offsets end at the partition ends;
- each consumer of the matrix reading while a producer writes;
- (edgebridge only) the bridge restarted between two runs: each group resumes where it committed.

Every client keeps its default settings except auto.offset.reset=earliest. Target: see conftest.py.
Run: EB_TARGET=edgebridge .cache/clients/venv/bin/python -m pytest tests/integration/test_consumers_edge.py
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import clients_lib
from clients_lib import CONSUMERS, Consumer
from verify import verify

SEEDER = "rdkafka-c"

# One group member: prints each record it is given (and each assignment) as a JSON line, sleeps
# `delay` seconds per record so that the stream lasts, and on SIGTERM closes (which commits the
# offsets of what it printed: default auto-commit) and leaves the group.
MEMBER = r'''
import json, signal, sys, time
from confluent_kafka import Consumer

bootstrap, topic, group, delay = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
stop = False


def on_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)


def text(b):
    return None if b is None else b.decode("utf-8", errors="replace")


def event(kind, parts):
    print(json.dumps({"event": kind, "partitions": sorted(p.partition for p in parts)}), flush=True)


c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"})
c.subscribe([topic], on_assign=lambda _c, p: event("assign", p),
            on_revoke=lambda _c, p: event("revoke", p))
try:
    while not stop:
        msg = c.poll(0.2)
        if msg is None or msg.error():
            continue
        print(json.dumps({"topic": msg.topic(), "partition": msg.partition(),
                          "offset": msg.offset(), "key": text(msg.key()),
                          "value": text(msg.value()),
                          "headers": [[k, text(v)] for k, v in (msg.headers() or [])]}),
              flush=True)
        time.sleep(delay)
finally:
    c.close()
    print(json.dumps({"event": "closed"}), flush=True)
'''


def _seed(target, topic: str, count: int, timeout: float) -> str:
    run_id = clients_lib.new_run_id()
    run = clients_lib.run_producer(clients_lib.producer_by_name(SEEDER), target.bootstrap, topic,
                                   count, run_id, timeout)
    assert clients_lib.producer_ok(run, count), run.explain()
    return run_id


def _lines(path: Path) -> list[dict]:
    out = []
    if not path.exists():
        return out
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass  # a line cut by SIGKILL
    return out


def _ends(records: list[dict]) -> dict[int, int]:
    ends: dict[int, int] = {}
    for r in records:
        ends[r["partition"]] = max(ends.get(r["partition"], 0), r["offset"] + 1)
    return ends


class Member:
    def __init__(self, script: Path, bootstrap: str, topic: str, group: str, delay: float,
                 out: Path):
        self.out = out
        self.log = open(out, "wb")
        self.proc = subprocess.Popen([clients_lib.venv_python(), str(script), bootstrap, topic, group,
                                      str(delay)], stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)

    def lines(self) -> list[dict]:
        return _lines(self.out)

    def records(self) -> list[dict]:
        return [x for x in self.lines() if "offset" in x]

    def assignment(self) -> list[int] | None:
        """The latest assignment (None before the first)."""
        latest = None
        for x in self.lines():
            if x.get("event") == "assign":
                latest = x["partitions"]
            elif x.get("event") == "revoke":
                latest = []
        return latest

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self, timeout: float = 60) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            return -9

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()


def _wait_for(cond, timeout: float, what: str, explain=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{explain()}")


def test_group_of_three_with_one_killed_processes_everything(target, client_settings, tmp_path,
                                                             record_timing):
    count = max(3000, min(client_settings["records"], 6000))
    topic = f"eb-group3-{clients_lib.new_run_id()}"
    group = f"{topic}-group"
    target.create_topic(topic, 3)
    run_id = _seed(target, topic, count, client_settings["timeout"])
    script = tmp_path / "member.py"
    script.write_text(MEMBER)

    # ~1 ms per record keeps each member busy for a few seconds: long enough to be killed with
    # most of its partition unread.
    members = [Member(script, target.bootstrap, topic, group, 0.002, tmp_path / f"member{i}.out")
               for i in range(3)]
    start = time.monotonic()
    try:
        def explain() -> str:
            return "\n".join(f"member {i}: {m.proc.poll()} assignment {m.assignment()}, "
                             f"{len(m.records())} records; tail {m.out.read_text()[-600:]!r}"
                             for i, m in enumerate(members))

        # The group settles with one partition each.
        _wait_for(lambda: all(m.assignment() and len(m.assignment()) == 1 for m in members)
                  and sorted(p for m in members for p in m.assignment()) == [0, 1, 2], 120,
                  "a 3-member assignment", explain)
        victim = members[1]
        victim_partition = victim.assignment()[0]
        victim.kill()
        killed_at = time.monotonic()
        survivors = [members[0], members[2]]

        def all_seen() -> bool:
            seen = {(r["partition"], r["offset"]) for m in members for r in m.records()}
            return len(seen) >= count

        # The victim's partition resumes on a survivor after its session expires (45 s default).
        _wait_for(all_seen, 180, "every record to be processed", explain)
        took_over = time.monotonic() - killed_at
        codes = [m.stop() for m in survivors]
        assert codes == [0, 0], explain()
    finally:
        for m in members:
            m.close()

    # Every record processed at least once (at-least-once: the victim's uncommitted tail is read
    # again by its successor), intact.
    dedup = {}
    for m in members:
        for r in m.records():
            dedup.setdefault((r["partition"], r["offset"]), r)
    ordered = [dedup[k] for k in sorted(dedup)]
    report = verify(ordered, SEEDER, run_id, count, min_partitions=3)
    assert report.ok, f"{report}"
    survivor_parts = {r["partition"] for m in survivors for r in m.records()}
    assert victim_partition in survivor_parts, "no survivor took over the killed member's partition"
    if target.committed is not None:
        committed = target.committed(group, topic)
        assert committed == _ends(ordered), f"committed {committed}, ends {_ends(ordered)}"
    record_timing(f"group of 3, one killed: {count} records in {time.monotonic() - start:.1f} s,"
                  f" takeover after {took_over:.1f} s")


@pytest.mark.parametrize("consumer", CONSUMERS, ids=lambda c: c.name)
def test_consumer_reads_while_a_producer_writes(consumer: Consumer, target, client_settings,
                                                record_timing):
    count = client_settings["records"]
    timeout = client_settings["timeout"]
    topic = f"eb-live-{consumer.name}-{clients_lib.new_run_id()}"
    group = f"{topic}-group"
    target.create_topic(topic, 3)
    result: dict = {}

    def consume() -> None:
        result["run"], result["records"] = clients_lib.run_consumer(
            consumer, target.bootstrap, topic, group, count, timeout)

    reader = threading.Thread(target=consume)
    reader.start()
    # Let the consumer join its group and start polling an empty topic first.
    time.sleep(3)
    run_id = clients_lib.new_run_id()
    produced = clients_lib.run_producer(clients_lib.producer_by_name(SEEDER), target.bootstrap,
                                        topic, count, run_id, timeout)
    reader.join(timeout + 30)
    assert clients_lib.producer_ok(produced, count), produced.explain()
    run = result["run"]
    assert run.returncode == 0 and run.summary and run.summary["consumed"] == count, run.explain()
    report = verify(result["records"], SEEDER, run_id, count, min_partitions=3)
    assert report.ok, f"{report}\n{run.explain()}"
    record_timing(f"live {consumer.name:<16} {count} records while producing:"
                  f" process {run.wall_seconds:.2f} s (producer {produced.wall_seconds:.2f} s)")


@pytest.mark.parametrize("consumer", CONSUMERS, ids=lambda c: c.name)
def test_groups_resume_where_they_committed_across_a_bridge_restart(consumer: Consumer, target,
                                                                     client_settings, request):
    if target.name != "edgebridge":
        pytest.skip("restarts the edgebridge process")
    bridge = request.getfixturevalue("edgebridge_process")
    count = max(100, client_settings["records"] // 10)
    timeout = client_settings["timeout"]
    topic = f"eb-restart-{consumer.name}-{clients_lib.new_run_id()}"
    group = f"{topic}-group"
    target.create_topic(topic, 3)

    first = _seed(target, topic, count, timeout)
    run, got = clients_lib.run_consumer(consumer, target.bootstrap, topic, group, count, timeout)
    assert run.returncode == 0 and run.summary["consumed"] == count, run.explain()
    assert verify(got, SEEDER, first, count, min_partitions=3).ok
    ends = _ends(got)

    assert bridge.stop() == 0, bridge.log()[-4000:]
    bridge.start()
    assert {p: o for p, o in target.committed(group, topic).items() if o >= 0} == ends

    second = _seed(target, topic, count, timeout)
    run, got = clients_lib.run_consumer(consumer, target.bootstrap, topic, group, count, timeout)
    assert run.returncode == 0 and run.summary["consumed"] == count, run.explain()
    report = verify(got, SEEDER, second, count, min_partitions=1)
    assert report.ok, f"the group did not resume at its commits: {report}\n{run.explain()}"
