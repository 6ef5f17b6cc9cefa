#!/usr/bin/env python3
"""kcat (Debian's kcat 1.7, librdkafka 2.0.2) as a producer, with default settings.

usage: kcat_producer.py BOOTSTRAP TOPIC COUNT RUN_ID [TIMEOUT_S]
Feeds COUNT "key<TAB>value" lines of the records.py contract on kcat's stdin (-K for keys). kcat 1.7
sets headers per run only (-H), so every record carries the constant header client=kcat and the
sequence number lives in the value alone. kcat is run at verbosity 3 so it prints one line per
delivery report; those lines are counted, and kcat itself exits 1 when any delivery failed.
Prints one JSON summary line; exit 1 unless every record was acknowledged.
"""
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import security  # noqa: E402
import records  # noqa: E402

CLIENT = "kcat"


def security_flags() -> list:
    """-X flags from EB_CLIENT_SECURITY (tests/clients/security.py)."""
    return [x for k, v in security.librdkafka().items() for x in ("-X", f"{k}={v}")]


def main() -> int:
    bootstrap, topic, count, run_id = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 120.0
    start = time.monotonic()
    payload = "".join(f"{records.key(i)}\t{records.value(CLIENT, run_id, i)}\n"
                      for i in range(count)).encode()
    cmd = ["kcat", "-P", *security_flags(), "-b", bootstrap, "-t", topic, "-K", "\t", "-H", f"client={CLIENT}",
           "-v", "-v"]
    acked = errors = 0
    first_error = None
    try:
        proc = subprocess.run(cmd, input=payload, capture_output=True, timeout=timeout)
        for line in proc.stderr.decode(errors="replace").splitlines():
            if "Message delivered to partition" in line:
                acked += 1
            elif "Delivery failed" in line:
                errors += 1
                first_error = first_error or line.strip()
            elif "ERROR" in line:  # transient ones too: kept as the explanation, not counted
                first_error = first_error or line.strip()
        if proc.returncode != 0:
            errors = max(errors, 1)
            first_error = first_error or f"kcat exited {proc.returncode}"
    except subprocess.TimeoutExpired:
        first_error = f"kcat did not finish in {timeout} s"
    if acked + errors < count:
        errors += count - acked - errors
        first_error = first_error or "delivery reports missing"
    print(json.dumps({"client": CLIENT, "count": count, "acked": acked, "errors": errors,
                      "first_error": first_error,
                      "seconds": round(time.monotonic() - start, 3)}), flush=True)
    return 0 if acked == count and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
