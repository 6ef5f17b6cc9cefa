"""Exactly once where acks=all takes replication time, and over a slow link, with the edgebridge
binary itself killed (SIGKILL) while records are in flight.

- A 3-broker cloud (scripts/kafka/kafka.sh start-cluster: replication factor 3,
  min.insync.replicas 2), started once for this module (EB_KAFKA_HEAP 256m per broker).
- A cloud broker behind toxiproxy (kafka.sh --advertise-port: clients are sent through the proxy;
  the test reads the cloud through the broker's DIRECT listener), with 50 ms each way and a
  bandwidth cap; the link goes down (proxy disabled) with records in flight, the bridge is killed
  during the outage, restarted, and the link comes back.

Every record is counted end to end in the cloud: each source partition's offsets 0..n-1 appear
exactly once, in order, with the value the producer sent. Kills are synchronised on the cloud's
progress (its end offsets grew, the drain is not over), never on sleeps.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from bridge_process import ROOT, Bridge, free_port

KAFKA = str(ROOT / "scripts/kafka/kafka.sh")
PARTITIONS = 2


def wait_until(cond, timeout: float, what: str, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    state = tmp_path_factory.mktemp("cloud3")
    env = dict(os.environ, EB_KAFKA_HEAP=os.environ.get("EB_KAFKA_HEAP", "256m"))
    out = subprocess.run([KAFKA, "start-cluster", str(state), "3"], check=True,
                         capture_output=True, text=True, timeout=300, env=env)
    try:
        yield out.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([KAFKA, "stop-cluster", str(state)], timeout=180)


def toxiproxy_bin() -> str:
    path = shutil.which("toxiproxy-server") or str(ROOT / ".cache/go-bin/toxiproxy-server")
    assert os.access(path, os.X_OK), "toxiproxy-server missing: run scripts/install-deps.sh"
    return path


class Link:
    """toxiproxy in front of one broker: 50 ms each way, 4 MB/s each way."""

    def __init__(self, workdir: Path):
        self.api_port = free_port()
        self.log = open(workdir / "toxiproxy.log", "ab")
        self.proc = subprocess.Popen(
            [toxiproxy_bin(), "-host", "127.0.0.1", "-port", str(self.api_port)],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_until(lambda: self._ok("GET", "/version"), 30, "toxiproxy's API")
        self.port = free_port()

    def _ok(self, method, path, body=None):
        try:
            self.call(method, path, body)
            return True
        except OSError:
            return False

    def call(self, method, path, body=None):
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.api_port}{path}", method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.read()

    def connect(self, upstream: str):
        self.call("POST", "/proxies", {"name": "cloud", "listen": f"127.0.0.1:{self.port}",
                                       "upstream": upstream, "enabled": True})
        for stream in ("upstream", "downstream"):
            self.call("POST", "/proxies/cloud/toxics",
                      {"type": "latency", "stream": stream, "attributes": {"latency": 50}})
            self.call("POST", "/proxies/cloud/toxics",
                      {"type": "bandwidth", "stream": stream, "attributes": {"rate": 4000}})

    def up(self, on: bool):
        self.call("POST", "/proxies/cloud", {"enabled": on})

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


@pytest.fixture(scope="module")
def slow_cloud(tmp_path_factory):
    """(bootstrap through the proxy, direct bootstrap, link)."""
    work = tmp_path_factory.mktemp("slowcloud")
    link = Link(work)
    state = work / "broker"
    try:
        subprocess.run([KAFKA, "start", str(state), f"--advertise-port={link.port}"],
                       check=True, capture_output=True, text=True, timeout=300)
        try:
            link.connect((state / "bootstrap").read_text().strip())
            yield f"127.0.0.1:{link.port}", (state / "direct").read_text().strip(), link
        finally:
            subprocess.run([KAFKA, "stop", str(state)], timeout=120)
    finally:
        link.close()


def cloud_counts(bootstrap: str, topic: str) -> list[int]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "count", "log_level": 3})
    try:
        out = []
        for p in range(PARTITIONS):
            try:
                out.append(max(c.get_watermark_offsets(TopicPartition(topic, p), timeout=5)[1], 0))
            except Exception:
                out.append(0)
        return out
    finally:
        c.close()


def produce(bridge: Bridge, topic: str, start: int, count: int) -> None:
    """count records per partition, values "p<partition>-<seq>", acks=all (the defaults)."""
    p = Producer({"bootstrap.servers": bridge.bootstrap, "log_level": 3})
    errors = []
    for i in range(start, start + count):
        for part in range(PARTITIONS):
            while True:
                try:
                    p.produce(topic, f"p{part}-{i}".encode() + b"." * 300, partition=part,
                              on_delivery=lambda e, _m: e and errors.append(e))
                    break
                except BufferError:
                    p.poll(0.05)
        p.poll(0)
    assert p.flush(120) == 0
    assert not errors, errors[:3]


def check_exactly_once(bootstrap: str, topic: str, per_partition: int) -> None:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"check-{uuid.uuid4().hex}",
                  "enable.auto.commit": False, "log_level": 3})
    try:
        for part in range(PARTITIONS):
            c.assign([TopicPartition(topic, part, 0)])
            got = []
            deadline = time.monotonic() + 120
            while len(got) < per_partition and time.monotonic() < deadline:
                for m in c.consume(5000, 1.0):
                    if m.error():
                        continue
                    h = dict(m.headers() or [])
                    got.append((int(h["eb.offset"]), m.value().split(b".")[0].decode()))
            # Nothing beyond: no duplicates appended after the last.
            hi = c.get_watermark_offsets(TopicPartition(topic, part), timeout=10)[1]
            assert hi == per_partition, f"partition {part}: {hi} records, {per_partition} sent"
            offsets = [o for o, _ in got]
            assert offsets == list(range(per_partition)), (
                f"partition {part}: not each offset once in order; first bad at "
                f"{next(i for i, o in enumerate(offsets) if o != i) if offsets else 0}")
            assert [v for _, v in got] == [f"p{part}-{i}" for i in range(per_partition)]
    finally:
        c.close()


def bridge_for(tmp_path: Path, bootstrap: str, site: str, mirror_extra: str = "") -> Bridge:
    return Bridge(tmp_path, extra_yaml=f"site_id: {site}\n"
                  f"topics: {{defaults: {{partitions: {PARTITIONS}}}}}\n"
                  f"mirror:\n  bootstrap: {bootstrap}\n" + mirror_extra)


def test_kill9_with_replication_3_is_exactly_once(tmp_path, cluster):
    """Four SIGKILLs of edgebridge while it mirrors into the 3-broker cloud (acks=all waits for
    two replicas), each landing mid-drain; new records are stored between the kills."""
    site = f"k3-{uuid.uuid4().hex[:8]}"
    topic, target = "orders", f"{site}.orders"
    # The cap keeps each drain a few seconds long, so that every kill lands in the middle.
    b = bridge_for(tmp_path, cluster, site, "  bandwidth_bytes_per_sec: 1000000\n").start()
    total, chunk, kills_mid_drain = 0, 6000, 0
    try:
        for _ in range(4):
            produce(b, topic, total, chunk)
            total += chunk
            before = sum(cloud_counts(cluster, target))
            # Mid-drain: the cloud has grown since the produce, and is not done.
            seen = wait_until(lambda: (lambda n: n if n > before else 0)(
                sum(cloud_counts(cluster, target))), 120, "the drain to progress")
            kills_mid_drain += seen < total * PARTITIONS
            b.kill9()
            b.start()
        wait_until(lambda: sum(cloud_counts(cluster, target)) >= total * PARTITIONS, 300,
                   "everything in the cloud", step=0.25)
    finally:
        assert b.stop() == 0, b.log()[-3000:]
    assert kills_mid_drain >= 2, "the kills did not land while records were in flight"
    check_exactly_once(cluster, target, total)


def test_outage_and_kill9_over_a_slow_link_is_exactly_once(tmp_path, slow_cloud):
    """100 ms round trip, 4 MB/s: the link fails with batches in flight, the bridge is killed
    during the outage and restarted, the link comes back; then a kill mid-drain once more."""
    proxied, direct, link = slow_cloud
    site = f"wan-{uuid.uuid4().hex[:8]}"
    topic, target = "telemetry", f"{site}.telemetry"
    b = bridge_for(tmp_path, proxied, site).start()
    total = 20000
    try:
        produce(b, topic, 0, total)  # ~12 MB: about three seconds of link
        before = 0
        wait_until(lambda: sum(cloud_counts(direct, target)) > before, 120, "the drain to begin")
        link.up(False)  # connections cut with requests in flight
        b.kill9()
        b.start()
        produce(b, topic, total, 5000)
        total += 5000
        link.up(True)
        mid = sum(cloud_counts(direct, target))
        wait_until(lambda: sum(cloud_counts(direct, target)) > mid, 120, "the drain to resume")
        b.kill9()
        b.start()
        wait_until(lambda: sum(cloud_counts(direct, target)) >= total * PARTITIONS, 300,
                   "everything in the cloud", step=0.25)
    finally:
        link.up(True)
        assert b.stop() == 0, b.log()[-3000:]
    check_exactly_once(direct, target, total)
