#!/usr/bin/env python3
"""confluent-kafka (librdkafka bundled in the wheel) producer with default settings.

usage: confluent_producer.py BOOTSTRAP TOPIC COUNT RUN_ID [TIMEOUT_S]
Produces COUNT records of the records.py contract, waits for every delivery report and prints one
JSON summary line. Exit 1 if any record was not acknowledged.
"""
import json
import sys
import time
from pathlib import Path

from confluent_kafka import Producer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import records  # noqa: E402
import security  # noqa: E402

CLIENT = "confluent-kafka"


def main() -> int:
    bootstrap, topic, count, run_id = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 120.0
    start = time.monotonic()
    deadline = start + timeout
    state = {"acked": 0, "errors": 0, "first_error": None}

    def on_delivery(err, msg):
        if err is None:
            state["acked"] += 1
        else:
            state["errors"] += 1
            state["first_error"] = state["first_error"] or str(err)

    p = Producer({"bootstrap.servers": bootstrap, **security.librdkafka()})
    for i in range(count):
        while True:
            try:
                p.produce(topic, key=records.key(i), value=records.value(CLIENT, run_id, i),
                          headers=[(k, v.encode()) for k, v in records.headers(CLIENT, i)],
                          on_delivery=on_delivery)
                break
            except BufferError:
                # The local queue is full: serve delivery reports so it drains.
                if time.monotonic() > deadline:
                    break
                p.poll(0.05)
        p.poll(0)
    remaining = p.flush(max(0.0, deadline - time.monotonic()))
    if remaining:
        state["errors"] += remaining
        state["first_error"] = state["first_error"] or f"{remaining} records not delivered in time"
    missing = count - state["acked"] - state["errors"]
    if missing > 0:
        state["errors"] += missing
        state["first_error"] = state["first_error"] or f"{missing} records never handed over"
    print(json.dumps({"client": CLIENT, "count": count, **state,
                      "seconds": round(time.monotonic() - start, 3)}), flush=True)
    return 0 if state["acked"] == count and state["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
