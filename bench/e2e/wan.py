#!/usr/bin/python3
"""WAN scenario: edgebridge's mirror and MirrorMaker 2 draining a backlog over a slow link.

toxiproxy (scripts/install-deps.sh installs it) sits between the edge and the cloud broker, whose
advertised listener is the proxy (kafka.sh --advertise-port); the bench itself reads the cloud
through the broker's DIRECT listener, which bypasses the proxy. Per profile (round trip, bandwidth):

- ceiling: the link's configured bandwidth, checked with a raw TCP transfer through the proxy;
- drain: with edgebridge and MM2 each already mirroring (warm, target topic created), the link
  goes down, the same bytes of 1 KiB records are stored at the edge (edgebridge, resp. an edge
  Kafka that MM2 reads), the link comes up; the time is from the link coming up to the last record
  in the cloud (end offsets polled every 100 ms). 1 and 8 partitions. Median of N runs, min, max;
- live latency: records produced into edgebridge one at a time (every 50 ms) with the link up,
  time from produce() to the cloud consumer (DIRECT listener) seeing it;
- cap: edgebridge with mirror.bandwidth_bytes_per_sec set; achieved = bytes the cloud stored
  (its log segments: batches as they crossed the link, after compression) over the drain time.

Usage: bench/e2e/wan.py --edgebridge BIN [--profiles lte,satellite,fiber] [--runs 3]
                       [--out bench/results/WAN.md] [--data random|text] [--no-mm2]
                       [--eb-extra 'yaml lines for the mirror section']
"""
import argparse
import glob
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
KAFKA_SH = os.path.join(ROOT, "scripts", "kafka", "kafka.sh")
MiB = 1 << 20
MB = 1e6

# name: (round trip ms, bandwidth bytes/s, backlog bytes per drain)
PROFILES = {
    "lte": ("LTE", 100, 12_500_000, 120 * MiB),
    "satellite": ("satellite", 600, 2_500_000, 48 * MiB),
    "fiber": ("fiber VPN", 20, 125_000_000, 200 * MiB),
}

_procs = []


def log(msg):
    print(f"[wan {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def popen(cmd, out, env=None):
    f = open(out, "ab")
    p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         env=env, start_new_session=True)
    _procs.append(p)
    return p


def stop_proc(p, grace=20):
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    if p in _procs:
        _procs.remove(p)


def cleanup():
    for p in list(_procs):
        try:
            stop_proc(p, 5)
        except Exception:
            pass


class Toxiproxy:
    def __init__(self, binary, work):
        self.port = free_port()
        self.api = f"http://127.0.0.1:{self.port}"
        self.proc = popen([binary, "-host", "127.0.0.1", "-port", str(self.port)],
                          os.path.join(work, "toxiproxy.log"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.call("GET", "/version")
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("toxiproxy did not start")

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.api + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            text = r.read()
            return json.loads(text) if text else None

    def create(self, name, listen_port, upstream):
        self.call("POST", "/proxies", {"name": name, "listen": f"127.0.0.1:{listen_port}",
                                       "upstream": upstream, "enabled": True})

    def shape(self, name, rtt_ms, bw):
        """Half the round trip each way, the bandwidth each way."""
        for t in self.call("GET", f"/proxies/{name}/toxics") or []:
            self.call("DELETE", f"/proxies/{name}/toxics/{t['name']}")
        for stream in ("upstream", "downstream"):
            self.call("POST", f"/proxies/{name}/toxics",
                      {"name": f"lat-{stream}", "type": "latency", "stream": stream,
                       "attributes": {"latency": rtt_ms // 2, "jitter": 0}})
            self.call("POST", f"/proxies/{name}/toxics",
                      {"name": f"bw-{stream}", "type": "bandwidth", "stream": stream,
                       "attributes": {"rate": bw // 1000}})

    def enable(self, name, on):
        self.call("POST", f"/proxies/{name}", {"enabled": on})


def raw_tcp_ceiling(tp, nbytes):
    """A raw TCP transfer through a proxy shaped like the link: bytes/s from connect to the last
    byte received."""
    sink = socket.socket()
    sink.bind(("127.0.0.1", 0))
    sink.listen(1)
    got = {}

    def serve():
        c, _ = sink.accept()
        n = 0
        while n < nbytes:
            b = c.recv(1 << 20)
            if not b:
                break
            n += len(b)
        got["t"] = time.monotonic()
        got["n"] = n
        c.close()

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    port = free_port()
    tp.create("raw", port, f"127.0.0.1:{sink.getsockname()[1]}")
    return port, sink, th, got


def admin(bootstrap):
    return AdminClient({"bootstrap.servers": bootstrap, "log_level": 3})


def create_topic(bootstrap, name, partitions):
    a = admin(bootstrap)  # kept alive until the result is in
    a.create_topics([NewTopic(name, partitions, 1)])[name].result(60)


def payloads(kind, n):
    if kind == "random":
        return [os.urandom(1024) for _ in range(n)]
    # Telemetry-like JSON text, padded to 1 KiB: compresses several times.
    out = []
    for i in range(n):
        s = json.dumps({"device": f"sensor-{i % 500}", "seq": i, "t": 1_700_000_000_000 + i,
                        "temp": 20 + (i * 7919) % 1000 / 100, "ok": i % 3 != 0,
                        "readings": [(i * k) % 997 for k in range(60)]})
        out.append((s + " " * 1024)[:1024].encode())
    return out


def fill(bootstrap, topic, partitions, nbytes, data):
    """Stores nbytes of 1 KiB records, spread round robin; returns the count acknowledged."""
    n = nbytes // 1024
    # Random values are drawn per record: a repeating pool would compress within zstd's window
    # once spread over partitions.
    vals = payloads(data, 4096) if data == "text" else None
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.size": 1_000_000,
                  "acks": "all", "compression.type": "none", "queue.buffering.max.kbytes": 262144,
                  "log_level": 3})
    acked = [0]
    errors = []

    def cb(err, _):
        if err:
            errors.append(err)
        else:
            acked[0] += 1

    for i in range(n):
        while True:
            try:
                v = vals[i % len(vals)] if vals else os.urandom(1024)
                p.produce(topic, v, partition=i % partitions, on_delivery=cb)
                break
            except BufferError:
                p.poll(0.05)
        if i % 1000 == 0:
            p.poll(0)
    left = p.flush(300)
    if left or errors:
        raise RuntimeError(f"fill {topic}: {left} unsent, errors {errors[:3]}")
    return acked[0]


class EdgeBridge:
    def __init__(self, binary, dir_, site, cloud_proxy, extra=""):
        self.dir = dir_
        shutil.rmtree(dir_, ignore_errors=True)
        os.makedirs(dir_)
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        cfg = os.path.join(dir_, "edgebridge.yaml")
        with open(cfg, "w") as f:
            f.write(f"""site_id: {site}
log_level: warn
http:
  port: 0
listener:
  host: 127.0.0.1
  port: {self.port}
storage:
  data_dir: {dir_}/data
  fsync: never
mirror:
  bootstrap: "{cloud_proxy}"
{extra}""")
        self.proc = popen([binary, "--config", cfg], os.path.join(dir_, "edgebridge.log"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("edgebridge exited: " + open(
                    os.path.join(dir_, "edgebridge.log")).read()[-800:])
            try:
                admin(self.bootstrap).list_topics(timeout=2)
                return
            except Exception:
                time.sleep(0.2)
        raise RuntimeError("edgebridge did not start")

    def stop(self):
        stop_proc(self.proc)


class Broker:
    def __init__(self, dir_, *opts, heap="512m"):
        self.dir = dir_
        shutil.rmtree(dir_, ignore_errors=True)
        env = dict(os.environ, EB_KAFKA_HEAP=heap)
        out = subprocess.run([KAFKA_SH, "start", dir_, *opts], env=env, check=True,
                             capture_output=True, text=True, timeout=180)
        self.bootstrap = out.stdout.strip().splitlines()[-1]
        direct = os.path.join(dir_, "direct")
        self.direct = open(direct).read().strip() if os.path.exists(direct) else self.bootstrap

    def stop(self):
        subprocess.run([KAFKA_SH, "stop", self.dir], timeout=120)

    def log_bytes(self, topic):
        return sum(os.path.getsize(f)
                   for f in glob.glob(os.path.join(self.dir, "logs", f"{topic}-*", "*.log")))


def mm2_start(work, alias, edge, cloud_proxy, topics, batch):
    path = os.path.join(work, f"mm2-{alias}.properties")
    with open(path, "w") as f:
        f.write(f"""clusters = {alias}, cloud
{alias}.bootstrap.servers = {edge}
cloud.bootstrap.servers = {cloud_proxy}
{alias}->cloud.enabled = true
cloud->{alias}.enabled = false
{alias}->cloud.topics = {topics}
refresh.topics.interval.seconds = 5
# One task: one producer, one connection through the proxy, as edgebridge's one producer has.
# (toxiproxy shapes each connection on its own: eight tasks would get eight links.)
tasks.max = 1
replication.factor = 1
checkpoints.topic.replication.factor = 1
heartbeats.topic.replication.factor = 1
offset-syncs.topic.replication.factor = 1
offset.storage.replication.factor = 1
status.storage.replication.factor = 1
config.storage.replication.factor = 1
sync.topic.acls.enabled = false
# An outage longer than the worker's session timeout makes the worker leave its group (kept in
# the cloud cluster); by default its tasks then wait scheduled.rebalance.max.delay.ms (5 min)
# before they are restarted. 0 restarts them at once, as soon as the link is back.
scheduled.rebalance.max.delay.ms = 0
cloud.scheduled.rebalance.max.delay.ms = 0
emit.heartbeats.enabled = false
emit.checkpoints.enabled = false
# Batches as large as edgebridge's (mirror.batch_bytes), and a consumer fetch not smaller than
# the batches it moves.
cloud.producer.batch.size = {batch}
cloud.producer.max.request.size = {2 * batch}
cloud.producer.buffer.memory = {4 * batch}
cloud.producer.linger.ms = 50
{alias}.consumer.max.partition.fetch.bytes = {batch}
{alias}.consumer.fetch.max.bytes = {4 * batch}
plugin.discovery = service_load
""")
    return popen([KAFKA_SH, "run-class", "org.apache.kafka.connect.mirror.MirrorMaker", path,
                  "--clusters", "cloud"], os.path.join(work, f"mm2-{alias}.log"),
                 dict(os.environ, EB_KAFKA_HEAP="512m"))


class Probe:
    """End offsets from the cloud's DIRECT listener (not through the proxy). A consumer that
    asked about a topic before it existed can keep answering "unknown": a fresh one then."""

    def __init__(self, bootstrap):
        self.bootstrap = bootstrap
        self.c = None

    def count(self, topic, partitions):
        total = 0
        for p in range(partitions):
            if self.c is None:
                self.c = Consumer({"bootstrap.servers": self.bootstrap,
                                   "group.id": "wan-probe", "log_level": 3})
            try:
                _, hi = self.c.get_watermark_offsets(TopicPartition(topic, p), timeout=5)
            except Exception:
                self.c.close()
                self.c = None
                hi = 0
            total += max(hi, 0)
        return total

    def close(self):
        if self.c is not None:
            self.c.close()


def wait_count(probe, topic, partitions, target, deadline_s, t0, base=None):
    """Seconds from t0 until the cloud holds target records (None if not within deadline_s),
    the count then, and the seconds until the first new record (above base) showed."""
    first = None
    while time.monotonic() - t0 < deadline_s:
        n = probe.count(topic, partitions)
        if first is None and base is not None and n > base:
            first = time.monotonic() - t0
        if n >= target:
            return time.monotonic() - t0, n, first
        time.sleep(0.1)
    return None, probe.count(topic, partitions), first


def live_latency(eb, cloud_direct, topic_src, topic_dst, count=200, gap_s=0.05):
    c = Consumer({"bootstrap.servers": cloud_direct, "group.id": f"lat-{time.time()}",
                  "enable.auto.commit": False, "fetch.wait.max.ms": 5, "log_level": 3})
    hi = 0
    try:
        hi = c.get_watermark_offsets(TopicPartition(topic_dst, 0), timeout=10)[1]
    except Exception:
        pass
    c.assign([TopicPartition(topic_dst, 0, max(hi, 0))])
    p = Producer({"bootstrap.servers": eb.bootstrap, "linger.ms": 0, "acks": "all",
                  "log_level": 3})
    sent = {}
    lat = []
    stop = threading.Event()

    def consume():
        while not stop.is_set():
            m = c.poll(0.05)
            if m is None or m.error():
                continue
            k = m.key().decode() if m.key() else None
            if k in sent:
                lat.append((time.monotonic() - sent[k]) * 1000)

    th = threading.Thread(target=consume, daemon=True)
    th.start()
    # Warm-up (not measured): the cloud topic is created by the first record.
    warm = f"warm-{time.time()}"
    sent[warm] = time.monotonic()
    p.produce(topic_src, b"w", key=warm.encode())
    p.flush(30)
    deadline = time.monotonic() + 60
    while not lat and time.monotonic() < deadline:
        time.sleep(0.05)
    lat.clear()
    for i in range(count):
        k = f"live-{i}-{time.time()}"
        sent[k] = time.monotonic()
        p.produce(topic_src, b"x" * 200, key=k.encode())
        p.poll(0)
        time.sleep(gap_s)
    p.flush(30)
    deadline = time.monotonic() + 30
    while len(lat) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    th.join()
    c.close()
    lat.sort()
    if not lat:
        return None
    return dict(n=len(lat), of=count, p50=lat[len(lat) // 2],
                p99=lat[min(len(lat) - 1, int(len(lat) * 0.99))])


def med(xs):
    xs = [x for x in xs if x is not None]
    return (statistics.median(xs), min(xs), max(xs)) if xs else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgebridge", required=True)
    ap.add_argument("--profiles", default="lte,satellite,fiber")
    ap.add_argument("--partitions", default="1,8")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data", default="random", choices=["random", "text"])
    ap.add_argument("--no-mm2", action="store_true")
    ap.add_argument("--eb-extra", default="")
    ap.add_argument("--mm2-batch", type=int, default=16 * MiB)
    ap.add_argument("--scale", type=float, default=1.0, help="backlog size factor")
    ap.add_argument("--cap", type=float, default=0.4,
                    help="cap row: bandwidth_bytes_per_sec as a fraction of the LTE link")
    ap.add_argument("--work", default=os.path.join(ROOT, ".cache", "wan-work"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "WAN.json"))
    ap.add_argument("--render", help="print the markdown of a results JSON and exit")
    ap.add_argument("--update-md", help="replace (or append) the WAN section of this markdown "
                    "file with the results (bench/results/LATEST.md)")
    a = ap.parse_args()
    if a.render:
        text = render(json.load(open(a.render)))
        if a.update_md:
            update_md(a.update_md, text)
        print(text)
        return
    toxi = shutil.which("toxiproxy-server") or os.path.join(ROOT, ".cache", "go-bin",
                                                             "toxiproxy-server")
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    parts = [int(x) for x in a.partitions.split(",")]
    results = dict(meta=dict(date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                             load_start=os.getloadavg(), data=a.data, runs=a.runs,
                             eb_extra=a.eb_extra, mm2_batch=a.mm2_batch,
                             commit=subprocess.run(["git", "-C", ROOT, "rev-parse", "--short",
                                                    "HEAD"], capture_output=True,
                                                   text=True).stdout.strip()),
                   profiles={})
    tp = Toxiproxy(toxi, a.work)
    cloud_port = free_port()
    # Batches up to 32 MiB: edgebridge creates its topics with its own limit; MM2's follow the
    # broker's.
    cloud = Broker(os.path.join(a.work, "cloud"), f"--advertise-port={cloud_port}",
                   "--message-max-bytes=33554432", heap="1g")
    tp.create("cloud", cloud_port, cloud.bootstrap)
    proxy = f"127.0.0.1:{cloud_port}"
    edge = None if a.no_mm2 else Broker(os.path.join(a.work, "edge"), heap="512m")
    probe = Probe(cloud.direct)
    ebs, mm2s = {}, {}
    try:
        # Long-lived mirrors: each drain is one outage of theirs.
        for P in parts:
            ebs[P] = EdgeBridge(a.edgebridge, os.path.join(a.work, f"eb{P}"), f"eb{P}", proxy,
                                a.eb_extra)
            create_topic(ebs[P].bootstrap, f"backlog{P}", P)
            if edge:
                create_topic(edge.bootstrap, f"backlog{P}", P)
                mm2s[P] = mm2_start(a.work, f"mm{P}", edge.bootstrap, proxy, f"backlog{P}",
                                    a.mm2_batch)
        tp.shape("cloud", 20, 125_000_000)
        # Warm: one round of records through each, link up.
        base = {}
        for P in parts:
            for kind, src in (("eb", ebs[P].bootstrap), ("mm2", edge.bootstrap if edge else None)):
                if src is None:
                    continue
                dst = f"eb{P}.backlog{P}" if kind == "eb" else f"mm{P}.backlog{P}"
                fill(src, f"backlog{P}", P, P * 1024, a.data)
                t, n, _ = wait_count(probe, dst, P, P, 180, time.monotonic())
                if t is None:
                    raise RuntimeError(f"{kind} {P}: warm-up record not mirrored")
                base[(kind, P)] = n
        log("mirrors warm")
        for name in a.profiles.split(","):
            label, rtt, bw, backlog = PROFILES[name]
            backlog = int(backlog * a.scale)
            tp.shape("cloud", rtt, bw)
            pr = results["profiles"][name] = dict(label=label, rtt_ms=rtt, bw=bw,
                                                  backlog=backlog, drains={})
            # Ceiling: raw TCP through an identically shaped proxy.
            n_raw = min(backlog, max(4 * MiB, bw * 4))
            port, sink, th, got = raw_tcp_ceiling(tp, n_raw)
            tp.shape("raw", rtt, bw)
            s = socket.create_connection(("127.0.0.1", port))
            t0 = time.monotonic()
            chunk = os.urandom(1 << 16)
            sent = 0
            while sent < n_raw:
                s.sendall(chunk[:min(len(chunk), n_raw - sent)])
                sent += min(len(chunk), n_raw - sent)
            th.join(600)
            s.close()
            sink.close()
            tp.call("DELETE", "/proxies/raw")
            pr["raw_tcp"] = got["n"] / (got["t"] - t0) if got.get("t") else None
            log(f"{label}: raw TCP {pr['raw_tcp'] / MB:.2f} MB/s (link {bw / MB:.2f})")
            for P in parts:
                for kind in ("eb", "mm2"):
                    if kind == "mm2" and not edge:
                        continue
                    src = ebs[P].bootstrap if kind == "eb" else edge.bootstrap
                    dst = f"eb{P}.backlog{P}" if kind == "eb" else f"mm{P}.backlog{P}"
                    times, steady = [], []
                    for r in range(a.runs):
                        tp.enable("cloud", False)
                        stored = fill(src, f"backlog{P}", P, backlog, a.data)
                        target = base[(kind, P)] + stored
                        time.sleep(1)  # what a mirror does with the link down is not timed
                        tp.enable("cloud", True)
                        t0 = time.monotonic()
                        t, n, first = wait_count(probe, dst, P, target, 60 + 4 * backlog / bw, t0,
                                                 base[(kind, P)])
                        base[(kind, P)] = n
                        rate = stored * 1024 / t if t else None
                        srate = stored * 1024 / (t - first) if t and first and t > first else None
                        log(f"{label} {kind} P={P} run {r}: {t} s (first after {first} s), "
                            f"{(rate or 0) / MB:.2f} MB/s, first->last {(srate or 0) / MB:.2f}")
                        times.append(rate)
                        steady.append(srate)
                        if t is None:
                            # Catch up before the next run, untimed.
                            t, n, _ = wait_count(probe, dst, P, target, 300, time.monotonic())
                            base[(kind, P)] = n
                    pr["drains"][f"{kind}{P}"] = dict(rates=times, steady=steady,
                                                      stored_bytes=stored * 1024)
            if "eb1" in ebs or 1 in ebs:
                pr["live"] = live_latency(ebs[parts[0]], cloud.direct, f"live{name}",
                                          f"eb{parts[0]}.live{name}")
                log(f"{label}: live {pr['live']}")
            with open(a.out, "w") as f:
                json.dump(results, f, indent=1)
        # Cap row on LTE: a separate edgebridge with the cap.
        if "lte" in a.profiles.split(","):
            label, rtt, bw, backlog = PROFILES["lte"]
            backlog = int(backlog * a.scale / 2)
            tp.shape("cloud", rtt, bw)
            cap = int(bw * a.cap)
            extra = a.eb_extra + f"  bandwidth_bytes_per_sec: {cap}\n"
            capeb = EdgeBridge(a.edgebridge, os.path.join(a.work, "ebcap"), "ebcap", proxy, extra)
            create_topic(capeb.bootstrap, "capped", 1)
            fill(capeb.bootstrap, "capped", 1, 1024, a.data)
            t, n0, _ = wait_count(probe, "ebcap.capped", 1, 1, 120, time.monotonic())
            bytes0 = cloud.log_bytes("ebcap.capped")
            tp.enable("cloud", False)
            stored = fill(capeb.bootstrap, "capped", 1, backlog, a.data)
            tp.enable("cloud", True)
            t0 = time.monotonic()
            t, n, _ = wait_count(probe, "ebcap.capped", 1, n0 + stored, 600, t0)
            wire = cloud.log_bytes("ebcap.capped") - bytes0
            results["cap"] = dict(profile="lte", cap=cap, seconds=t, payload=stored * 1024,
                                  link_bytes=wire, achieved=wire / t if t else None,
                                  payload_rate=stored * 1024 / t if t else None)
            log(f"cap: {results['cap']}")
            capeb.stop()
    finally:
        results["meta"]["load_end"] = os.getloadavg()
        with open(a.out, "w") as f:
            json.dump(results, f, indent=1)
        for e in ebs.values():
            e.stop()
        for m in mm2s.values():
            stop_proc(m)
        probe.close()
        cloud.stop()
        if edge:
            edge.stop()
        cleanup()
    log(f"wrote {a.out}")
    if a.update_md:
        update_md(a.update_md, render(results))


def valid(rates, bw):
    """Runs faster than 3x the link are not drains: MM2 is at-least-once, and the records it
    delivered again after an outage can reach the target count before the new backlog is
    across. Such runs are left out (and counted in the cell)."""
    return [r for r in (rates or []) if r is not None and r <= 3 * bw]


def fmt_cell(rates, bw):
    ok = valid(rates, bw)
    m = med(ok)
    if not m:
        return "n/a"
    left = len([r for r in (rates or []) if r is not None]) - len(ok)
    note = f", {left} run(s) left out" if left else ""
    return f"{m[0] / MB:.2f} ({m[1] / MB:.2f}–{m[2] / MB:.2f}{note})"


def render(res):
    """The WAN section of bench/results/LATEST.md."""
    out = []
    w = out.append
    meta = res["meta"]
    w("## 7. WAN drain over toxiproxy (`bench/e2e/wan.py`)")
    w("")
    w(f"- date: {meta['date']}, commit {meta['commit']}, load average at start "
      f"{' '.join(f'{x:.2f}' for x in meta['load_start'])}, at end "
      f"{' '.join(f'{x:.2f}' for x in meta.get('load_end', []))} (2 cores shared with "
      f"teammates' builds: noisy)")
    w(f"- data: 1 KiB records, {meta['data']} values (random: incompressible, so compression "
      f"cannot help and the rate is the transport's); edgebridge with its defaults "
      f"(zstd, 4 MiB batches, up to five requests in flight per partition, 64 MiB in flight){', extra: ' + repr(meta['eb_extra']) if meta['eb_extra'] else ''}; "
      f"MM2 with {meta['mm2_batch'] // MiB} MiB producer batches, consumer fetches of the same "
      f"size, one task (one connection: toxiproxy shapes each connection on its own)")
    w(f"- each cell: median (min–max) of {meta['runs']} runs, MB/s (10^6 bytes) of record "
      f"payload, from the link coming up to the last record in the cloud; both mirrors were "
      f"running and warm, the backlog was stored while the link was down")
    w("- records are counted by the cloud's end offsets: MM2 is at-least-once, so records it "
      "delivers again after an outage count too and its rate is, if anything, overstated; a run "
      "faster than 3x the link is such a case and is left out")
    w("- toxiproxy shapes each connection on its own: both mirrors use one producer connection "
      "(MM2 one task); the 8-partition rows share that one connection")
    w("- ceiling = max(link bandwidth, raw TCP through the proxy, fastest client seen): an "
      "upper bound. ratio = drain / ceiling; eb/MM2 = edgebridge's median / MM2's median with "
      "the same partition count")
    w("")
    w("| profile | RTT | link | raw TCP | backlog | eb 1 part. | eb 8 part. | MM2 1 part. | "
      "MM2 8 part. | ceiling | eb1/ceiling | eb8/ceiling | eb1/MM2 | eb8/MM2 | eb1 first→last | "
      "live p50 / p99 ms |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    goals = []
    for name, pr in res["profiles"].items():
        d = pr["drains"]
        meds = {k: (med(valid(v["rates"], pr["bw"])) or (None,))[0] for k, v in d.items()}
        ceiling = max([pr["bw"], pr.get("raw_tcp") or 0] + [v for v in meds.values() if v])

        def r(a, b):
            return f"{a / b:.2f}" if a and b else "n/a"

        live = pr.get("live")
        lv = f"{live['p50']:.0f} / {live['p99']:.0f}" if live else "n/a"
        steady = med((d.get("eb1") or {}).get("steady") or [])
        first_last = f"{steady[0] / MB:.2f}" if steady else "n/a"
        w(f"| {pr['label']} | {pr['rtt_ms']} ms | {pr['bw'] / MB:.1f} MB/s | "
          f"{(pr.get('raw_tcp') or 0) / MB:.2f} | {pr['backlog'] / MiB:.0f} MiB | "
          f"{fmt_cell((d.get('eb1') or {}).get('rates'), pr['bw'])} | "
          f"{fmt_cell((d.get('eb8') or {}).get('rates'), pr['bw'])} | "
          f"{fmt_cell((d.get('mm21') or {}).get('rates'), pr['bw'])} | "
          f"{fmt_cell((d.get('mm28') or {}).get('rates'), pr['bw'])} | {ceiling / MB:.2f} | "
          f"{r(meds.get('eb1'), ceiling)} | {r(meds.get('eb8'), ceiling)} | "
          f"{r(meds.get('eb1'), meds.get('mm21'))} | {r(meds.get('eb8'), meds.get('mm28'))} | "
          f"{first_last} | {lv} |")
        if name in ("lte", "satellite") and meds.get("eb1"):
            goals.append((f"{pr['label']}: 1-partition drain vs link bandwidth",
                          f"{meds['eb1'] / MB:.2f} vs {pr['bw'] / MB:.2f} MB/s = "
                          f"{meds['eb1'] / pr['bw']:.0%}", ">= 90%", meds["eb1"] >= 0.9 * pr["bw"]))
        for P in (1, 8):
            e, m = meds.get(f"eb{P}"), meds.get(f"mm2{P}")
            if e and m:
                goals.append((f"{pr['label']}: drain vs MM2, {P} partition(s)",
                              f"{e / MB:.2f} vs {m / MB:.2f} MB/s = {e / m:.2f}x", ">= 1x",
                              e >= m))
        if live:
            bound = 50 + 2 * pr["rtt_ms"]
            goals.append((f"{pr['label']}: live p99 within linger + 2 RTT",
                          f"{live['p99']:.0f} ms ({live['n']}/{live['of']} records)",
                          f"<= {bound} ms", live["p99"] <= bound))
    cap = res.get("cap")
    if cap and cap.get("achieved"):
        w("")
        w(f"Cap row (LTE, one partition, `mirror.bandwidth_bytes_per_sec: {cap['cap']}`): "
          f"{cap['link_bytes'] / MB:.1f} MB crossed the link (the cloud's log segments: batches "
          f"as sent, after compression, with framing and provenance headers) in "
          f"{cap['seconds']:.1f} s = {cap['achieved'] / MB:.2f} MB/s achieved vs "
          f"{cap['cap'] / MB:.2f} MB/s cap ({cap['achieved'] / cap['cap']:.0%}); record payload "
          f"{cap['payload_rate'] / MB:.2f} MB/s.")
        goals.append(("cap: achieved link rate vs mirror.bandwidth_bytes_per_sec",
                      f"{cap['achieved'] / MB:.2f} vs {cap['cap'] / MB:.2f} MB/s",
                      "<= cap", cap["achieved"] <= cap["cap"] * 1.05))
    w("")
    w("| WAN goal | measured | target | met |")
    w("|---|---|---|---|")
    for g in goals:
        w(f"| {g[0]} | {g[1]} | {g[2]} | {'yes' if g[3] else 'no'} |")
    w("")
    return "\n".join(out)


def update_md(path, section):
    text = open(path).read() if os.path.exists(path) else ""
    head = "## 7. WAN drain over toxiproxy"
    if head in text:
        start = text.index(head)
        nxt = text.find("\n## ", start + len(head))
        text = text[:start] + section + ("\n" + text[nxt + 1:] if nxt >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(path, "w") as f:
        f.write(text.rstrip("\n") + "\n")


if __name__ == "__main__":
    try:
        main()
    finally:
        cleanup()
