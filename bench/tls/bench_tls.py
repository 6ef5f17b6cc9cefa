#!/usr/bin/env python3
"""TLS benchmark: 1 KiB acks=all produce over TLS against plaintext on edgebridge, and against Apache
Kafka over TLS on the same machine; the memory each TLS connection costs edgebridge.

  bench/tls/bench_tls.py [--edgebridge PATH] [--records N] [--reps R] [--out FILE]

Both servers are mTLS (client certificate required, certificates from scripts/dev-certs.sh), the
client is Kafka's ProducerPerformance (one JVM, acks=all, its default batching) in every case, so
the only difference between rows is the server and the transport. edgebridge runs with
storage.fsync never, the durability Kafka's defaults give (page cache); an fsync=always TLS row is
added for reference. Each configuration runs R times, alternating, and the median is reported: the
machine is shared, single runs are noisy. Memory: RSS of edgebridge before and after opening N
connections (each handshaken and answered one ApiVersions), divided by N, for TLS and plaintext.
Everything on 127.0.0.1, every load bounded by count and a timeout. Standard library only.
"""
import argparse
import json
import os
import re
import shutil
import socket
import ssl
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
KAFKA_SH = os.path.join(ROOT, "scripts", "kafka", "kafka.sh")
PASS = "edgebridge-dev"
SUMMARY_RE = re.compile(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), "
                        r"([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, "
                        r"(\d+) ms 95th, (\d+) ms 99th")


def log(msg):
    print(f"[tls-bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing on port {port}")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def produce(bootstrap, topic, records, client_props, timeout=180):
    cmd = [KAFKA_SH, "run-class", "org.apache.kafka.tools.ProducerPerformance", "--topic", topic,
           "--num-records", str(records), "--record-size", "1024", "--throughput", "-1",
           "--producer-props", f"bootstrap.servers={bootstrap}", "acks=all"]
    if client_props:
        cmd += ["--producer.config", client_props]
    env = dict(os.environ, EB_KAFKA_HEAP="256m")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    m = None
    for m in SUMMARY_RE.finditer(out.stdout):
        pass
    if not m or int(m.group(1)) != records:
        raise RuntimeError(f"ProducerPerformance failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return dict(rps=float(m.group(2)), mibps=float(m.group(3)), p50=int(m.group(6)),
                p99=int(m.group(8)))


def api_versions_frame(corr):
    body = struct.pack(">hhi", 18, 0, corr) + struct.pack(">h", 5) + b"bench"
    return struct.pack(">i", len(body)) + body


def read_frame(sock):
    def exact(n):
        b = b""
        while len(b) < n:
            chunk = sock.recv(n - len(b))
            if not chunk:
                raise RuntimeError("closed")
            b += chunk
        return b
    size = struct.unpack(">i", exact(4))[0]
    return exact(size)


def memory_per_connection(pid, port, n, tls_ctx):
    """KiB of RSS per open connection (handshaken, one ApiVersions answered)."""
    time.sleep(1.0)
    before = rss_kib(pid)
    socks = []
    try:
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            if tls_ctx:
                s = tls_ctx.wrap_socket(s, server_hostname="localhost")
            s.sendall(api_versions_frame(i))
            read_frame(s)
            socks.append(s)
        time.sleep(1.0)
        after = rss_kib(pid)
    finally:
        for s in socks:
            s.close()
    return (after - before) / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--edgebridge", default=os.path.join(ROOT, "build", "bridge", "edgebridge"))
    ap.add_argument("--records", type=int, default=300_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--connections", type=int, default=200)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "TLS.md"))
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="eb-tls-bench-")
    certs = os.path.join(work, "certs")
    subprocess.run([os.path.join(ROOT, "scripts", "dev-certs.sh"), certs], check=True,
                   capture_output=True)
    client_props = os.path.join(work, "client-ssl.properties")
    with open(client_props, "w") as f:
        f.write(f"security.protocol=SSL\nssl.truststore.type=PKCS12\n"
                f"ssl.truststore.location={certs}/truststore.p12\nssl.truststore.password={PASS}\n"
                f"ssl.keystore.type=PKCS12\nssl.keystore.location={certs}/client.p12\n"
                f"ssl.keystore.password={PASS}\nssl.key.password={PASS}\n")

    procs = []
    kafka_dir = os.path.join(work, "kafka")
    try:
        # edgebridge: one process, a plaintext and an mTLS listener.
        eb = {}
        for fsync in ("never", "always"):
            d = os.path.join(work, f"eb-{fsync}")
            os.makedirs(d)
            plain, tls, http = free_port(), free_port(), free_port()
            cfg = os.path.join(d, "eb.yaml")
            with open(cfg, "w") as f:
                f.write(f"""listeners:
  - {{name: local, host: 127.0.0.1, port: {plain}}}
  - name: tls
    host: 127.0.0.1
    port: {tls}
    security_protocol: SSL
    tls: {{cert: {certs}/server.crt, key: {certs}/server.key, client_ca: {certs}/ca.crt,
           client_auth: required}}
http: {{host: 127.0.0.1, port: {http}}}
storage: {{data_dir: {d}/data, fsync: {fsync}}}
topics: {{defaults: {{partitions: 1}}}}
""")
            p = subprocess.Popen([args.edgebridge, "--config", cfg], stdout=open(f"{d}/log", "w"),
                                 stderr=subprocess.STDOUT)
            procs.append(p)
            wait_port(tls)
            eb[fsync] = dict(proc=p, plain=plain, tls=tls)
        log("starting Kafka (mTLS listener)")
        out = subprocess.run([KAFKA_SH, "start", kafka_dir, "--security=ssl", f"--certs={certs}"],
                             check=True, capture_output=True, text=True, timeout=300)
        k_tls = out.stdout.strip().splitlines()[-1]
        k_plain = open(os.path.join(kafka_dir, "plaintext_bootstrap")).read().strip()

        configs = [
            ("edgebridge plaintext", f"127.0.0.1:{eb['never']['plain']}", None),
            ("edgebridge TLS", f"127.0.0.1:{eb['never']['tls']}", client_props),
            ("Kafka plaintext", k_plain, None),
            ("Kafka TLS", k_tls, client_props),
            ("edgebridge TLS, fsync=always", f"127.0.0.1:{eb['always']['tls']}", client_props),
        ]
        runs = {name: [] for name, _, _ in configs}
        for rep in range(args.reps):
            for name, bootstrap, props in configs:
                topic = f"bench-{rep}-{name.split()[0].lower()}-{len(runs[name])}-{int(time.time())}"
                topic = re.sub(r"[^a-zA-Z0-9._-]", "-", topic)
                r = produce(bootstrap, topic, args.records, props)
                runs[name].append(r)
                log(f"{name} rep {rep}: {r['mibps']:.1f} MiB/s, p99 {r['p99']} ms")

        ctx = ssl.create_default_context(cafile=f"{certs}/ca.crt")
        ctx.load_cert_chain(f"{certs}/client.crt", f"{certs}/client.key")
        pid = eb["never"]["proc"].pid
        mem_tls = memory_per_connection(pid, eb["never"]["tls"], args.connections, ctx)
        mem_plain = memory_per_connection(pid, eb["never"]["plain"], args.connections, None)
        log(f"memory per connection: TLS {mem_tls:.1f} KiB, plaintext {mem_plain:.1f} KiB")
    finally:
        for p in procs:
            p.terminate()
            p.wait(60)
        subprocess.run([KAFKA_SH, "stop", kafka_dir], timeout=120)
        shutil.rmtree(work, ignore_errors=True)

    med = {n: statistics.median(r["mibps"] for r in rs) for n, rs in runs.items()}
    lines = [
        "# TLS produce benchmark",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores (shared with"
        " other work: noisy, medians of alternating runs), commit "
        + subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip() + ".",
        "",
        f"ProducerPerformance, one JVM, {args.records} records of 1 KiB, acks=all, default "
        f"batching; {args.reps} runs per row, alternating; both servers mTLS (TLS 1.3, client "
        "certificate required). edgebridge fsync=never unless noted (Kafka's default durability).",
        "",
        "| server | MiB/s median | runs (MiB/s) | p99 ms median |",
        "|---|---|---|---|",
    ]
    for name, rs in runs.items():
        lines.append(f"| {name} | {med[name]:.1f} | "
                     + ", ".join(f"{r['mibps']:.1f}" for r in rs)
                     + f" | {statistics.median(r['p99'] for r in rs):.0f} |")
    lines += [
        "",
        f"- edgebridge TLS / plaintext: {med['edgebridge TLS'] / med['edgebridge plaintext']:.2f}x"
        " (goal >= 0.8x)",
        f"- edgebridge TLS / Kafka TLS: {med['edgebridge TLS'] / med['Kafka TLS']:.2f}x (goal >= 1x)",
        f"- memory per open connection ({args.connections} idle after one ApiVersions): TLS "
        f"{mem_tls:.1f} KiB, plaintext {mem_plain:.1f} KiB (RSS delta / connections)",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    with open(args.out, "w") as f:
        f.write(text)
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump(dict(runs=runs, median_mibps=med, mem_tls_kib=mem_tls,
                       mem_plain_kib=mem_plain), f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
