"""The two-level acknowledgement against a real cloud broker: records produced to the gateway
become `in_cloud` in /v1/confirmed once the mirror's delivery is confirmed, and the metrics and
status say the same (confirmed offset = high watermark, no backlog, uplink connected).

The broker is ctest's shared one (EB_CLOUD_DIR, the cloud_kafka fixture), or one this module
starts with scripts/kafka/kafka.sh and stops.
"""
from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from bridge_process import ROOT, Bridge
from test_observability import get, metric_samples, produce, status, wait_until

TOPIC = "cloud-confirmed"
RECORDS = 200


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


@pytest.fixture(scope="module")
def bridge(tmp_path_factory, cloud):
    # A site of its own per run: the shared broker keeps earlier runs' records, and a mirror that
    # finds its records already in the cloud (the tail read) rightly delivers none again.
    b = Bridge(tmp_path_factory.mktemp("observability-cloud"), mirror_bootstrap=cloud,
               extra_yaml="topics: {defaults: {partitions: 2}}\n"
                          f"site_id: obs-{uuid.uuid4().hex[:12]}\n").start()
    try:
        yield b
    finally:
        rc = b.stop()
        assert rc == 0, b.log()[-4000:]


def confirmed(bridge, partition: int, offset: int) -> dict:
    code, body = get(bridge.http_url +
                     f"/v1/confirmed?topic={TOPIC}&partition={partition}&offset={offset}")
    assert code == 200, body
    return json.loads(body)


def test_records_become_in_cloud(bridge):
    produce(bridge.bootstrap, RECORDS, topic=TOPIC)
    last = RECORDS // 2 - 1  # produce() spreads records over partitions 0 and 1
    for p in (0, 1):
        c = wait_until(f"offset {last} of partition {p} confirmed by the cloud",
                       lambda: (lambda c: c if c["in_cloud"] else None)(confirmed(bridge, p, last)),
                       timeout=180)
        assert c["confirmed_offset"] == RECORDS // 2 == c["high_watermark"]
        # One past the end: stored nowhere, so not in the cloud either.
        after = confirmed(bridge, p, last + 1)
        assert after["in_cloud"] is False and after["stored"] is False

    s = wait_until("the status shows no backlog",
                   lambda: (lambda s: s if s["backlog_records"] == 0 else None)(status(bridge)))
    assert s["uplink"]["state"] == "connected"
    assert s["uplink"]["delivered_records"] >= RECORDS
    (topic,) = [t for t in s["topics"] if t["name"] == TOPIC]
    assert topic["eta_s"] == 0
    _, text = get(bridge.http_url + "/metrics")
    m = metric_samples(text)
    for p in (0, 1):
        labels = frozenset({("topic", TOPIC), ("partition", str(p))})
        assert m[("edgebridge_partition_confirmed_offset", labels)] == RECORDS // 2
        assert m[("edgebridge_partition_high_watermark", labels)] == RECORDS // 2
        assert m[("edgebridge_partition_backlog_records", labels)] == 0
    assert m[("edgebridge_uplink_state", frozenset({("state", "connected")}))] == 1
