#!/usr/bin/env python3
"""kcat (Debian's kcat 1.7, librdkafka 2.0.2) as a consumer with a group id, in one of two modes:
  -G (default)  the balanced group consumer (JoinGroup/SyncGroup, commits on close)
  --simple      kcat -C with group.id and -o stored: librdkafka's simple consumer, which commits
                outside any group generation
Default settings except auto.offset.reset=earliest, without which a new group skips everything
produced before it joined.

usage: kcat_consumer.py BOOTSTRAP TOPIC GROUP COUNT [TIMEOUT_S] [--simple]
kcat stops after COUNT records (-c) and commits itself; its JSON lines are printed in the
verify.py record format, then one JSON summary line ("committed" is null: kcat does not say, the
tests read the committed offsets back). Exit 1 unless kcat consumed COUNT records and exited 0.
"""
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import security  # noqa: E402
from verify import read_json_lines  # noqa: E402


def security_flags() -> list:
    """-X flags from EB_CLIENT_SECURITY (tests/clients/security.py)."""
    return [x for k, v in security.librdkafka().items() for x in ("-X", f"{k}={v}")]


def main() -> int:
    args = [a for a in sys.argv[1:] if a != "--simple"]
    simple = len(args) != len(sys.argv) - 1
    bootstrap, topic, group, count = args[0], args[1], args[2], int(args[3])
    timeout = float(args[4]) if len(args) > 4 else 120.0
    client = "kcat-C" if simple else "kcat-G"
    # -u: unbuffered, so what was consumed before a timeout kill is still printed.
    common = [*security_flags(), "-X", "auto.offset.reset=earliest", "-c", str(count), "-J", "-q", "-u"]
    if simple:
        cmd = ["kcat", "-C", "-b", bootstrap, "-t", topic, "-X", f"group.id={group}", "-o", "stored",
               *common]
    else:
        cmd = ["kcat", "-G", group, "-b", bootstrap, *common, topic]
    start = time.monotonic()
    errors, first_error = 0, None
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout)
        out, rc = proc.stdout, proc.returncode
        if rc != 0:
            errors += 1
            tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:]
            first_error = f"kcat exited {rc}: {tail[0] if tail else ''}"
    except subprocess.TimeoutExpired as e:
        out, rc = e.stdout or b"", None
    recs = read_json_lines(out.decode(errors="replace").splitlines())
    for r in recs:
        print(json.dumps({k: r.get(k) for k in
                          ("topic", "partition", "offset", "key", "value", "headers")}))
    if len(recs) < count:
        first_error = first_error or f"consumed {len(recs)} of {count} in {timeout} s"
    print(json.dumps({"client": client, "count": count, "consumed": len(recs), "errors": errors,
                      "first_error": first_error, "committed": None,
                      "seconds": round(time.monotonic() - start, 3)}), flush=True)
    return 0 if rc == 0 and len(recs) == count else 1


if __name__ == "__main__":
    sys.exit(main())
