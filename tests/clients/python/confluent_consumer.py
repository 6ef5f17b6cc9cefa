#!/usr/bin/env python3
"""confluent-kafka group consumer: default settings except auto.offset.reset=earliest, without which
a new group skips everything produced before it joined.

usage: confluent_consumer.py BOOTSTRAP TOPIC GROUP COUNT [TIMEOUT_S]
Subscribes GROUP to TOPIC, prints each record as a JSON line (topic, partition, offset, key, value,
headers) until COUNT records or the timeout, commits the offsets after what it printed
(synchronously; the default auto-commit stays on as well), leaves the group and prints one JSON
summary line. Exit 1 unless COUNT records were consumed and the commit succeeded.
"""
import json
import sys
import time

from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import security  # noqa: E402

CLIENT = "confluent-kafka"


def text(b):
    return None if b is None else b.decode("utf-8", errors="replace")


def main() -> int:
    bootstrap, topic, group, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 120.0
    start = time.monotonic()
    deadline = start + timeout
    consumed, errors, first_error, committed = 0, 0, None, False
    next_offsets: dict[int, int] = {}

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "auto.offset.reset": "earliest", **security.librdkafka()})
    c.subscribe([topic])
    try:
        while consumed < count and time.monotonic() < deadline:
            msg = c.poll(min(0.5, max(0.0, deadline - time.monotonic())))
            if msg is None:
                continue
            if msg.error():
                errors += 1
                first_error = first_error or str(msg.error())
                continue
            print(json.dumps({"topic": msg.topic(), "partition": msg.partition(),
                              "offset": msg.offset(), "key": text(msg.key()),
                              "value": text(msg.value()),
                              "headers": [[k, text(v)] for k, v in (msg.headers() or [])]}))
            consumed += 1
            next_offsets[msg.partition()] = msg.offset() + 1
        if next_offsets:
            c.commit(offsets=[TopicPartition(topic, p, o) for p, o in next_offsets.items()],
                     asynchronous=False)
            committed = True
    except Exception as e:  # KafkaException from commit, mostly
        errors += 1
        first_error = first_error or repr(e)
    finally:
        c.close()
    if consumed < count:
        first_error = first_error or f"consumed {consumed} of {count} in {timeout} s"
    print(json.dumps({"client": CLIENT, "count": count, "consumed": consumed, "errors": errors,
                      "first_error": first_error, "committed": committed,
                      "seconds": round(time.monotonic() - start, 3)}), flush=True)
    return 0 if consumed == count and committed and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
