"""The consumer group protocol of KIP-848 (group.protocol=consumer) against the edgebridge binary,
with real clients:

- two kafka-clients 4.x consumers in one group on a 4-partition topic share the partitions without
  overlap; one leaves and the other takes all of them; every record is consumed exactly once
  across the handover, with synchronous commits; the committed offsets are the ends of the log
  and survive a restart of the bridge;
- kafka-consumer-groups (the 4.x distribution's tool) lists the group (also with --type consumer)
  and describes its members, their assignment and the lag;
- a classic consumer cannot join a group that has KIP-848 members (INCONSISTENT_GROUP_PROTOCOL);
- membership is in memory: a member whose bridge restarts rejoins and reads on from its commits,
  no record twice;
- confluent-kafka (librdkafka) with group.protocol=consumer and a regex subscription consumes and
  commits, and a topic created later that matches the regex is assigned and read.

The bridge is told a 500 ms heartbeat interval (groups.consumer_heartbeat_interval) so that the
handovers take a few heartbeats of the clients rather than the default 5 s each.

Run: tests/clients/install.sh && .cache/clients/venv/bin/python -m pytest tests/integration/test_kip848.py
"""
from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer as CkConsumer, KafkaException, Producer as CkProducer
from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import clients_lib
from bridge_process import Bridge, ROOT

GROUPS_TOOL = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"


def kafka4_libs() -> Path:
    out = subprocess.run([str(ROOT / "scripts" / "kafka" / "kafka.sh"), "--version=4.1.1", "libs"],
                         check=True, capture_output=True, text=True, timeout=600)
    return Path(out.stdout.strip())


@pytest.fixture(scope="module")
def bridge(tmp_path_factory, clients_installed):
    b = Bridge(tmp_path_factory.mktemp("kip848"),
               extra_yaml="groups: {consumer_heartbeat_interval: 500ms}\n")
    b.start()
    yield b
    b.stop()


@pytest.fixture(scope="module")
def member_classes(tmp_path_factory, clients_installed) -> Path:
    """EbGroupMember compiled against the kafka-clients 4.x classpath of tests/clients/install.sh."""
    out = tmp_path_factory.mktemp("kip848-classes")
    cp = (clients_lib.CACHE / "java4" / "classpath.txt").read_text().strip()
    subprocess.run(["javac", "-Xlint:all", "-Werror", "-d", str(out), "-cp", cp,
                    str(ROOT / "tests" / "clients" / "kip848" / "EbGroupMember.java")],
                   check=True, timeout=300)
    return out


class Member:
    """One EbGroupMember process; its JSON events collected by a reader thread."""

    def __init__(self, classes: Path, bootstrap: str, topic: str, group: str, *extra: str):
        cp = (clients_lib.CACHE / "java4" / "classpath.txt").read_text().strip()
        log4j = clients_lib.CACHE / "java4" / "log4j2.properties"
        self.proc = subprocess.Popen(
            ["java", "-Xmx256m", "-XX:+UseSerialGC", f"-Dlog4j2.configurationFile={log4j}",
             "-cp", f"{classes}:{cp}", "EbGroupMember", bootstrap, topic, group,
             "group.protocol=consumer", *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.events: queue.Queue = queue.Queue()
        self.records: list[tuple[int, int]] = []
        self.assignment: list[int] = []
        self.log: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            self.events.put(e)

    def drain(self) -> None:
        while True:
            try:
                e = self.events.get_nowait()
            except queue.Empty:
                return
            self._apply(e)

    def _apply(self, e: dict) -> None:
        self.log.append(e)
        kind = e["event"]
        if kind == "record":
            self.records.append((e["partition"], e["offset"]))
        elif kind in ("assigned", "revoked", "lost"):
            if kind == "assigned":
                self.assignment = e["now"]
            else:
                self.assignment = [p for p in self.assignment if p not in e["partitions"]]
        elif kind == "error":
            raise AssertionError(f"member failed: {e['error']}")

    def stop(self, timeout: float = 60) -> None:
        self.proc.stdin.write("stop\n")
        self.proc.stdin.flush()
        self.proc.wait(timeout=timeout)
        # The reader thread ends with stdout; give it the last lines.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(e["event"] == "closed" for e in self.log):
            try:
                self._apply(self.events.get(timeout=0.5))
            except queue.Empty:
                pass
        assert self.proc.returncode == 0, (self.log[-5:], self.proc.stderr.read()[-3000:])

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def wait_until(members: list[Member], cond, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for m in members:
            m.drain()
            if m.proc.poll() is not None:
                m.drain()
                raise AssertionError(f"a member exited ({m.proc.returncode}) waiting for {what}: "
                                     f"{m.log[-5:]} {m.proc.stderr.read()[-3000:]}")
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}: " +
                         " | ".join(f"{m.assignment} {len(m.records)} {m.log[-3:]}" for m in members))


def produce(bootstrap: str, topic: str, start: int, count: int, partitions: int = 4) -> None:
    p = CkProducer({"bootstrap.servers": bootstrap})
    for i in range(start, start + count):
        p.produce(topic, key=f"k{i}", value=f"v{i}", partition=i % partitions)
    assert p.flush(30) == 0


def topic_id(bootstrap: str, topic: str) -> str:
    """The topic's id as Metadata v10+ reports it (librdkafka's DescribeTopics)."""
    from confluent_kafka import TopicCollection
    admin = AdminClient({"bootstrap.servers": bootstrap})
    d = admin.describe_topics(TopicCollection([topic]))[topic].result(timeout=30)
    return str(d.topic_id)


def run_tool(libs: Path, *args: str) -> str:
    out = subprocess.run(["java", "-Xmx256m", "-cp", f"{libs}/*",
                          "-Dlog4j2.configurationFile=" + str(clients_lib.CACHE / "java4" /
                                                              "log4j2.properties"),
                          GROUPS_TOOL, *args],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def test_two_members_share_then_hand_over(bridge, member_classes):
    topic, group = "kip848-shared", "kip848-group"
    admin = AdminClient({"bootstrap.servers": bridge.bootstrap})
    admin.create_topics([NewTopic(topic, 4, 1)])[topic].result(timeout=60)
    produce(bridge.bootstrap, topic, 0, 200)
    # The assignment names topics by id: each topic has its own, non-zero.
    tid = topic_id(bridge.bootstrap, topic)
    produce(bridge.bootstrap, "kip848-other", 0, 1, partitions=1)
    assert tid not in ("", "AAAAAAAAAAAAAAAAAAAAAA", topic_id(bridge.bootstrap, "kip848-other")), tid

    a = Member(member_classes, bridge.bootstrap, topic, group)
    b = None
    try:
        wait_until([a], lambda: sorted(a.assignment) == [0, 1, 2, 3], "a owns all 4 partitions")
        b = Member(member_classes, bridge.bootstrap, topic, group)
        both = [a, b]
        wait_until(both, lambda: len(a.assignment) == 2 and len(b.assignment) == 2,
                   "a and b own 2 partitions each")
        assert not set(a.assignment) & set(b.assignment), (a.assignment, b.assignment)
        assert sorted(a.assignment + b.assignment) == [0, 1, 2, 3]
        produce(bridge.bootstrap, topic, 200, 200)
        wait_until(both, lambda: len(a.records) + len(b.records) >= 400, "400 records consumed")
        # While both are members: the tool lists and describes the group.
        libs = kafka4_libs()
        listed = run_tool(libs, "--bootstrap-server", bridge.bootstrap, "--list")
        assert group in listed.split(), listed
        typed = run_tool(libs, "--bootstrap-server", bridge.bootstrap, "--list", "--type",
                         "consumer")
        assert group in typed, typed
        described = run_tool(libs, "--bootstrap-server", bridge.bootstrap, "--describe",
                             "--group", group, "--members")
        member_lines = [l for l in described.splitlines() if l.startswith(group)]
        assert len(member_lines) == 2, described
        offsets = run_tool(libs, "--bootstrap-server", bridge.bootstrap, "--describe",
                           "--group", group)
        rows = [l.split() for l in offsets.splitlines() if l.startswith(group)]
        assert sorted(int(r[2]) for r in rows) == [0, 1, 2, 3], offsets
        # GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID ...
        assert all(r[5] == "0" for r in rows), offsets
        assert len({r[6] for r in rows}) == 2, offsets

        # A classic-protocol consumer is refused while the group has KIP-848 members.
        classic = CkConsumer({"bootstrap.servers": bridge.bootstrap, "group.id": group})
        try:
            classic.subscribe([topic])
            err = None
            deadline = time.monotonic() + 30
            while err is None and time.monotonic() < deadline:
                m = classic.poll(0.5)
                if m is not None and m.error():
                    err = m.error()
            assert err is not None and "INCONSISTENT_GROUP_PROTOCOL" in str(err.name()), err
        except KafkaException as e:
            assert "INCONSISTENT_GROUP_PROTOCOL" in str(e), e
        finally:
            classic.close()

        # b leaves: a takes all four; what b committed is where a goes on.
        b.stop()
        wait_until([a], lambda: sorted(a.assignment) == [0, 1, 2, 3], "a owns all 4 again")
        produce(bridge.bootstrap, topic, 400, 200)
        wait_until([a], lambda: len(a.records) + len(b.records) >= 600, "600 records consumed")
        a.stop()
    finally:
        a.kill()
        if b:
            b.kill()
    got = a.records + b.records
    assert len(got) == 600 and len(set(got)) == 600, f"{len(got)} records, {len(set(got))} distinct"
    assert sorted(got) == sorted((p, o) for p in range(4) for o in range(150))
    assert clients_lib.committed_admin(bridge.bootstrap, group, topic) == {p: 150 for p in range(4)}

    # The commits survive a restart, like the classic protocol's.
    bridge.stop()
    bridge.start()
    assert clients_lib.committed_admin(bridge.bootstrap, group, topic) == {p: 150 for p in range(4)}
    assert topic_id(bridge.bootstrap, topic) == tid, "the topic id changed across a restart"


def test_members_rejoin_after_a_restart(bridge, member_classes):
    """Membership is in memory: after a restart the member's heartbeat gets UNKNOWN_MEMBER_ID, it
    rejoins with epoch 0 and reads on from its commits."""
    topic, group = "kip848-restart", "kip848-restart-group"
    admin = AdminClient({"bootstrap.servers": bridge.bootstrap})
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(timeout=60)
    produce(bridge.bootstrap, topic, 0, 20, partitions=2)
    m = Member(member_classes, bridge.bootstrap, topic, group)
    try:
        wait_until([m], lambda: len(m.records) == 20, "20 records before the restart")
        bridge.stop()
        bridge.start()
        produce(bridge.bootstrap, topic, 20, 20, partitions=2)
        wait_until([m], lambda: len(set(m.records)) >= 40, "40 records after the restart", 120)
        m.stop()
    finally:
        m.kill()
    assert sorted(set(m.records)) == sorted((p, o) for p in range(2) for o in range(20))
    assert len(m.records) == 40, "a record consumed twice"
    assert clients_lib.committed_admin(bridge.bootstrap, group, topic) == {0: 20, 1: 20}


def test_confluent_kafka_consumer_protocol(bridge):
    topic, group = "kip848-rdkafka", "kip848-rdkafka-group"
    admin = AdminClient({"bootstrap.servers": bridge.bootstrap})
    admin.create_topics([NewTopic(topic, 3, 1)])[topic].result(timeout=60)
    produce(bridge.bootstrap, topic, 0, 30, partitions=3)
    c = CkConsumer({"bootstrap.servers": bridge.bootstrap, "group.id": group,
                    "group.protocol": "consumer", "auto.offset.reset": "earliest",
                    "enable.auto.commit": False})
    got = set()
    try:
        c.subscribe(["^kip848-rd.*"])
        deadline = time.monotonic() + 60
        while len(got) < 30 and time.monotonic() < deadline:
            msg = c.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            got.add((msg.partition(), msg.offset()))
        assert len(got) == 30, f"{len(got)} of 30"
        c.commit(asynchronous=False)
        # A topic created after the subscription that matches it: assigned within heartbeats.
        later = "kip848-rdlater"
        admin.create_topics([NewTopic(later, 2, 1)])[later].result(timeout=60)
        produce(bridge.bootstrap, later, 0, 10, partitions=2)
        late = 0
        deadline = time.monotonic() + 60
        while late < 10 and time.monotonic() < deadline:
            msg = c.poll(0.5)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            assert msg.topic() == later
            late += 1
        assert late == 10
        c.commit(asynchronous=False)
    finally:
        c.close()
    assert clients_lib.committed_admin(bridge.bootstrap, group, topic) == {0: 10, 1: 10, 2: 10}
