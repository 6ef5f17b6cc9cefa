#!/usr/bin/env python3
"""kafka-python (pure Python) producer with default settings.

usage: kafka_python_producer.py BOOTSTRAP TOPIC COUNT RUN_ID [TIMEOUT_S]
Produces COUNT records of the records.py contract, waits for every future and prints one JSON
summary line. Exit 1 if any record was not acknowledged.
"""
import json
import os
import sys
import threading
import time
from pathlib import Path

from kafka import KafkaProducer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import security  # noqa: E402
import records  # noqa: E402

CLIENT = "kafka-python"


class Summary:
    """Counts outcomes and prints the summary line exactly once (main thread or watchdog)."""

    def __init__(self, count: int):
        self.count, self.acked, self.errors, self.first_error = count, 0, 0, None
        self.start = time.monotonic()
        self._lock = threading.Lock()
        self._printed = False

    def ok(self, _metadata) -> None:
        with self._lock:
            self.acked += 1

    def failed(self, exc) -> None:
        with self._lock:
            self.errors += 1
            self.first_error = self.first_error or repr(exc)

    def finish(self, why: str | None = None) -> int:
        with self._lock:
            if self._printed:
                return 1
            self._printed = True
            acked, errors, first = self.acked, self.errors, self.first_error or why
            missing = self.count - acked - errors
            if missing > 0:
                errors += missing
                first = first or f"{missing} records without an outcome"
            print(json.dumps({"client": CLIENT, "count": self.count, "acked": acked,
                              "errors": errors, "first_error": first,
                              "seconds": round(time.monotonic() - self.start, 3)}), flush=True)
            return 0 if acked == self.count and errors == 0 else 1


def main() -> int:
    bootstrap, topic, count, run_id = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 120.0
    summary = Summary(count)
    # send() may block up to max_block_ms on metadata and flush() has no bound of its own: a
    # watchdog keeps the deadline and exits without waiting for the client's threads.
    watchdog = threading.Timer(timeout, lambda: os._exit(summary.finish(f"not done in {timeout} s")))
    watchdog.daemon = True
    watchdog.start()

    p = KafkaProducer(bootstrap_servers=bootstrap, **security.kafka_python())
    for i in range(count):
        try:
            f = p.send(topic, key=records.key(i).encode(),
                       value=records.value(CLIENT, run_id, i).encode(),
                       headers=[(k, v.encode()) for k, v in records.headers(CLIENT, i)])
            f.add_callback(summary.ok)
            f.add_errback(summary.failed)
        except Exception as e:  # a failure before the record was queued
            summary.failed(e)
    p.flush()
    p.close(timeout=5)
    watchdog.cancel()
    return summary.finish()


if __name__ == "__main__":
    sys.exit(main())
