"""The operator's HTTP endpoints of the real binary after real produce and fetch traffic:
/metrics (valid for promtool, counts equal to what was produced), /healthz, /readyz, /v1/status,
/v1/confirmed, `edgebridge status`, refusal of bad requests without disturbing the Kafka
listener, JSON log lines, and the status page rendered by headless Chromium.

The mirror points at a port where nothing listens: the uplink is down, so every record is
backlog, which is what a floor outage looks like.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from bridge_process import Bridge, bridge_bin, free_port

TOPIC = "floor-sensors"
PARTITIONS = 2
RECORDS = 600


def get(url: str, method: str = "GET", headers: dict | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def status(bridge: Bridge) -> dict:
    code, body = get(bridge.http_url + "/v1/status")
    assert code == 200, body
    return json.loads(body)


def wait_until(what: str, check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout}s (last: {last})")


def metric_samples(text: str) -> dict[tuple[str, frozenset], float]:
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def produce(bootstrap: str, n: int, topic: str = TOPIC) -> int:
    """Produces n records round-robin over the partitions; returns the value bytes."""
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    errors = []
    total = 0
    for i in range(n):
        value = f"reading-{i:05d}".encode() * 4
        total += len(value)
        p.produce(topic, value=value, key=str(i).encode(), partition=i % PARTITIONS,
                  on_delivery=lambda err, msg: errors.append(err) if err else None)
        p.poll(0)
    assert p.flush(60) == 0, "produce did not complete"
    assert not errors, errors
    return total


def consume_all(bootstrap: str, n: int) -> int:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "obs-reader",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)])
    got = 0
    deadline = time.monotonic() + 60
    try:
        while got < n and time.monotonic() < deadline:
            msg = c.poll(0.5)
            if msg is not None and not msg.error():
                got += 1
    finally:
        c.close()
    return got


@pytest.fixture(scope="module")
def bridge(tmp_path_factory):
    dead = free_port()
    b = Bridge(tmp_path_factory.mktemp("observability"), mirror_bootstrap=f"127.0.0.1:{dead}",
               extra_yaml=f"topics: {{defaults: {{partitions: {PARTITIONS}}}}}\n"
                          "log_format: json\n").start()
    try:
        yield b
    finally:
        rc = b.stop()
        assert rc == 0, b.log()[-4000:]


@pytest.fixture(scope="module")
def traffic(bridge):
    """Real traffic, once for the module: RECORDS produced, then all of them read back."""
    value_bytes = produce(bridge.bootstrap, RECORDS)
    assert consume_all(bridge.bootstrap, RECORDS) == RECORDS
    return value_bytes


def test_healthz_and_readyz(bridge):
    assert get(bridge.http_url + "/healthz") == (200, "ok\n")
    code, body = get(bridge.http_url + "/readyz")
    # The uplink is down and yet the gateway is ready: devices can still produce.
    assert code == 200, body
    assert body.startswith("ready\n")
    assert re.search(r"uplink: (connecting|disconnected)", body), body


def test_metrics_count_what_was_produced_and_fetched(bridge, traffic):
    code, text = get(bridge.http_url + "/metrics")
    assert code == 200
    m = metric_samples(text)
    topic = frozenset({("topic", TOPIC)})
    assert m[("edgebridge_produce_records_total", topic)] == RECORDS
    assert m[("edgebridge_produce_requests_total", topic)] >= 1
    # Batches carry headers and per-record overhead on top of the values.
    assert m[("edgebridge_produce_bytes_total", topic)] > traffic
    assert m[("edgebridge_fetch_records_total", topic)] == RECORDS
    assert m[("edgebridge_fetch_bytes_total", topic)] >= m[("edgebridge_produce_bytes_total", topic)]
    assert m[("edgebridge_fetch_requests_total", topic)] >= 1
    hw = sum(m[("edgebridge_partition_high_watermark",
                frozenset({("topic", TOPIC), ("partition", str(p))}))] for p in range(PARTITIONS))
    assert hw == RECORDS
    produce_count = m[("edgebridge_request_duration_seconds_count", frozenset({("api", "Produce")}))]
    assert produce_count >= 1
    assert m[("edgebridge_request_duration_seconds_bucket",
              frozenset({("api", "Produce"), ("le", "+Inf")}))] == produce_count
    assert m[("edgebridge_uplink_state", frozenset({("state", "connected")}))] == 0
    # Every produce request appended, in at least one group commit, each synced (fsync always).
    commits = m[("edgebridge_storage_group_commits_total", frozenset())]
    assert 1 <= commits <= m[("edgebridge_produce_requests_total", topic)]
    assert m[("edgebridge_storage_group_commit_records_total", frozenset())] == RECORDS
    assert m[("edgebridge_storage_sync_duration_seconds_count", frozenset())] >= commits
    assert m[("edgebridge_rocksdb_memtable_bytes", frozenset())] > 0
    assert m[("process_resident_memory_bytes", frozenset())] > 1 << 20
    assert m[("edgebridge_connections", frozenset())] >= 0


def test_backlog_and_confirmed_offset_while_the_uplink_is_down(bridge, traffic):
    # The mirror publishes its status every ~100 ms: wait for it to account for every record.
    s = wait_until("the backlog covers every record",
                   lambda: (lambda s: s if s["backlog_records"] == RECORDS else None)(status(bridge)))
    assert s["uplink"]["configured"] is True
    assert s["uplink"]["state"] in ("connecting", "disconnected")
    (topic,) = [t for t in s["topics"] if t["name"] == TOPIC]
    assert topic["end_offsets"] == RECORDS
    assert topic["backlog_records"] == RECORDS
    assert topic["produce_records"] == RECORDS
    assert topic["eta_s"] is None  # nothing drains: no estimate rather than a wrong one
    rows = [p for p in s["partitions"] if p["topic"] == TOPIC]
    assert sorted(p["partition"] for p in rows) == list(range(PARTITIONS))
    for p in rows:
        assert p["high_watermark"] == RECORDS // PARTITIONS
        assert p["oldest_unmirrored_age_s"] is not None and p["oldest_unmirrored_age_s"] >= 0
    assert s["history"], "the first backlog sample is taken at start"

    code, body = get(bridge.http_url + f"/v1/confirmed?topic={TOPIC}&partition=1&offset=0")
    assert code == 200, body
    c = json.loads(body)
    assert c["in_cloud"] is False and c["stored"] is True
    assert c["high_watermark"] == RECORDS // PARTITIONS
    code, body = get(bridge.http_url + f"/v1/confirmed?topic={TOPIC}&partition=1&offset=999999")
    assert code == 200 and json.loads(body)["stored"] is False
    assert get(bridge.http_url + "/v1/confirmed?topic=nope&partition=0&offset=0")[0] == 404
    assert get(bridge.http_url + f"/v1/confirmed?topic={TOPIC}&partition=x")[0] == 400

    code, text = get(bridge.http_url + "/metrics")
    m = metric_samples(text)
    backlog = sum(m[("edgebridge_partition_backlog_records",
                     frozenset({("topic", TOPIC), ("partition", str(p))}))]
                  for p in range(PARTITIONS))
    assert backlog == RECORDS
    states = [k for k in m if k[0] == "edgebridge_partition_mirror_state" and ("topic", TOPIC) in k[1]]
    assert len(states) == PARTITIONS


def test_metrics_pass_promtool(bridge, traffic):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool missing: scripts/install-deps.sh installs Debian's prometheus")
    _, text = get(bridge.http_url + "/metrics")
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_status_subcommand_prints_the_status(bridge, traffic):
    r = subprocess.run([bridge_bin(), "status", "--url", bridge.http_url], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert TOPIC in [t["name"] for t in s["topics"]]
    r = subprocess.run([bridge_bin(), "status", "--url", f"http://127.0.0.1:{free_port()}"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "cannot reach" in r.stderr


def raw_http(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        chunks = []
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    return b"".join(chunks)


def test_bad_requests_are_refused_and_kafka_keeps_serving(bridge, traffic):
    assert get(bridge.http_url + "/metrics", method="POST")[0] == 405
    assert get(bridge.http_url + "/v1/status", method="DELETE")[0] == 405
    assert get(bridge.http_url + "/no/such/page")[0] == 404
    big = raw_http(bridge.http_port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " +
                   b"a" * 100_000 + b"\r\n\r\n")
    assert big.startswith(b"HTTP/1.1 431"), big[:100]
    body = raw_http(bridge.http_port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                    b"Connection: close\r\n\r\nhello")
    assert body.startswith(b"HTTP/1.1 413"), body[:100]
    garbage = raw_http(bridge.http_port, b"\x00\x01 not http at all\r\n\r\n")
    assert garbage.startswith(b"HTTP/1.1 400") or garbage == b"", garbage[:100]
    # The Kafka listener was not disturbed: one more record is stored and counted.
    produce(bridge.bootstrap, 2)
    _, text = get(bridge.http_url + "/metrics")
    m = metric_samples(text)
    assert m[("edgebridge_produce_records_total", frozenset({("topic", TOPIC)}))] == RECORDS + 2
    assert get(bridge.http_url + "/healthz") == (200, "ok\n")


def test_log_lines_are_json_objects(bridge, traffic):
    lines = [l for l in bridge.log().splitlines() if l.strip()]
    assert lines
    for line in lines:
        obj = json.loads(line)
        assert set(obj) >= {"time", "level", "message"}, obj
    assert any("status page" in json.loads(l)["message"] for l in lines)


def test_status_page_renders_in_headless_chromium(bridge, traffic):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium missing: scripts/install-deps.sh installs Debian's chromium")
    code, html = get(bridge.http_url + "/")
    assert code == 200 and "<script>" in html
    # Everything embedded: the page references nothing outside the gateway.
    assert not re.search(r'(src|href)="(https?:)?//', html)
    artifacts = Path(bridge_bin()).resolve().parents[1] / "test-artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    profile = bridge.workdir / "chromium-profile"
    common = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
              f"--user-data-dir={profile}", "--virtual-time-budget=5000"]
    # The mirror (its cloud unreachable) publishes its backlog a little later than records land,
    # so the page shows a value read between these two.
    backlog_before = status(bridge)["backlog_records"]
    r = subprocess.run(common + ["--dump-dom", bridge.http_url + "/"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    dom = r.stdout
    (artifacts / "status-page.html").write_text(dom)
    # What the page's script rendered from /v1/status, not what the HTML carries.
    assert "Waiting for the first status" not in dom, "the page's script did not render"
    assert f"<td>{TOPIC}</td>" in dom
    backlog_after = status(bridge)["backlog_records"]
    shown = re.search(r'id="backlog"[^>]*>([\d,]+) records<', dom)
    assert shown, dom[:3000]
    assert backlog_before <= int(shown.group(1).replace(",", "")) <= backlog_after
    assert re.search(r'id="uplink"[^>]*>(connecting|disconnected)<', dom), dom[:3000]
    assert "<polyline" in dom
    shot = artifacts / "status-page.png"
    shot.unlink(missing_ok=True)
    r = subprocess.run(common + ["--window-size=1280,1400", f"--screenshot={shot}",
                                 bridge.http_url + "/"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert shot.exists() and shot.stat().st_size > 10_000


def test_http_port_taken_fails_start(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = s.getsockname()[1]
        b = Bridge(tmp_path)
        b.config_path.write_text(b.config_path.read_text().replace(
            f"port: {b.http_port}", f"port: {taken}"))
        r = subprocess.run([bridge_bin(), "--config", str(b.config_path)], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 1
        assert "cannot serve HTTP" in r.stdout + r.stderr
