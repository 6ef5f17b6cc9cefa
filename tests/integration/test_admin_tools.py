"""The Kafka admin tools of the distribution the project fetches (scripts/kafka/kafka.sh), run as
their shell scripts do (the tools' main classes), against the edgebridge binary: kafka-topics,
kafka-configs, kafka-consumer-groups, kafka-log-dirs, kafka-delete-records, kafka-get-offsets,
kafka-cluster, kafka-broker-api-versions. All of them run in one JVM
(tests/clients/admin/EbAdminTools.java) to keep the suite's time down.
"""
from __future__ import annotations

import base64
import json
import os
import re
import socket
import struct
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from bridge_process import Bridge, ROOT

TOPICS = "org.apache.kafka.tools.TopicCommand"
GROUPS = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"
CONFIGS = "kafka.admin.ConfigCommand"
LOG_DIRS = "org.apache.kafka.tools.LogDirsCommand"
DELETE_RECORDS = "org.apache.kafka.tools.DeleteRecordsCommand"
GET_OFFSETS = "org.apache.kafka.tools.GetOffsetShell"
CLUSTER = "org.apache.kafka.tools.ClusterTool"
API_VERSIONS = "kafka.admin.BrokerApiVersionsCommand"
TRANSACTIONS = "org.apache.kafka.tools.TransactionsCommand"
LEADER_ELECTION = "org.apache.kafka.tools.LeaderElectionCommand"


def kafka_libs() -> Path:
    out = subprocess.run([str(ROOT / "scripts" / "kafka" / "kafka.sh"), "libs"], check=True,
                         capture_output=True, text=True, timeout=600)
    return Path(out.stdout.strip())


class Tools:
    """One JVM running tool main classes on demand."""

    def __init__(self, workdir: Path):
        libs = kafka_libs()
        classes = workdir / "classes"
        classes.mkdir(parents=True, exist_ok=True)
        subprocess.run(["javac", "-d", str(classes), "-cp", f"{libs}/*",
                        str(ROOT / "tests" / "clients" / "admin" / "EbAdminTools.java")],
                       check=True, timeout=300)
        log4j = ROOT / "scripts" / "kafka" / "tools-log4j.properties"
        self.proc = subprocess.Popen(
            ["java", "-Xmx256m", f"-Dlog4j.configuration=file:{log4j}",
             "-cp", f"{classes}:{libs}/*", "EbAdminTools"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def run(self, cls: str, *args: str) -> dict:
        assert all("\t" not in a and "\n" not in a for a in args)
        self.proc.stdin.write("\t".join([cls, *args]) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "the tool driver exited"
        result = json.loads(line)
        print(f"$ {cls.rsplit('.', 1)[-1]} {' '.join(args)}\n-> {result}")
        return result

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


@pytest.fixture(scope="module")
def tools(tmp_path_factory):
    t = Tools(tmp_path_factory.mktemp("tools"))
    yield t
    t.close()


@pytest.fixture(scope="module")
def bridge(tmp_path_factory):
    b = Bridge(tmp_path_factory.mktemp("bridge")).start()
    yield b
    assert b.stop() == 0


def produce(bootstrap: str, topic: str, count: int, partition: int = 0) -> None:
    p = Producer({"bootstrap.servers": bootstrap})
    for i in range(count):
        p.produce(topic, key=f"k{i}".encode(), value=f"v{i}".encode(), partition=partition)
    assert p.flush(30) == 0


def consumer(bootstrap: str, group: str) -> Consumer:
    return Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                     "auto.offset.reset": "earliest", "enable.auto.commit": False})


def test_topics_are_created_with_configs_described_and_altered(tools, bridge):
    b = bridge.bootstrap
    r = tools.run(TOPICS, "--bootstrap-server", b, "--create", "--topic", "adm", "--partitions",
                  "2", "--config", "retention.ms=3600000", "--config", "cleanup.policy=compact")
    assert r["exit"] == 0 and "Created topic adm." in r["out"], r
    bad = tools.run(TOPICS, "--bootstrap-server", b, "--create", "--topic", "adm-bad",
                    "--config", "retention.ms=-5")
    # Refused (by the tool's own check or edgebridge's INVALID_CONFIG), naming the config.
    assert bad["exit"] != 0, bad
    assert "retention.ms" in bad["err"] + bad["out"], bad

    d = tools.run(TOPICS, "--bootstrap-server", b, "--describe", "--topic", "adm")
    assert d["exit"] == 0, d
    assert re.search(r"PartitionCount:\s*2", d["out"]), d
    assert "retention.ms=3600000" in d["out"] and "cleanup.policy=compact" in d["out"], d
    assert "Partition: 1" in d["out"], d

    a = tools.run(CONFIGS, "--bootstrap-server", b, "--entity-type", "topics", "--entity-name",
                  "adm", "--alter", "--add-config", "retention.ms=60000,edgebridge.priority=5")
    assert a["exit"] == 0, a
    c = tools.run(CONFIGS, "--bootstrap-server", b, "--entity-type", "topics", "--entity-name",
                  "adm", "--describe")
    assert c["exit"] == 0, c
    assert "retention.ms=60000" in c["out"] and "edgebridge.priority=5" in c["out"], c
    assert "DYNAMIC_TOPIC_CONFIG" in c["out"], c

    a = tools.run(CONFIGS, "--bootstrap-server", b, "--entity-type", "topics", "--entity-name",
                  "adm", "--alter", "--delete-config", "retention.ms")
    assert a["exit"] == 0, a
    c = tools.run(CONFIGS, "--bootstrap-server", b, "--entity-type", "topics", "--entity-name",
                  "adm", "--describe")
    assert "retention.ms=" not in c["out"] and "edgebridge.priority=5" in c["out"], c

    refused = tools.run(CONFIGS, "--bootstrap-server", b, "--entity-type", "topics",
                        "--entity-name", "adm", "--alter", "--add-config",
                        "edgebridge.priority=5000")
    assert refused["exit"] != 0, refused
    assert "edgebridge.priority" in refused["err"] + refused["out"], refused
    unknown = tools.run(CONFIGS, "--bootstrap-server", b, "--entity-type", "topics",
                        "--entity-name", "adm", "--alter", "--add-config", "retention.msec=1")
    assert unknown["exit"] != 0, unknown

    all_cfg = tools.run(CONFIGS, "--bootstrap-server", b, "--entity-type", "topics",
                        "--entity-name", "adm", "--describe", "--all")
    assert "cleanup.policy=compact" in all_cfg["out"], all_cfg
    assert "segment.bytes=" in all_cfg["out"], all_cfg
    broker = tools.run(CONFIGS, "--bootstrap-server", b, "--entity-type", "brokers",
                       "--entity-name", "1", "--describe", "--all")
    assert broker["exit"] == 0, broker
    assert f"log.dirs={bridge.data_dir}" in broker["out"], broker
    ro = tools.run(CONFIGS, "--bootstrap-server", b, "--entity-type", "brokers", "--entity-name",
                   "1", "--alter", "--add-config", "log.retention.ms=1")
    assert ro["exit"] != 0 and "read-only" in ro["err"] + ro["out"], ro

    # Persisted: a restart keeps the configs set through the tools.
    bridge.stop()
    bridge.start()
    c = tools.run(CONFIGS, "--bootstrap-server", b, "--entity-type", "topics", "--entity-name",
                  "adm", "--describe")
    assert "edgebridge.priority=5" in c["out"] and "cleanup.policy=compact" in c["out"], c



def test_config_file_applies_under_the_stored_configs(tools, tmp_path):
    """An edited config file reaches an existing topic at the next start; what the admin APIs set
    stays on top of it (the precedence README states)."""
    b = Bridge(tmp_path / "file").start()
    try:
        r = tools.run(TOPICS, "--bootstrap-server", b.bootstrap, "--create", "--topic", "cf",
                      "--config", "retention.bytes=4096")
        assert r["exit"] == 0, r
        assert b.stop() == 0
        b.config_path.write_text(b.config_path.read_text() +
                                 "topics: {overrides: {cf: {retention: 2h, "
                                 "retention_bytes: 1MiB}}}\n")
        b.start()
        c = tools.run(CONFIGS, "--bootstrap-server", b.bootstrap, "--entity-type", "topics",
                      "--entity-name", "cf", "--describe", "--all")
        assert c["exit"] == 0, c
        assert "retention.ms=7200000" in c["out"], c
        assert "STATIC_BROKER_CONFIG:topics.overrides.cf.retention=7200000" in c["out"], c
        assert "retention.bytes=4096" in c["out"], c
    finally:
        b.stop()

def test_consumer_groups_list_describe_reset_and_delete(tools, bridge):
    b = bridge.bootstrap
    produce(b, "grp", 10)
    c = consumer(b, "g1")
    c.assign([TopicPartition("grp", 0, 0)])
    got = 0
    while got < 4:
        m = c.poll(10)
        assert m is not None and m.error() is None, m
        got += 1
    c.commit(offsets=[TopicPartition("grp", 0, 4)], asynchronous=False)
    c.close()

    r = tools.run(GROUPS, "--bootstrap-server", b, "--list")
    assert r["exit"] == 0 and "g1" in r["out"].split(), r
    d = tools.run(GROUPS, "--bootstrap-server", b, "--describe", "--group", "g1")
    assert d["exit"] == 0, d
    row = [l.split() for l in d["out"].splitlines() if l.startswith("g1 ")]
    assert row and row[0][1:6] == ["grp", "0", "4", "10", "6"], d

    reset = tools.run(GROUPS, "--bootstrap-server", b, "--reset-offsets", "--group", "g1",
                      "--topic", "grp", "--to-earliest", "--execute")
    assert reset["exit"] == 0, reset
    d = tools.run(GROUPS, "--bootstrap-server", b, "--describe", "--group", "g1")
    row = [l.split() for l in d["out"].splitlines() if l.startswith("g1 ")]
    assert row and row[0][1:6] == ["grp", "0", "0", "10", "10"], d

    # A member in the group: deletion is refused.
    member = consumer(b, "g1")
    member.subscribe(["grp"])
    for _ in range(60):  # bounded: the join takes a few polls
        if member.poll(1) is not None and member.assignment():
            break
    assert member.assignment(), "the member never got its partition"
    busy = tools.run(GROUPS, "--bootstrap-server", b, "--describe", "--group", "g1",
                     "--members")
    assert busy["exit"] == 0 and "rdkafka" in busy["out"], busy
    refused = tools.run(GROUPS, "--bootstrap-server", b, "--delete", "--group", "g1")
    assert "not empty" in (refused["out"] + refused["err"]).lower(), refused
    member.close()
    gone = tools.run(GROUPS, "--bootstrap-server", b, "--delete", "--group", "g1")
    assert gone["exit"] == 0 and "successful" in gone["out"], gone
    r = tools.run(GROUPS, "--bootstrap-server", b, "--list")
    assert "g1" not in r["out"].split(), r


def test_log_dirs_delete_records_offsets_and_cluster(tools, bridge, tmp_path):
    b = bridge.bootstrap
    produce(b, "recs", 20)
    dirs = tools.run(LOG_DIRS, "--bootstrap-server", b, "--describe", "--topic-list", "recs")
    assert dirs["exit"] == 0, dirs
    doc = json.loads([l for l in dirs["out"].splitlines() if l.startswith("{")][0])
    parts = doc["brokers"][0]["logDirs"][0]["partitions"]
    assert parts[0]["partition"] == "recs-0" and parts[0]["size"] > 0, doc

    spec = tmp_path / "delete.json"
    spec.write_text(json.dumps({"partitions": [{"topic": "recs", "partition": 0, "offset": 7}],
                                "version": 1}))
    r = tools.run(DELETE_RECORDS, "--bootstrap-server", b, "--offset-json-file", str(spec))
    assert r["exit"] == 0 and "low_watermark: 7" in r["out"], r
    c = consumer(b, "w")
    assert c.get_watermark_offsets(TopicPartition("recs", 0), timeout=10) == (7, 20)
    c.close()

    off = tools.run(GET_OFFSETS, "--bootstrap-server", b, "--topic", "recs", "--time", "-2")
    assert "recs:0:7" in off["out"], off
    mx = tools.run(GET_OFFSETS, "--bootstrap-server", b, "--topic", "recs", "--time",
                   "max-timestamp")
    assert mx["exit"] == 0 and re.search(r"recs:0:\d+", mx["out"]), mx

    cid = tools.run(CLUSTER, "cluster-id", "--bootstrap-server", b)
    assert cid["exit"] == 0 and "Cluster ID: edgebridge-" in cid["out"], cid
    versions = tools.run(API_VERSIONS, "--bootstrap-server", b)
    assert "DescribeConfigs(32): 0 to 4" in versions["out"], versions
    assert "DeleteRecords(21): 0 to 2" in versions["out"], versions


def test_apis_not_served_fail_with_kafkas_answer(tools, bridge):
    """APIs edgebridge does not serve fail in the Java AdminClient with Kafka's own answer
    (UnsupportedVersionException, from the ApiVersions it got), at once, never a hang."""
    b = bridge.bootstrap
    for cls, args in ((TRANSACTIONS, ["--bootstrap-server", b, "list"]),
                      (LEADER_ELECTION, ["--bootstrap-server", b, "--election-type", "preferred",
                                         "--all-topic-partitions"])):
        started = time.monotonic()
        r = tools.run(cls, *args)
        assert r["exit"] != 0, r
        # UnsupportedVersionException, or its message as the tool prints it.
        assert re.search(r"UnsupportedVersionException|The node does not support",
                         r["err"] + r["out"]), r
        assert time.monotonic() - started < 30, r


def raw_request(port: int, api_key: int, version: int, body: bytes = b"") -> bytes | None:
    """One request with a v1 header; the response body, or None when the connection closed."""
    header = struct.pack(">hhih", api_key, version, 7, 4) + b"test"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
        data = b""
        while len(data) < 4 or len(data) < 4 + struct.unpack(">i", data[:4])[0]:
            chunk = s.recv(65536)  # the 10 s timeout raises: a hang fails the test
            if not chunk:
                return None
            data += chunk
        return data[4:]


def test_unknown_api_and_unsupported_version_get_kafkas_answer(bridge):
    """Kafka closes the connection on an unknown API key and on a version of a known API it does
    not serve (clients never send those: they read ApiVersions first); ApiVersions itself at an
    unknown version answers UNSUPPORTED_VERSION with the served ranges (KIP-511)."""
    assert raw_request(bridge.port, 9999, 0) is None
    assert raw_request(bridge.port, 20, 7, struct.pack(">ii", 0, 1000)) is None  # DeleteTopics v7
    assert raw_request(bridge.port, 45, 0) is None  # AlterPartitionReassignments: not served
    def ranges_of(resp: bytes) -> tuple[int, dict]:
        correlation, error, count = struct.unpack(">ihi", resp[:10])
        assert correlation == 7, correlation
        entries = [struct.unpack(">hhh", resp[10 + 6 * i:16 + 6 * i]) for i in range(count)]
        return error, {k: (lo, hi) for k, lo, hi in entries}

    error, ranges = ranges_of(raw_request(bridge.port, 18, 99))
    assert error == 35 and ranges == {18: (0, 4)}, (error, ranges)
    error, ranges = ranges_of(raw_request(bridge.port, 18, 0))
    assert error == 0 and ranges[20] == (0, 6) and 45 not in ranges, ranges  # DeleteTopics
    # The connections above took nothing down.
    produce(bridge.bootstrap, "after-raw", 1)


def wait_for(cond, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:  # bounded
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def consume_all(bootstrap: str, topic: str, expect: int, group: str) -> list:
    c = consumer(bootstrap, group)
    c.subscribe([topic])
    got = []
    for _ in range(300):  # bounded: 30 s of polls
        m = c.poll(0.1)
        if m is not None and m.error() is None:
            got.append((m.offset(), m.value().decode()))
        if len(got) >= expect:
            break
    c.commit(asynchronous=False)
    c.close()
    return got


def delete_topics_v6(port: int, entries: list[tuple[str | None, bytes]]) -> list[tuple]:
    """DeleteTopics v6 (flexible: header v2, compact fields), topics by name or by id (16-byte
    UUID); the response's (name, id, error_code) per topic."""
    def cstr(v: str | None) -> bytes:
        return b"\x00" if v is None else bytes([len(v) + 1]) + v.encode()

    body = bytes([len(entries) + 1])
    for name, tid in entries:
        body += cstr(name) + tid + b"\x00"
    body += struct.pack(">i", 30_000) + b"\x00"
    header = struct.pack(">hhih", 20, 6, 11, 4) + b"test" + b"\x00"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(struct.pack(">i", len(header) + len(body)) + header + body)
        data = b""
        while len(data) < 4 or len(data) < 4 + struct.unpack(">i", data[:4])[0]:
            chunk = s.recv(65536)
            assert chunk, "connection closed"
            data += chunk
    r, pos = data[4:], 0

    def take(n: int) -> bytes:
        nonlocal pos
        pos += n
        return r[pos - n:pos]

    def varint() -> int:
        v = shift = 0
        while True:
            (byte,) = take(1)
            v |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return v

    def cstring() -> str | None:
        n = varint()
        return None if n == 0 else take(n - 1).decode()

    assert struct.unpack(">i", take(4))[0] == 11
    varint()  # header tagged fields
    take(4)  # throttle_time_ms
    out = []
    for _ in range(varint() - 1):
        name, tid, (error,) = cstring(), take(16), struct.unpack(">h", take(2))
        cstring()  # error_message
        varint()  # tagged fields
        out.append((name, tid, error))
    return out


def test_delete_topic_by_id(tools, bridge):
    """DeleteTopics v6 names a topic by the id Metadata reports (kafka-topics --describe shows
    it); the id of a deleted topic is unknown afterwards, and a topic created again under the
    name has a new one."""
    b = bridge.bootstrap
    produce(b, "byid", 2)

    def topic_id() -> bytes:
        d = tools.run(TOPICS, "--bootstrap-server", b, "--describe", "--topic", "byid")
        m = re.search(r"TopicId:\s*(\S+)", d["out"])
        assert m and d["exit"] == 0, d
        raw = base64.urlsafe_b64decode(m.group(1) + "==")
        assert len(raw) == 16 and raw != bytes(16), m.group(1)
        return raw

    tid = topic_id()
    assert delete_topics_v6(bridge.port, [(None, tid)]) == [("byid", tid, 0)]
    listed = tools.run(TOPICS, "--bootstrap-server", b, "--list")
    assert "byid" not in listed["out"].split(), listed
    # UNKNOWN_TOPIC_ID (100) once gone; name and id together: INVALID_REQUEST (42).
    assert delete_topics_v6(bridge.port, [(None, tid)])[0][2] == 100
    produce(b, "byid", 1)
    assert topic_id() != tid
    assert delete_topics_v6(bridge.port, [("byid", topic_id())])[0][2] == 42


def test_delete_topic_with_the_tool_recreate_and_restart(tools, bridge):
    b = bridge.bootstrap
    produce(b, "del1", 5)
    produce(b, "del2", 2)
    assert len(consume_all(b, "del1", 5, "gdel")) == 5  # gdel commits offset 5 on del1
    r = tools.run(TOPICS, "--bootstrap-server", b, "--delete", "--topic", "del1")
    assert r["exit"] == 0, r
    listed = tools.run(TOPICS, "--bootstrap-server", b, "--list")
    assert "del1" not in listed["out"].split() and "del2" in listed["out"].split(), listed
    # The group's committed offsets went with the topic (Kafka does that).
    d = tools.run(GROUPS, "--bootstrap-server", b, "--describe", "--group", "gdel")
    assert not [l for l in d["out"].splitlines() if l.startswith("gdel ") and " del1 " in l], d
    again = tools.run(TOPICS, "--bootstrap-server", b, "--delete", "--topic", "del1")
    assert again["exit"] != 0, again

    # Created again: empty at 0; nothing of the old data or of gdel's old offset.
    r = tools.run(TOPICS, "--bootstrap-server", b, "--create", "--topic", "del1")
    assert r["exit"] == 0, r
    p = Producer({"bootstrap.servers": b})
    for i in range(3):
        p.produce("del1", value=f"new{i}".encode())
    assert p.flush(30) == 0
    c = consumer(b, "gdel")
    assert c.committed([TopicPartition("del1", 0)], timeout=10)[0].offset < 0
    c.close()
    got = consume_all(b, "del1", 3, "gdel")
    assert got == [(0, "new0"), (1, "new1"), (2, "new2")], got

    r = tools.run(TOPICS, "--bootstrap-server", b, "--delete", "--topic", "del2")
    assert r["exit"] == 0, r
    bridge.stop()
    bridge.start()
    listed = tools.run(TOPICS, "--bootstrap-server", b, "--list")
    assert "del2" not in listed["out"].split() and "del1" in listed["out"].split(), listed
    assert len(consume_all(b, "del1", 3, "after-restart")) == 3


def test_delete_while_a_producer_and_a_consumer_are_active(tools, tmp_path):
    """Auto-creation off, so the deleted topic stays deleted: no crash, the producer and the
    consumer keep running against the missing topic as against Kafka, and other topics are
    served throughout."""
    b = Bridge(tmp_path / "live", extra_yaml="topics: {auto_create: false}\n").start()
    try:
        for t in ("live", "other"):
            r = tools.run(TOPICS, "--bootstrap-server", b.bootstrap, "--create", "--topic", t,
                          "--partitions", "2")
            assert r["exit"] == 0, r
        errors: list[str] = []
        delivered = [0]

        def report(err, msg):
            if err is None:
                delivered[0] += 1
            else:
                errors.append(err.name())

        p = Producer({"bootstrap.servers": b.bootstrap})
        c = consumer(b.bootstrap, "live-g")
        c.subscribe(["live"])
        seen = 0
        consumer_errors: list[str] = []

        def pump(n: int):
            nonlocal seen
            for i in range(n):
                try:
                    p.produce("live", value=f"v{i}".encode(), on_delivery=report)
                except Exception as e:  # the local queue refuses: that is a clean error too
                    errors.append(type(e).__name__)
                p.poll(0)
                m = c.poll(0.01)
                if m is not None:
                    if m.error() is None:
                        seen += 1
                    else:
                        consumer_errors.append(m.error().name())

        pump(300)
        wait_for(lambda: (pump(20), seen > 0 and delivered[0] > 0)[1], 30, "traffic on live")
        r = tools.run(TOPICS, "--bootstrap-server", b.bootstrap, "--delete", "--topic", "live")
        assert r["exit"] == 0, r
        before = delivered[0]
        pump(300)
        p.flush(5)
        c.close()
        assert b.proc.poll() is None, "edgebridge died"
        # Nothing is stored in the deleted topic (it is still absent): the producer's later sends
        # wait for the topic as librdkafka does for any missing topic, then fail.
        listed = tools.run(TOPICS, "--bootstrap-server", b.bootstrap, "--list")
        assert "live" not in listed["out"].split(), (listed, delivered[0], before, errors)
        print(f"delivered {delivered[0]} ({before} before), producer errors "
              f"{sorted(set(errors))}, consumer errors {sorted(set(consumer_errors))}")
        produce(b.bootstrap, "other", 5)
        assert len(consume_all(b.bootstrap, "other", 5, "other-g")) == 5
        assert "Assertion" not in b.log() and "AddressSanitizer" not in b.log()
    finally:
        assert b.stop() == 0


def test_delete_records_never_passes_the_mirror(tools, tmp_path):
    # A configured mirror whose cloud is unreachable: nothing is confirmed, nothing may go.
    b = Bridge(tmp_path / "held", mirror_bootstrap="127.0.0.1:1").start()
    try:
        produce(b.bootstrap, "held", 5)
        spec = tmp_path / "delete.json"
        spec.write_text(json.dumps({"partitions": [{"topic": "held", "partition": 0,
                                                    "offset": 3}], "version": 1}))
        r = tools.run(DELETE_RECORDS, "--bootstrap-server", b.bootstrap, "--offset-json-file",
                      str(spec))
        assert "PolicyViolation" in r["out"] + r["err"], r
        c = consumer(b.bootstrap, "w")
        assert c.get_watermark_offsets(TopicPartition("held", 0), timeout=10) == (0, 5)
        c.close()
    finally:
        b.stop()


def streams_classpath() -> str:
    from test_transactions import streams_classpath as cp
    return cp()


def test_streams_word_count_purges_its_repartition_topic(tools, bridge, tmp_path):
    """at_least_once, a repartition topic (groupBy) and a changelog (count): the counts are right,
    the changelog was created compacted, and the repartition topic is purged by DeleteRecords."""
    b = bridge.bootstrap
    classpath = streams_classpath()
    classes = tmp_path / "classes"
    classes.mkdir()
    subprocess.run(["javac", "-d", str(classes), "-cp", classpath,
                    str(ROOT / "tests" / "clients" / "streams" / "EbWordCount.java")],
                   check=True, timeout=300)
    r = tools.run(TOPICS, "--bootstrap-server", b, "--create", "--topic", "wc-in",
                  "--partitions", "2")
    assert r["exit"] == 0, r
    lines = [f"edge {'bridge ' * (i % 3)}kafka streams" for i in range(60)]
    expected: dict[str, int] = {}
    for line in lines:
        for w in line.split():
            expected[w] = expected.get(w, 0) + 1
    p = Producer({"bootstrap.servers": b})
    for i, line in enumerate(lines):
        p.produce("wc-in", key=str(i).encode(), value=line.encode())
    assert p.flush(30) == 0

    log4j = ROOT / ".cache" / "clients" / "java" / "log4j.properties"
    app = subprocess.Popen(
        ["java", "-Xmx256m", f"-Dlog4j.configuration=file:{log4j}", "-cp",
         f"{classes}:{classpath}", "EbWordCount", b, "wc", str(tmp_path / "state"), "wc-in",
         "wc-out"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        c = Consumer({"bootstrap.servers": b, "group.id": "wc-check",
                      "auto.offset.reset": "earliest"})
        c.subscribe(["wc-out"])
        counts: dict[str, int] = {}
        for _ in range(1200):  # bounded: at most ~120 s of polls
            m = c.poll(0.1)
            if m is not None and m.error() is None:
                counts[m.key().decode()] = int.from_bytes(m.value(), "big")
            if counts == expected:
                break
        c.close()
        assert counts == expected, (counts, app.poll())

        cfg = tools.run(CONFIGS, "--bootstrap-server", b, "--entity-type", "topics",
                        "--entity-name", "wc-counts-changelog", "--describe")
        assert "cleanup.policy=compact" in cfg["out"], cfg
        watch = Consumer({"bootstrap.servers": b, "group.id": "wc-watch"})
        purged = False
        for _ in range(600):  # bounded: the app purges every 200 ms once committed
            lows = [watch.get_watermark_offsets(TopicPartition("wc-counts-repartition", i),
                                                timeout=5)
                    for i in range(2)]
            if all(low > 0 and low == high for low, high in lows):
                purged = True
                break
            time.sleep(0.2)
        watch.close()
        assert purged, lows
    finally:
        app.terminate()
        out, _ = app.communicate(timeout=60)
        print(out[-3000:])


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    """ctest's shared cloud broker (EB_CLOUD_DIR), or one started here."""
    shared = Path(os.environ.get("EB_CLOUD_DIR", "/nonexistent"))
    if (shared / "pid").exists() and (shared / "bootstrap").exists():
        yield (shared / "bootstrap").read_text().strip()
        return
    kafka = str(ROOT / "scripts/kafka/kafka.sh")
    state = tmp_path_factory.mktemp("cloud")
    out = subprocess.run([kafka, "start", str(state)], check=True, capture_output=True, text=True,
                         timeout=300)
    try:
        yield out.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([kafka, "stop", str(state)], timeout=120)


def test_create_partitions_grows_the_cloud_topic(tools, cloud, tmp_path):
    site = f"grow-{uuid.uuid4().hex[:12]}"
    b = Bridge(tmp_path / "grow", mirror_bootstrap=cloud, extra_yaml=f"site_id: {site}\n").start()
    try:
        produce(b.bootstrap, "grow", 3)
        r = tools.run(TOPICS, "--bootstrap-server", b.bootstrap, "--alter", "--topic", "grow",
                      "--partitions", "3")
        assert r["exit"] == 0, r
        d = tools.run(TOPICS, "--bootstrap-server", b.bootstrap, "--describe", "--topic", "grow")
        assert re.search(r"PartitionCount:\s*3", d["out"]), d
        fewer = tools.run(TOPICS, "--bootstrap-server", b.bootstrap, "--alter", "--topic",
                          "grow", "--partitions", "2")
        assert fewer["exit"] != 0, fewer
        assert "InvalidPartitionsException" in fewer["out"] + fewer["err"], fewer
        produce(b.bootstrap, "grow", 2, partition=2)

        watch = Consumer({"bootstrap.servers": cloud, "group.id": "grow-watch"})
        marks = None
        for _ in range(600):  # bounded: the mirror rechecks the target within seconds
            try:
                # A fresh look at the topic: the client caches its partition count.
                watch.list_topics(f"{site}.grow", timeout=5)
                marks = [watch.get_watermark_offsets(TopicPartition(f"{site}.grow", i), timeout=5)
                         for i in range(3)]
            except Exception as e:  # the partition may not exist in the cloud yet
                marks = str(e)
            if isinstance(marks, list) and marks[0][1] == 3 and marks[2][1] == 2:
                break
            time.sleep(0.2)
        watch.close()
        assert isinstance(marks, list) and marks[0][1] == 3 and marks[2][1] == 2, (
            marks, b.log()[-3000:])
    finally:
        assert b.stop() == 0


def cloud_marks(cloud: str, topic: str) -> list | None:
    watch = Consumer({"bootstrap.servers": cloud, "group.id": "del-watch"})
    try:
        md = watch.list_topics(topic, timeout=5).topics.get(topic)
        if md is None or md.error is not None:
            return None
        return [watch.get_watermark_offsets(TopicPartition(topic, i), timeout=5)[1]
                for i in sorted(md.partitions)]
    finally:
        watch.close()


def test_delete_keeps_the_cloud_topic_and_the_mirror_goes_on(tools, cloud, tmp_path):
    """The mirror forgets the deleted topic (cloud topic left as it is) and keeps mirroring the
    others; a topic created again under the name is mirrored from its offset 0 (the cloud's old
    records are not taken for the new topic's), and the deletion survives a restart."""
    site = f"del-{uuid.uuid4().hex[:12]}"
    b = Bridge(tmp_path / "mirror", mirror_bootstrap=cloud,
               extra_yaml=f"site_id: {site}\n").start()
    try:
        produce(b.bootstrap, "gone", 5)
        produce(b.bootstrap, "stay", 5)
        wait_for(lambda: cloud_marks(cloud, f"{site}.gone") == [5] and
                 cloud_marks(cloud, f"{site}.stay") == [5], 120, "the first records mirrored")
        r = tools.run(TOPICS, "--bootstrap-server", b.bootstrap, "--delete", "--topic", "gone")
        assert r["exit"] == 0, r
        produce(b.bootstrap, "stay", 5)
        wait_for(lambda: cloud_marks(cloud, f"{site}.stay") == [10], 120, "stay mirrored on")
        assert cloud_marks(cloud, f"{site}.gone") == [5], "the cloud topic stays as it was"
        wait_for(lambda: "no longer mirrored" in b.log(), 30, "the mirror forgot gone")

        # Created again, with more records than the old one had: all of 0..7 go up although the
        # cloud's last record of the name says offset 4 (eb.gen tells the old topic's apart).
        produce(b.bootstrap, "gone", 8)
        wait_for(lambda: cloud_marks(cloud, f"{site}.gone") == [13], 120, "the new gone mirrored")
        assert b.stop() == 0
        b.start()
        produce(b.bootstrap, "stay", 1)
        wait_for(lambda: cloud_marks(cloud, f"{site}.stay") == [11], 120, "mirroring after restart")
        assert cloud_marks(cloud, f"{site}.gone") == [13], "nothing of gone sent twice"
    finally:
        b.stop()
