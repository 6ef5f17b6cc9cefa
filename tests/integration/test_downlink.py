"""The downlink against real Kafka brokers and the real edgebridge binary: cloud topics (names,
patterns, the {site} template) copied into local topics exactly once, read by a real consumer
group; no loop through the mirror; status, lag and metrics (promtool); the pause before the disk
quota; and exactly once through two cloud outages and kill -9 rounds, counting every record.

The shared broker is ctest's cloud_kafka fixture (EB_CLOUD_DIR) or one this module starts; the
outage test starts a broker of its own that it stops and starts on the same port and data.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from bridge_process import ROOT, Bridge
from test_observability import get, metric_samples, status, wait_until

KAFKA = str(ROOT / "scripts/kafka/kafka.sh")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    shared = Path(os.environ.get("EB_CLOUD_DIR", "/nonexistent"))
    if (shared / "pid").exists() and (shared / "bootstrap").exists():
        yield (shared / "bootstrap").read_text().strip()
        return
    state = tmp_path_factory.mktemp("cloud")
    out = subprocess.run([KAFKA, "start", str(state)], check=True, capture_output=True, text=True,
                         timeout=300)
    try:
        yield out.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([KAFKA, "stop", str(state)], timeout=120)


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(topic, partitions, 1)]).values():
        f.result(60)


def cloud_produce(bootstrap: str, topic: str, partitions: int, first: int, n: int,
                  size: int = 40) -> None:
    """Records first..first+n-1 round-robin over the partitions, value 'i:<padding>'."""
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "enable.idempotence": True})
    errors = []
    pad = "x" * max(0, size - 12)
    for i in range(first, first + n):
        headers = [("seq", str(i).encode()), ("null", None)] if i % 7 == 0 else None
        value = None if i % 1000 == 999 else f"{i}:{pad}".encode()
        while True:
            try:
                p.produce(topic, value=value, key=str(i).encode(), partition=i % partitions,
                          headers=headers,
                          on_delivery=lambda err, msg: errors.append(err) if err else None)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    assert p.flush(120) == 0, "cloud produce did not complete"
    assert not errors, errors[:3]


def read_all(bootstrap: str, topic: str, partitions: int, expected: int, group: str | None = None,
             timeout: float = 120) -> dict[int, list]:
    """Every record of `topic` per partition as (key, value, headers): with a consumer group
    (subscribe, commits) when `group` is given, else assigned from offset 0."""
    conf = {"bootstrap.servers": bootstrap, "auto.offset.reset": "earliest",
            "group.id": group or f"reader-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False}
    c = Consumer(conf)
    if group:
        c.subscribe([topic])
    else:
        c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    out: dict[int, list] = {p: [] for p in range(partitions)}
    got = 0
    deadline = time.monotonic() + timeout
    try:
        while got < expected and time.monotonic() < deadline:
            msg = c.poll(0.5)
            if msg is None or msg.error():
                continue
            out[msg.partition()].append((msg.key(), msg.value(), msg.headers()))
            got += 1
        if group:
            c.commit(asynchronous=False)
        # Nothing beyond what was expected (a duplicate would show here).
        extra = c.poll(1.0)
        assert extra is None or extra.error(), f"more than {expected} records in {topic}"
    finally:
        c.close()
    assert got == expected, f"{topic}: {got} of {expected} records"
    return out


def downlink_yaml(rules: list[tuple[str, str]], extra: str = "", cloud: str | None = None) -> str:
    topics = "".join(f"    - {{cloud: \"{c}\", local: \"{l}\"}}\n" for c, l in rules)
    boot = f"  bootstrap: {cloud}\n" if cloud else ""
    return "downlink:\n" + boot + "  metadata_refresh: 500ms\n  topics:\n" + topics + extra


def caught_up(bridge: Bridge, cloud_topic: str, total: int):
    s = status(bridge)["downlink"]
    parts = [p for p in s.get("partitions", []) if p["cloud_topic"] == cloud_topic]
    if parts and sum(p["cursor"] for p in parts if p["cursor"] > 0) >= total and \
            all(p["lag"] == 0 for p in parts):
        return s
    return None


def test_copies_names_and_patterns_once_with_no_loop(tmp_path, cloud):
    site = f"dl-{uuid.uuid4().hex[:10]}"
    commands, ml = f"{site}.commands", f"{site}.ml.scores"
    create_topic(cloud, commands, 3)
    create_topic(cloud, ml, 2)
    cloud_produce(cloud, commands, 3, 0, 3000)
    cloud_produce(cloud, ml, 2, 0, 200)
    b = Bridge(tmp_path, mirror_bootstrap=cloud,
               extra_yaml=f"site_id: {site}\n" +
               downlink_yaml([("{site}.commands", "commands"), ("{site}.ml.*", "ml-{match}")]))
    b.start()
    try:
        wait_until("the downlink copied both topics",
                   lambda: caught_up(b, commands, 3000) and caught_up(b, ml, 200), timeout=120)
        # A local consumer group reads them like any topic, in the cloud's order per partition.
        cloud_cmds = read_all(cloud, commands, 3, 3000)
        local_cmds = read_all(b.bootstrap, "commands", 3, 3000, group="devices")
        assert local_cmds == cloud_cmds
        assert read_all(b.bootstrap, "ml-scores", 2, 200) == read_all(cloud, ml, 2, 200)

        # A pattern picks up a cloud topic created later.
        create_topic(cloud, f"{site}.ml.late", 1)
        cloud_produce(cloud, f"{site}.ml.late", 1, 0, 50)
        wait_until("the late topic is copied", lambda: caught_up(b, f"{site}.ml.late", 50),
                   timeout=60)

        # The mirror works (a device topic reaches the cloud) and never sends a downlink topic
        # back: the cloud command topic still holds exactly what the cloud produced.
        p = Producer({"bootstrap.servers": b.bootstrap})
        for i in range(100):
            p.produce("telemetry", value=b"t%d" % i)
        assert p.flush(60) == 0
        read_all(cloud, f"{site}.telemetry", 1, 100, timeout=120)
        s = status(b)
        mirrored = {q["topic"] for q in s["partitions"] if q["state"] not in
                    ("not-mirrored", "mirror-off") and q.get("target_topic")}
        assert "telemetry" in mirrored
        assert not mirrored & {"commands", "ml-scores", "ml-late"}, mirrored
        assert read_all(cloud, commands, 3, 3000) == cloud_cmds
        for t in (f"{site}.ml-scores", f"{site}.ml-late"):
            md = AdminClient({"bootstrap.servers": cloud}).list_topics(timeout=30)
            assert t not in md.topics

        d = s["downlink"]
        assert d["configured"] and d["state"] == "connected" and d["lag_records"] == 0
        assert d["errors"] == 0, d
        assert {(r["cloud"], r["local"]) for r in d["rules"]} == {
            ("{site}.commands", "commands"), ("{site}.ml.*", "ml-{match}")}
        for q in d["partitions"]:
            assert q["state"] == "caught-up" and q["cursor"] == q["cloud_high_watermark"], q

        _, text = get(b.http_url + "/metrics")
        m = metric_samples(text)
        lag = {k: v for k, v in m.items() if k[0] == "edgebridge_downlink_lag_records"}
        assert len(lag) == 3 + 2 + 1 and all(v == 0 for v in lag.values()), lag
        assert m[("edgebridge_downlink_state", frozenset({("state", "connected")}))] == 1
        cursor = m[("edgebridge_downlink_cursor_offset", frozenset(
            {("cloud_topic", commands), ("partition", "0"), ("topic", "commands")}))]
        assert cursor == 1000
        promtool = shutil.which("promtool")
        if promtool:
            r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                               text=True, timeout=60)
            assert r.returncode == 0, r.stdout + r.stderr
    finally:
        assert b.stop() == 0, b.log()[-4000:]

    # After a restart nothing is copied twice, and the marks still keep the mirror away.
    b.start()
    try:
        cloud_produce(cloud, commands, 3, 3000, 300)
        wait_until("the new records are copied", lambda: caught_up(b, commands, 3300), timeout=60)
        assert read_all(b.bootstrap, "commands", 3, 3300) == read_all(cloud, commands, 3, 3300)
    finally:
        assert b.stop() == 0, b.log()[-4000:]


def test_pauses_before_the_quota_and_resumes_after_retention(tmp_path, cloud):
    site = f"dlq-{uuid.uuid4().hex[:10]}"
    topic = f"{site}.setpoints"
    create_topic(cloud, topic, 2)
    total = 10_000
    cloud_produce(cloud, topic, 2, 0, total, size=1000)  # ~10 MB against a 4 MiB quota
    b = Bridge(tmp_path, extra_yaml=(
        f"site_id: {site}\n"
        "topics: {overrides: {setpoints: {retention: 2s}}}\n" +
        downlink_yaml([("{site}.setpoints", "setpoints")], cloud=cloud,
                      extra="  max_batch_bytes: 256KiB\n")))
    b.config_path.write_text(b.config_path.read_text().replace(
        f"storage: {{data_dir: {b.data_dir}}}",
        f"storage: {{data_dir: {b.data_dir}, max_disk_bytes: 4MiB, "
        "retention_check_interval: 200ms}"))
    b.start()
    try:
        wait_until("the downlink paused at the quota",
                   lambda: status(b)["downlink"]["quota_pauses"] >= 1, timeout=60)
        s = wait_until("everything copied", lambda: caught_up(b, topic, total), timeout=180)
        assert s["errors"] == 0, s  # never refused by storage: it paused before the quota
        st = status(b)
        assert st["disk"]["dropped_records"] == 0
        assert st["disk"]["used_bytes"] <= 4 << 20
        assert not st["gaps"], st["gaps"]
        local = {q["partition"]: q["high_watermark"] for q in st["partitions"]
                 if q["topic"] == "setpoints"}
        assert sum(local.values()) == total, local
    finally:
        assert b.stop() == 0, b.log()[-4000:]


def test_exactly_once_through_two_outages_and_kill9(tmp_path):
    state = tmp_path / "cloud"
    bootstrap = subprocess.run([KAFKA, "start", str(state)], check=True, capture_output=True,
                               text=True, timeout=300).stdout.strip().splitlines()[-1]
    port = bootstrap.rsplit(":", 1)[1]
    site, parts = "eo", 3
    topic = f"{site}.commands"
    rng = random.Random(17)
    b = Bridge(tmp_path / "edge", extra_yaml=f"site_id: {site}\n" + downlink_yaml(
        [("{site}.commands", "commands")], cloud=bootstrap,
        extra="  max_batch_bytes: 8KiB\n"))
    produced = 0
    midstream = 0

    def add(n):
        nonlocal produced
        cloud_produce(bootstrap, topic, parts, produced, n)
        produced += n

    def copied():
        try:
            d = status(b)["downlink"]
        except Exception:  # noqa: BLE001 - restarting
            return None
        return d

    def kill_mid_stream():
        nonlocal midstream
        wait_until("progress", lambda: (lambda d: d and any(p["cursor"] > 0 for p in
                                                            d["partitions"]))(copied()))
        time.sleep(rng.uniform(0, 0.3))
        d = copied()
        if d and d["lag_records"] > 0:
            midstream += 1
        b.kill9()

    def cloud_stop():
        subprocess.run([KAFKA, "stop", str(state)], check=True, timeout=120)

    def cloud_start():
        subprocess.run([KAFKA, "start", str(state), f"--port={port}"], check=True,
                       capture_output=True, timeout=300)

    try:
        create_topic(bootstrap, topic, parts)
        add(60_000)
        for _ in range(3):  # kill -9 rounds while copying
            b.start()
            kill_mid_stream()
        b.start()
        # Outage 1: the cloud goes away mid-stream and comes back on the same port and data.
        wait_until("progress", lambda: (lambda d: d and d["records"] > 0)(copied()))
        cloud_stop()
        wait_until("the downlink sees the outage",
                   lambda: (lambda d: d["state"] != "connected" or "cloud" in d["last_error"])(
                       status(b)["downlink"]), timeout=60)
        cloud_start()
        add(30_000)
        kill_mid_stream()
        b.start()
        # Outage 2, then a last kill -9 while catching up.
        cloud_stop()
        time.sleep(1)
        cloud_start()
        add(30_000)
        kill_mid_stream()
        b.start()
        wait_until("everything copied", lambda: caught_up(b, topic, produced), timeout=180)
        assert read_all(b.bootstrap, "commands", parts, produced) == \
            read_all(bootstrap, topic, parts, produced)
        print(f"downlink exactly-once: {produced} records, {midstream} of 5 kills mid-stream")
        assert midstream >= 1
    finally:
        b.stop()
        subprocess.run([KAFKA, "stop", str(state)], timeout=120)


def test_a_recreated_cloud_topic_is_copied_from_its_start(tmp_path, cloud):
    """A stored cursor the cloud no longer has (the topic was deleted and created again) is
    reported, and the new topic is copied from its first record, not from the old offset."""
    site = f"dlr-{uuid.uuid4().hex[:10]}"
    topic = f"{site}.reset"
    create_topic(cloud, topic, 1)
    cloud_produce(cloud, topic, 1, 0, 20)
    b = Bridge(tmp_path, extra_yaml=f"site_id: {site}\n" +
               downlink_yaml([("{site}.reset", "reset")], cloud=cloud))
    b.start()
    try:
        wait_until("copied", lambda: caught_up(b, topic, 20), timeout=60)
    finally:
        assert b.stop() == 0, b.log()[-4000:]
    admin = AdminClient({"bootstrap.servers": cloud})
    admin.delete_topics([topic])[topic].result(60)

    def recreated():
        try:
            create_topic(cloud, topic, 1)
            return True
        except Exception:  # noqa: BLE001 - still being deleted
            return False
    wait_until("the topic is created again", recreated, timeout=60)
    cloud_produce(cloud, topic, 1, 100, 5)
    b.start()
    try:
        wait_until("the reset is reported",
                   lambda: "is gone" in status(b)["downlink"]["last_error"], timeout=60)
        wait_until("the new records are copied", lambda: caught_up(b, topic, 5), timeout=60)
        local = read_all(b.bootstrap, "reset", 1, 25)[0]
        assert local[20:] == read_all(cloud, topic, 1, 5)[0]
    finally:
        assert b.stop() == 0, b.log()[-4000:]
