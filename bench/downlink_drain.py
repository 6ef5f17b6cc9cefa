#!/usr/bin/env python3
"""Downlink drain: how fast edgebridge copies a cloud backlog into a local topic, and its RSS.

Produces --records records of --size bytes into a fresh cloud topic ({site}.commands, --partitions
partitions) on the broker at --cloud, starts the edgebridge binary with a downlink for it, and
times from the start until every partition's stored cursor equals the cloud high watermark
(/v1/status polled every 50 ms). Prints records/s, MB/s (value bytes) and the process RSS then.

    bench/downlink_drain.py --cloud 127.0.0.1:9092 [--records 200000] [--size 200]
                            [--partitions 3] [--bin build/bridge/edgebridge] [--fsync always]
"""
import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests/integration"))

import os  # noqa: E402

from bridge_process import Bridge  # noqa: E402
from test_downlink import caught_up, cloud_produce, create_topic, downlink_yaml  # noqa: E402
from test_observability import status  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cloud", required=True)
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--size", type=int, default=200)
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--bin", default=str(ROOT / "build/bridge/edgebridge"))
    ap.add_argument("--fsync", default="always")
    a = ap.parse_args()
    os.environ["EB_BRIDGE_BIN"] = a.bin
    site = f"bench-{uuid.uuid4().hex[:8]}"
    topic = f"{site}.commands"
    create_topic(a.cloud, topic, a.partitions)
    cloud_produce(a.cloud, topic, a.partitions, 0, a.records, size=a.size)
    with tempfile.TemporaryDirectory() as d:
        b = Bridge(Path(d), extra_yaml=f"site_id: {site}\n" +
                   downlink_yaml([("{site}.commands", "commands")], cloud=a.cloud))
        b.config_path.write_text(b.config_path.read_text().replace(
            f"storage: {{data_dir: {b.data_dir}}}",
            f"storage: {{data_dir: {b.data_dir}, fsync: {a.fsync}}}"))
        t0 = time.monotonic()
        b.start()
        try:
            while not caught_up(b, topic, a.records):
                time.sleep(0.05)
            took = time.monotonic() - t0
            rss = status(b)["process"]["rss_bytes"]
        finally:
            b.stop()
    print(f"| {a.records} x {a.size} B, {a.partitions} partitions, fsync {a.fsync} | "
          f"{a.records / took:,.0f} records/s | {a.records * a.size / took / 1e6:.1f} MB/s | "
          f"{took:.2f} s | RSS {rss / 2**20:.0f} MiB |")


if __name__ == "__main__":
    main()
