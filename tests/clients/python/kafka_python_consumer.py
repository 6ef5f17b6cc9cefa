#!/usr/bin/env python3
"""kafka-python group consumer: default settings except auto_offset_reset='earliest' (a new group
would skip everything produced before it joined), plus EB_CLIENT_SECURITY (../security.py).

usage: kafka_python_consumer.py BOOTSTRAP TOPIC GROUP COUNT [TIMEOUT_S]
Same contract as confluent_consumer.py: JSON line per record, synchronous commit after what it
printed, leave the group, one JSON summary line; exit 1 unless COUNT were consumed and committed.
"""
import json
import sys
import time
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import security  # noqa: E402

CLIENT = "kafka-python"


def text(b):
    return None if b is None else b.decode("utf-8", errors="replace")


def main() -> int:
    bootstrap, topic, group, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 120.0
    start = time.monotonic()
    deadline = start + timeout
    consumed, errors, first_error, committed = 0, 0, None, False
    next_offsets: dict[int, int] = {}
    c = None
    try:
        c = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                          auto_offset_reset="earliest", **security.kafka_python())
        while consumed < count and time.monotonic() < deadline:
            batches = c.poll(timeout_ms=500, max_records=count - consumed)
            for tp, msgs in batches.items():
                for m in msgs:
                    print(json.dumps({"topic": m.topic, "partition": m.partition,
                                      "offset": m.offset, "key": text(m.key),
                                      "value": text(m.value),
                                      "headers": [[k, text(v)] for k, v in (m.headers or [])]}))
                    consumed += 1
                    next_offsets[m.partition] = m.offset + 1
        if next_offsets:
            c.commit({TopicPartition(topic, p): OffsetAndMetadata(o, "", -1)
                      for p, o in next_offsets.items()})
            committed = True
    except Exception as e:  # NoBrokersAvailable, SSL errors, CommitFailedError
        errors += 1
        first_error = first_error or repr(e)
    finally:
        if c is not None:
            c.close()
    if consumed < count:
        first_error = first_error or f"consumed {consumed} of {count} in {timeout} s"
    print(json.dumps({"client": CLIENT, "count": count, "consumed": consumed, "errors": errors,
                      "first_error": first_error, "committed": committed,
                      "seconds": round(time.monotonic() - start, 3)}), flush=True)
    return 0 if consumed == count and committed and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
