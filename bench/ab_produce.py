#!/usr/bin/env python3
"""A/B produce throughput of two edgebridge binaries, run alternately on this machine.

For a change that must keep produce figures "within noise": each round starts binary A, then B,
on a fresh data dir, and runs Kafka's ProducerPerformance (1 producer, acks=all, fsync=always, the
records of --size bytes) against it; the medians and ranges of the rounds are printed as a
markdown table. Alternating puts A and B under the same background load.

    bench/ab_produce.py --a OLD_BINARY --b NEW_BINARY [--rounds 5] [--records 200000] [--size 1024]
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


def one_run(binary, records, size):
    """records/s of one ProducerPerformance run against a fresh edgebridge."""
    data = tempfile.mkdtemp(prefix="eb-ab-")
    port = free_port()
    bridge = subprocess.Popen([binary, "--data-dir", data, "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port)
        out = subprocess.run(
            [KAFKA_SH, "run-class", "org.apache.kafka.tools.ProducerPerformance", "--topic", "ab",
             "--num-records", str(records), "--record-size", str(size), "--throughput", "-1",
             "--producer-props", f"bootstrap.servers=127.0.0.1:{port}", "acks=all"],
            capture_output=True, text=True, timeout=600, env=dict(os.environ, EB_KAFKA_HEAP="256m"))
        m = re.search(r"records sent, ([\d.]+) records/sec", out.stdout.strip().splitlines()[-1])
        if not m:
            raise RuntimeError("ProducerPerformance printed no summary:\n" + out.stdout + out.stderr)
        return float(m.group(1))
    finally:
        bridge.terminate()
        bridge.wait(timeout=60)
        shutil.rmtree(data, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--a", required=True, help="binary A (before)")
    ap.add_argument("--b", required=True, help="binary B (after)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--size", type=int, default=1024)
    args = ap.parse_args()
    rates = {"A": [], "B": []}
    for r in range(args.rounds):
        for name, binary in (("A", args.a), ("B", args.b)):
            rates[name].append(one_run(binary, args.records, args.size))
            print(f"round {r + 1} {name}: {rates[name][-1]:.0f} rec/s", file=sys.stderr)
    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"| binary | median rec/s | min | max | runs |\n|---|---|---|---|---|")
    for name, binary in (("A", args.a), ("B", args.b)):
        v = rates[name]
        print(f"| {name} {binary} | {med[name]:.0f} | {min(v):.0f} | {max(v):.0f} | {len(v)} |")
    print(f"\nB/A = {med['B'] / med['A']:.3f} ({args.size} B records, acks=all, 1 producer, "
          f"fsync=always)")


if __name__ == "__main__":
    main()
