"""Live reconfiguration against the real cloud broker and the real binary: remote config
documents (applied, rejected with --check-config's messages, needing a restart, replayed and
ignored, persisted across a restart), SIGHUP reloads of the file (valid and invalid), and the
periodic fleet record, all read back from the site's status topic with a real consumer and from
/v1/status.

The broker is ctest's shared one (EB_CLOUD_DIR, the cloud_kafka fixture), or one this module
starts with scripts/kafka/kafka.sh and stops.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from bridge_process import ROOT, Bridge, bridge_bin
from test_observability import status, wait_until

SITE = f"rc-{uuid.uuid4().hex[:10]}"
CONFIG_TOPIC = f"{SITE}.edgebridge.config"
STATUS_TOPIC = f"{SITE}.edgebridge.status"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
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


class StatusReader:
    """Every record of the site's status topic, read from the beginning by a real consumer."""

    def __init__(self, bootstrap: str):
        self.c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"fleet-{SITE}",
                           "enable.auto.commit": False})
        self.c.assign([TopicPartition(STATUS_TOPIC, 0, 0)])
        self.records: list[tuple[str, dict]] = []

    def wait_for(self, what: str, match, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for key, rec in self.records[seen:]:
                if match(rec):
                    assert key == SITE, key
                    return rec
            seen = len(self.records)
            if time.monotonic() > deadline:
                raise AssertionError(f"no status record {what} in {self.records[-5:]}")
            msg = self.c.poll(0.5)
            if msg is not None and not msg.error():
                self.records.append((msg.key().decode(), json.loads(msg.value())))

    def close(self):
        self.c.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory, cloud):
    admin = AdminClient({"bootstrap.servers": cloud})
    for f in admin.create_topics([NewTopic(CONFIG_TOPIC, 1, 1), NewTopic(STATUS_TOPIC, 1, 1)],
                                 request_timeout=30).values():
        f.result(60)
    b = Bridge(tmp_path_factory.mktemp("remote-config"), mirror_bootstrap=cloud,
               extra_yaml=f"site_id: {SITE}\nremote: {{status_interval: 2s}}\n")
    b.base_yaml = b.config_path.read_text()
    b.start()
    reader = StatusReader(cloud)
    producer = Producer({"bootstrap.servers": cloud})
    # Topics the documents talk about, created by a real client at default settings.
    local = Producer({"bootstrap.servers": b.bootstrap})
    for t in ("alarms", "beta"):
        for i in range(10):
            local.produce(t, f"{t}-{i}".encode())
    assert local.flush(30) == 0
    try:
        yield b, reader, producer
    finally:
        reader.close()
        rc = b.stop()
        assert rc == 0, b.log()[-4000:]


def publish(producer: Producer, doc: str) -> None:
    producer.produce(CONFIG_TOPIC, doc.encode(), partition=0)
    assert producer.flush(30) == 0


def topic_status(bridge: Bridge, name: str) -> dict:
    return next(t for t in status(bridge)["topics"] if t["name"] == name)


def check_config_errors(tmp: Path, yaml_text: str) -> list[str]:
    """What `edgebridge --check-config` prints for a file (the reference for every rejection)."""
    path = tmp / "check.yaml"
    path.write_text(yaml_text)
    out = subprocess.run([bridge_bin(), "--check-config", "--config", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out
    prefix = "edgebridge: config error: "
    return [line[len(prefix):] for line in out.stderr.splitlines() if line.startswith(prefix)]


def test_fleet_record_is_published_periodically(site):
    b, reader, _ = site
    first = reader.wait_for("fleet", lambda r: r.get("type") == "fleet")
    for key in ("site", "version", "config_version", "uptime_s", "topics", "backlog_records",
                "disk", "uplink", "downlink", "gaps"):
        assert key in first, first
    assert first["site"] == SITE
    assert "quota_bytes" in first["disk"] and "used_bytes" in first["disk"]
    assert first["uplink"]["state"] in ("connecting", "connected", "disconnected")
    # The next one, later, sees the topics produced to and their backlog.
    later = reader.wait_for("fleet with topics", lambda r: r.get("type") == "fleet" and
                            r["uptime_s"] > first["uptime_s"] and
                            {"alarms", "beta"} <= {t["name"] for t in r["topics"]})
    alarms = next(t for t in later["topics"] if t["name"] == "alarms")
    assert alarms["end_offsets"] == 10
    assert alarms["backlog_records"] >= 0


def test_remote_document_applied_live(site):
    b, reader, producer = site
    publish(producer, "version: 1\n"
                      "topics: {overrides: {alarms: {priority: 7, retention: 1h}}}\n"
                      "mirror: {bandwidth_bytes_per_sec: 1MiB}\n")
    rec = reader.wait_for("v1", lambda r: r.get("type") == "config" and r.get("version") == 1)
    assert rec["outcome"] == "applied", rec
    assert rec["source"] == "remote"
    assert set(rec["applied"]) == {"topics.overrides.alarms", "mirror.bandwidth_bytes_per_sec"}
    assert rec["needs_restart"] == [] and rec["problems"] == []
    t = topic_status(b, "alarms")
    assert t["priority"] == 7 and t["retention_ms"] == 3600_000, t
    s = status(b)
    assert s["uplink"]["bandwidth_bytes_per_sec"] == 1 << 20
    assert s["config"]["remote_version"] == 1
    # The mirror still delivers (the cap is far above 20 records).
    wait_until("alarms mirrored", lambda: topic_status(b, "alarms")["backlog_records"] == 0)


def test_invalid_document_rejected_whole_with_check_config_messages(site, tmp_path):
    b, reader, producer = site
    # Keys the file does not have, so the file plus the document is the merged document.
    doc = ("topics: {overrides: {alarms: {priority: 9}, beta: {partitions: 0}}}\n"
           "server: {max_connections: 0}\n"
           "groups: {max_groups: lots}\n")
    publish(producer, "version: 2\n" + doc)
    rec = reader.wait_for("v2", lambda r: r.get("type") == "config" and r.get("version") == 2)
    assert rec["outcome"] == "rejected", rec
    assert rec["applied"] == []
    # Exactly what --check-config prints for the file with the document's keys in it.
    expected = check_config_errors(tmp_path, b.base_yaml + doc)
    assert len(expected) >= 3, expected
    assert sorted(rec["problems"]) == sorted(expected)
    # Nothing of it applied: the priority stays.
    assert topic_status(b, "alarms")["priority"] == 7
    assert status(b)["config"]["remote_version"] == 1


def test_document_needing_a_restart_is_reported(site):
    b, reader, producer = site
    publish(producer, "version: 3\n"
                      "topics: {overrides: {alarms: {priority: 8}}}\n"
                      "mirror: {bandwidth_bytes_per_sec: 2MiB}\n"
                      "server: {max_connections: 500}\n")
    rec = reader.wait_for("v3", lambda r: r.get("type") == "config" and r.get("version") == 3)
    assert rec["outcome"] == "needs-restart", rec
    assert rec["needs_restart"] == ["server.max_connections"]
    assert "topics.overrides.alarms.priority" in rec["applied"]
    assert "topics.overrides.alarms.retention" in rec["applied"]  # back to the default
    assert topic_status(b, "alarms")["priority"] == 8
    assert status(b)["uplink"]["bandwidth_bytes_per_sec"] == 2 << 20


def test_replayed_older_version_is_ignored(site):
    b, reader, producer = site
    before = status(b)["config"]["ignored"]
    publish(producer, "version: 1\ntopics: {overrides: {alarms: {priority: 1}}}\n")
    publish(producer, "version: 3\ntopics: {overrides: {alarms: {priority: 2}}}\n")
    wait_until("ignored", lambda: status(b)["config"]["ignored"] >= before + 2)
    assert topic_status(b, "alarms")["priority"] == 8
    assert status(b)["config"]["remote_version"] == 3


def test_remote_layer_and_versions_survive_a_restart(site):
    b, reader, producer = site
    assert b.stop() == 0
    b.start()
    s = status(b)
    assert s["config"]["remote_version"] == 3 and s["config"]["seen_version"] == 3
    assert topic_status(b, "alarms")["priority"] == 8
    assert s["uplink"]["bandwidth_bytes_per_sec"] == 2 << 20
    # The config topic is read again from its start: every document there is old now.
    wait_until("replay ignored", lambda: status(b)["config"]["ignored"] >= 5)
    assert topic_status(b, "alarms")["priority"] == 8
    # A newer one still applies.
    publish(producer, "version: 4\n"
                      "topics: {overrides: {alarms: {priority: 6}}}\n"
                      "server: {max_connections: 500}\n")
    rec = reader.wait_for("v4", lambda r: r.get("type") == "config" and r.get("version") == 4)
    assert rec["outcome"] == "applied", rec  # max_connections is in force since the restart
    assert topic_status(b, "alarms")["priority"] == 6


def test_mirror_topic_mapping_changes_live(site, cloud):
    b, reader, producer = site
    target = f"{SITE}.alarms-v2"
    publish(producer, "version: 5\n"
                      f"topics: {{overrides: {{alarms: {{priority: 6, target: {target}}}}}}}\n"
                      "server: {max_connections: 500}\n")
    rec = reader.wait_for("v5", lambda r: r.get("type") == "config" and r.get("version") == 5)
    assert rec["outcome"] == "applied" and "topics.overrides.alarms.target" in rec["applied"], rec
    local = Producer({"bootstrap.servers": b.bootstrap})
    for i in range(5):
        local.produce("alarms", f"after-{i}".encode())
    assert local.flush(30) == 0
    # The restarted mirror sends what the old target did not get to the new one, once.
    c = Consumer({"bootstrap.servers": cloud, "group.id": f"v2-{SITE}",
                  "enable.auto.commit": False})
    c.assign([TopicPartition(target, 0, 0)])
    got = []
    deadline = time.monotonic() + 60
    while len(got) < 5 and time.monotonic() < deadline:
        msg = c.poll(0.5)
        if msg is not None and not msg.error():
            got.append(msg.value().decode())
    extra = c.poll(2)
    c.close()
    assert got == [f"after-{i}" for i in range(5)]
    assert extra is None or extra.error(), extra.value()
    assert topic_status(b, "alarms")["priority"] == 6


def test_sighup_reloads_the_file(site):
    b, reader, _ = site
    reloads = status(b)["config"]["reloads"]
    b.config_path.write_text(b.base_yaml + "topics: {overrides: {beta: {priority: 3}}}\n"
                             "log_level: debug\n")
    b.proc.send_signal(signal.SIGHUP)
    wait_until("reload", lambda: status(b)["config"]["reloads"] > reloads)
    last = status(b)["config"]["last"]
    assert last["source"] == "sighup" and last["outcome"] == "applied", last
    assert "topics.overrides.beta" in last["applied"] and "log_level" in last["applied"]
    assert topic_status(b, "beta")["priority"] == 3
    # The remote layer (version 4) still applies over the file.
    assert topic_status(b, "alarms")["priority"] == 6
    rec = reader.wait_for("sighup", lambda r: r.get("type") == "config" and
                          r.get("source") == "sighup")
    assert rec["outcome"] == "applied"


def test_sighup_with_an_invalid_file_changes_nothing(site, tmp_path):
    b, _, _ = site
    reloads = status(b)["config"]["reloads"]
    bad = b.base_yaml + "topics: {overrides: {beta: {priority: 4000}}}\ngroups: {max_groups: lots}\n"
    b.config_path.write_text(bad)
    b.proc.send_signal(signal.SIGHUP)
    wait_until("reload", lambda: status(b)["config"]["reloads"] > reloads)
    last = status(b)["config"]["last"]
    assert last["outcome"] == "rejected", last
    expected = check_config_errors(tmp_path, bad)
    assert sorted(last["problems"]) == sorted(expected)
    log = b.log()
    for p in expected:
        assert f"edgebridge: config error: {p}" in log
    assert topic_status(b, "beta")["priority"] == 3
    assert b.proc.poll() is None
    b.config_path.write_text(b.base_yaml)
