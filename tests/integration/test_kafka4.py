"""Compaction and Kafka's current client generation against the edgebridge binary.

- A topic created with cleanup.policy=compact (CreateTopics configs, as Kafka Streams creates its
  changelogs), written in rounds of the same 20 keys: once the bridge has compacted it, a
  confluent-kafka reader sees offsets with gaps, every key's newest value, each key's values in
  order, and far fewer records than were written; a kafka-clients 4.x group consumer reads exactly
  those records and commits.
- CreateTopics with a cleanup.policy edgebridge does not know is refused with INVALID_CONFIG,
  which the admin client reports.
- kafka-topics of Kafka 4.1 deletes a topic (DeleteTopics v6 by name); the others stay.
(kafka-clients 4.x with group.protocol=consumer, KIP-848: tests/integration/test_kip848.py.)

Run: tests/clients/install.sh && .cache/clients/venv/bin/python -m pytest tests/integration/test_kafka4.py
"""
from __future__ import annotations

import subprocess
import time

import pytest
from confluent_kafka import Consumer as CkConsumer, KafkaException, Producer as CkProducer
from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import clients_lib
from bridge_process import ROOT, Bridge

KEYS = 20
ROUNDS = 60  # 20 x 60 records of ~1 KiB: more than one 1 MiB storage segment


@pytest.fixture(scope="module")
def bridge(tmp_path_factory, clients_installed):
    b = Bridge(tmp_path_factory.mktemp("kafka4"))
    text = b.config_path.read_text()
    # Compaction runs after each retention pass: often, so that the test need not wait.
    text = text.replace(f"storage: {{data_dir: {b.data_dir}}}",
                        f"storage: {{data_dir: {b.data_dir}, retention_check_interval: 200ms}}")
    b.config_path.write_text(text)
    b.start()
    yield b
    b.stop()


def _value(rnd: int, key: int) -> bytes:
    return f"r{rnd:02d}-k{key:02d}-".encode() + b"x" * 1000


def _read_all(bootstrap: str, topic: str, timeout: float = 60) -> list[tuple[int, str, bytes]]:
    c = CkConsumer({"bootstrap.servers": bootstrap, "group.id": "kafka4-reader",
                    "enable.auto.commit": False})
    try:
        low, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=30)
        c.assign([TopicPartition(topic, 0, low)])
        out: list[tuple[int, str, bytes]] = []
        deadline = time.monotonic() + timeout
        while (not out or out[-1][0] < high - 1) and time.monotonic() < deadline:
            m = c.poll(1.0)
            if m is None:
                continue
            assert m.error() is None, m.error()
            out.append((m.offset(), m.key().decode(), m.value()))
        assert out and out[-1][0] == high - 1, f"read up to {out[-1][0] if out else None} of {high}"
        return out
    finally:
        c.close()


def test_compacted_topic_is_read_by_real_consumers(bridge):
    topic = "kafka4-compacted"
    admin = AdminClient({"bootstrap.servers": bridge.bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1, config={"cleanup.policy": "compact"})])[
        topic].result(timeout=60)
    p = CkProducer({"bootstrap.servers": bridge.bootstrap})
    for rnd in range(ROUNDS):
        for k in range(KEYS):
            p.produce(topic, key=f"k{k:02d}", value=_value(rnd, k))
            if rnd == 0:  # keys written once: their records stay amid removed ones (gaps)
                p.produce(topic, key=f"once{k:02d}", value=_value(rnd, k))
        assert p.flush(30) == 0
    # The bridge logs each compaction of the partition (storage/compaction.cc).
    deadline = time.monotonic() + 60
    while f"compacted {topic}-0" not in bridge.log() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert f"compacted {topic}-0" in bridge.log(), bridge.log()[-2000:]

    got = _read_all(bridge.bootstrap, topic)
    offsets = [o for o, _, _ in got]
    assert offsets == sorted(set(offsets))
    written = KEYS * (ROUNDS + 1)
    assert offsets[-1] == written - 1
    assert len(got) < written // 2, f"{len(got)} records left: not compacted"
    assert any(y - x > 1 for x, y in zip(offsets, offsets[1:])), "no offset gaps"
    by_key: dict[str, list[int]] = {}
    for _, key, value in got:
        by_key.setdefault(key, []).append(int(value[1:3]))
    assert sorted(by_key) == sorted([f"k{k:02d}" for k in range(KEYS)] +
                                    [f"once{k:02d}" for k in range(KEYS)])
    for key, rounds in by_key.items():
        if key.startswith("once"):
            assert rounds == [0], f"{key}: {rounds}"
            continue
        assert rounds == sorted(rounds), f"{key}: values out of order {rounds}"
        assert rounds[-1] == ROUNDS - 1, f"{key}: newest value missing {rounds}"

    # A Java 4.x group consumer reads exactly these records across the gaps, and commits.
    java4 = next(c for c in clients_lib.CONSUMERS if c.name == "java4")
    run, records = clients_lib.run_consumer(java4, bridge.bootstrap, topic, "kafka4-java", len(got),
                                            120)
    assert run.returncode == 0, run.explain()
    assert [r["offset"] for r in records] == offsets, run.explain()
    committed = clients_lib.committed_admin(bridge.bootstrap, "kafka4-java", topic)
    assert committed == {0: written}


def test_unknown_cleanup_policy_is_invalid_config(bridge):
    admin = AdminClient({"bootstrap.servers": bridge.bootstrap})
    topic = "kafka4-bad-policy"
    future = admin.create_topics([NewTopic(topic, 1, 1, config={"cleanup.policy": "shred"})])[topic]
    with pytest.raises(KafkaException) as e:
        future.result(timeout=60)
    assert "INVALID_CONFIG" in str(e.value) and "cleanup.policy" in str(e.value), str(e.value)


def _kafka4_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / "scripts" / "kafka" / "kafka.sh"), "--version=4.1.1",
                           "run-class", *args], capture_output=True, text=True, timeout=300)


def test_kafka4_topics_tool_deletes_a_topic(bridge):
    p = CkProducer({"bootstrap.servers": bridge.bootstrap})
    for t in ("kafka4-del", "kafka4-keep"):
        p.produce(t, value=b"v")
    assert p.flush(30) == 0
    topics = "org.apache.kafka.tools.TopicCommand"
    r = _kafka4_tool(topics, "--bootstrap-server", bridge.bootstrap, "--delete", "--topic",
                     "kafka4-del")
    assert r.returncode == 0, r.stderr[-2000:]
    names = AdminClient({"bootstrap.servers": bridge.bootstrap}).list_topics(timeout=30).topics
    assert "kafka4-del" not in names and "kafka4-keep" in names, names
