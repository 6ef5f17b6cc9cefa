"""Transactions are not supported: a transactional producer must fail fast with a fatal error that
says so, instead of looking up a transaction coordinator until its timeout. Real clients against
the edgebridge binary: Java kafka-clients 3.9.1 and confluent-kafka (librdkafka).
"""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka import KafkaException, Producer

from bridge_process import Bridge, ROOT

NOT_SUPPORTED = "transactions are not supported by edgebridge"
CACHE = ROOT / ".cache" / "clients"
# A lookup retried until the client's own timeout would take this long: failing well before it
# shows that the answer is fatal, not retriable.
CLIENT_TIMEOUT_S = 60


@pytest.fixture
def bridge(tmp_path):
    b = Bridge(tmp_path / "bridge").start()
    yield b
    assert b.stop() == 0


def test_java_transactional_producer_fails_fast(bridge, tmp_path):
    classpath = (CACHE / "java" / "classpath.txt").read_text().strip()
    classes = tmp_path / "classes"
    source = ROOT / "tests" / "clients" / "java" / "EbTxnProducer.java"
    subprocess.run(["javac", "-Xlint:all,-path", "-Werror", "-d", str(classes), "-cp", classpath,
                    str(source)], check=True, timeout=300)
    start = time.monotonic()
    run = subprocess.run(
        ["java", "-Xmx256m", "-XX:+UseSerialGC",
         f"-Dlog4j.configuration=file:{CACHE / 'java' / 'log4j.properties'}",
         "-cp", f"{classes}:{classpath}", "EbTxnProducer", bridge.bootstrap, "edge-tx",
         str(CLIENT_TIMEOUT_S * 1000)],
        capture_output=True, text=True, timeout=CLIENT_TIMEOUT_S + 60)
    took = time.monotonic() - start
    lines = [l for l in run.stdout.splitlines() if l.startswith("{")]
    assert lines, run.stdout + run.stderr
    outcome = json.loads(lines[-1])
    print(f"\nJava initTransactions: {outcome}")
    assert "error" in outcome, outcome
    assert outcome["error"] == "org.apache.kafka.common.KafkaException", outcome
    assert NOT_SUPPORTED in outcome["message"], outcome
    assert took < 20, f"initTransactions took {took:.1f}s: {outcome}"


def streams_classpath() -> str:
    """Kafka Streams 3.9.1 and its runtime jars, fetched from Maven Central once (like
    scripts/kafka/kafka.sh fetches the broker)."""
    libs = CACHE / "kafka-streams-3.9.1"
    if not (libs / ".complete").exists():
        libs.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mvn", "-q", "-B", "-f",
                        str(ROOT / "tests" / "clients" / "streams" / "pom.xml"),
                        "dependency:copy-dependencies", f"-DoutputDirectory={libs}",
                        "-DincludeScope=runtime"], check=True, timeout=600)
        (libs / ".complete").touch()
    return ":".join(str(j) for j in sorted(libs.glob("*.jar")))


def test_exactly_once_v2_streams_app_fails_fast(bridge, tmp_path):
    classpath = streams_classpath()
    # Streams does not create its source topic: one record creates it.
    p = Producer({"bootstrap.servers": bridge.bootstrap})
    p.produce("eos-in", value=b"hello")
    assert p.flush(30) == 0
    classes = tmp_path / "classes"
    source = ROOT / "tests" / "clients" / "streams" / "EbEosStreams.java"
    subprocess.run(["javac", "-Xlint:all,-path", "-Werror", "-d", str(classes), "-cp", classpath,
                    str(source)], check=True, timeout=300)
    run = subprocess.run(
        ["java", "-Xmx256m", "-XX:+UseSerialGC",
         f"-Dlog4j.configuration=file:{CACHE / 'java' / 'log4j.properties'}",
         "-cp", f"{classes}:{classpath}", "EbEosStreams", bridge.bootstrap, "edge-eos",
         str(tmp_path / "state"), str(CLIENT_TIMEOUT_S * 1000)],
        capture_output=True, text=True, timeout=CLIENT_TIMEOUT_S + 60)
    lines = [l for l in run.stdout.splitlines() if l.startswith("{")]
    assert lines, run.stdout + run.stderr
    outcome = json.loads(lines[-1])
    print(f"\nKafka Streams exactly_once_v2: {outcome}")
    assert outcome["failed"], outcome
    assert any(NOT_SUPPORTED in c for c in outcome["causes"]), outcome
    # Joining the group and getting tasks comes first (a few seconds); then it fails at once.
    assert outcome["ms"] < 30_000, outcome


def test_confluent_kafka_transactional_producer_fails_fast(bridge):
    p = Producer({"bootstrap.servers": bridge.bootstrap, "transactional.id": "edge-tx"})
    start = time.monotonic()
    with pytest.raises(KafkaException) as raised:
        p.init_transactions(CLIENT_TIMEOUT_S)
    took = time.monotonic() - start
    err = raised.value.args[0]
    assert err.fatal(), err
    assert not err.retriable(), err
    assert NOT_SUPPORTED in err.str(), err
    assert took < 20, f"init_transactions took {took:.1f}s: {err}"


def test_idempotent_producer_still_works(bridge):
    delivered = []
    p = Producer({"bootstrap.servers": bridge.bootstrap, "enable.idempotence": True})
    for i in range(100):
        p.produce("idem", value=b"v%d" % i,
                  on_delivery=lambda err, msg: delivered.append(err or msg.offset()))
    assert p.flush(60) == 0
    assert delivered == list(range(100))
