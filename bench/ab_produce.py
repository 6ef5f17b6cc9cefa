#!/usr/bin/env python3
"""A/B produce throughput of two edgebridge binaries, run alternately on this machine.

For a change that must keep produce figures "within noise": each round starts binary A, then B,
on a fresh data dir, and runs Kafka's ProducerPerformance (1 producer, acks=all, fsync=always, the
records of --size bytes) against it; the medians and ranges of the rounds are printed as a
markdown table. Alternating puts A and B under the same background load.

    bench/ab_produce.py --a OLD_BINARY --b NEW_BINARY [--rounds 5] [--records 200000] [--size 1024]
                        [--prop compression.type=zstd ...] [--kafka]

--prop passes producer properties (e.g. a codec: produce validation inflates every compressed
batch); --kafka adds a real Apache Kafka broker (its defaults, fresh per round) as a third column,
the reference for "not slower than Kafka's default".
"""
import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KAFKA_SH = os.path.join(ROOT, "scripts", "kafka", "kafka.sh")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, deadline_s=30):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"edgebridge did not listen on {port} within {deadline_s} s")


def producer_performance(bootstrap, records, size, props):
    out = subprocess.run(
        [KAFKA_SH, "run-class", "org.apache.kafka.tools.ProducerPerformance", "--topic", "ab",
         "--num-records", str(records), "--record-size", str(size), "--throughput", "-1",
         "--producer-props", f"bootstrap.servers={bootstrap}", "acks=all"] + props,
        capture_output=True, text=True, timeout=600, env=dict(os.environ, EB_KAFKA_HEAP="256m"))
    lines = out.stdout.strip().splitlines()
    m = re.search(r"records sent, ([\d.]+) records/sec", lines[-1] if lines else "")
    if not m:
        raise RuntimeError("ProducerPerformance printed no summary:\n" + out.stdout + out.stderr)
    return float(m.group(1))


def one_run(binary, records, size, props):
    """records/s of one ProducerPerformance run against a fresh edgebridge."""
    data = tempfile.mkdtemp(prefix="eb-ab-")
    port = free_port()
    bridge = subprocess.Popen([binary, "--data-dir", data, "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port)
        return producer_performance(f"127.0.0.1:{port}", records, size, props)
    finally:
        bridge.terminate()
        bridge.wait(timeout=60)
        shutil.rmtree(data, ignore_errors=True)


def kafka_run(records, size, props):
    """records/s against a fresh single-node Apache Kafka with its defaults."""
    data = tempfile.mkdtemp(prefix="eb-ab-kafka-")
    try:
        bootstrap = subprocess.run([KAFKA_SH, "start", data], capture_output=True, text=True,
                                   check=True, timeout=180).stdout.strip().splitlines()[-1]
        return producer_performance(bootstrap, records, size, props)
    finally:
        subprocess.run([KAFKA_SH, "stop", data], capture_output=True, timeout=120)
        shutil.rmtree(data, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--a", required=True, help="binary A (before)")
    ap.add_argument("--b", required=True, help="binary B (after)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--prop", action="append", default=[], help="producer property k=v")
    ap.add_argument("--kafka", action="store_true", help="also measure Apache Kafka")
    args = ap.parse_args()
    runs = [("A", args.a), ("B", args.b)] + ([("Kafka", None)] if args.kafka else [])
    rates = {name: [] for name, _ in runs}
    for r in range(args.rounds):
        for name, binary in runs:
            rate = (one_run(binary, args.records, args.size, args.prop) if binary else
                    kafka_run(args.records, args.size, args.prop))
            rates[name].append(rate)
            print(f"round {r + 1} {name}: {rate:.0f} rec/s", file=sys.stderr)
    med = {k: statistics.median(v) for k, v in rates.items()}
    print("| server | median rec/s | min | max | runs |\n|---|---|---|---|---|")
    for name, binary in runs:
        v = rates[name]
        print(f"| {name} {binary or 'Apache Kafka (defaults)'} | {med[name]:.0f} | {min(v):.0f} "
              f"| {max(v):.0f} | {len(v)} |")
    what = f"{args.size} B records, acks=all, 1 producer, fsync=always, {' '.join(args.prop)}"
    print(f"\nB/A = {med['B'] / med['A']:.3f}" +
          (f", B/Kafka = {med['B'] / med['Kafka']:.3f}" if args.kafka else "") + f" ({what})")


if __name__ == "__main__":
    main()
