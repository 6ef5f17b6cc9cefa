#!/usr/bin/env python3
"""Checks that a topic holds exactly one producer run, intact and in order.

Input: JSON lines, one record each: {"topic", "partition", "offset", "key", "value", "headers"}, with
headers as a list of [name, value] pairs (a {name: value} object is accepted too), in the order the
reader returned them. Records are checked against the contract in records.py:
  - every record belongs to the run (no foreign or corrupted record),
  - each i in [0, count) appears exactly once, with its exact key, value and headers,
  - within each partition offsets strictly increase and so does i (producer order kept),
  - at least `min_partitions` partitions were used (the default partitioner spread the keys).

Use as a library (verify(...) returns a Report) or as a command:
  verify.py --client NAME --run-id RUN --count N [--no-seq-header] [--min-partitions K] [FILE]
which prints a JSON report and exits 1 when a check failed.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import records as contract  # noqa: E402

# Past this many problems of one kind only the count grows: a broken run should not print 10,000 lines.
_MAX_REPORTED = 10


@dataclass
class Report:
    count: int
    seen: int = 0
    per_partition: dict[int, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    problem_counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problem_counts

    def add(self, kind: str, message: str) -> None:
        n = self.problem_counts.get(kind, 0)
        self.problem_counts[kind] = n + 1
        if n < _MAX_REPORTED:
            self.problems.append(f"{kind}: {message}")

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "count": self.count,
            "seen": self.seen,
            "per_partition": {str(p): n for p, n in sorted(self.per_partition.items())},
            "problem_counts": self.problem_counts,
            "problems": self.problems,
        }

    def __str__(self) -> str:
        return json.dumps(self.to_json(), indent=1)


def normalize_headers(h) -> list[list[str]]:
    """Headers as [[name, value], ...]: accepts pairs, a dict, or kcat's flat [n1, v1, n2, v2]."""
    if h is None:
        return []
    if isinstance(h, dict):
        return [[k, v] for k, v in h.items()]
    if h and all(isinstance(x, str) or x is None for x in h):
        return [[h[k], h[k + 1]] for k in range(0, len(h) - 1, 2)]
    return [[k, v] for k, v in h]


def _parse_index(value: str, prefix: str) -> int | None:
    rest = value[len(prefix):]
    digits, sep, _ = rest.partition("|")
    if not sep or not digits.isdigit():
        return None
    return int(digits)


def verify(records, client: str, run_id: str, count: int, seq_header: bool = True,
           min_partitions: int = 1) -> Report:
    report = Report(count=count)
    prefix = contract.prefix(client, run_id)
    seen_at: dict[int, tuple[int, int]] = {}
    last_offset: dict[int, int] = {}  # partition -> last offset read
    last_index: dict[int, int] = {}  # partition -> last i read

    for rec in records:
        report.seen += 1
        part, off = int(rec["partition"]), int(rec["offset"])
        report.per_partition[part] = report.per_partition.get(part, 0) + 1
        where = f"{rec.get('topic')}[{part}]@{off}"
        value = rec.get("value")

        if part in last_offset and off <= last_offset[part]:
            report.add("offset_order", f"{where} follows offset {last_offset[part]}")
        last_offset[part] = off

        if not isinstance(value, str) or not value.startswith(prefix):
            report.add("foreign", f"{where} value {str(value)[:60]!r} is not of run {prefix!r}")
            continue
        i = _parse_index(value, prefix)
        if i is None or not 0 <= i < count:
            report.add("bad_index", f"{where} value {value[:60]!r}")
            continue

        if i in seen_at:
            report.add("duplicate", f"i={i} at {where}, first at partition {seen_at[i][0]}"
                       f" offset {seen_at[i][1]}")
        else:
            seen_at[i] = (part, off)
        if rec.get("key") != contract.key(i):
            report.add("key", f"{where} i={i} key {rec.get('key')!r}")
        if value != contract.value(client, run_id, i):
            report.add("value", f"{where} i={i} value {value!r}")
        got_headers = normalize_headers(rec.get("headers"))
        want_headers = contract.headers(client, i, seq_header)
        if got_headers != want_headers:
            report.add("headers", f"{where} i={i} headers {got_headers} != {want_headers}")
        if part in last_index and i <= last_index[part]:
            report.add("producer_order",
                       f"{where} i={i} after i={last_index[part]} in the same partition")
        last_index[part] = i

    missing = count - len(seen_at)
    if missing:
        first = [i for i in range(count) if i not in seen_at][:_MAX_REPORTED]
        report.add("missing", f"{missing} of {count} records missing, first {first}")
        report.problem_counts["missing"] = missing
    used = sum(1 for n in report.per_partition.values() if n)
    if used < min_partitions:
        report.add("partitions", f"records in {used} partitions, expected >= {min_partitions}")
    return report


def read_json_lines(lines) -> list[dict]:
    """Record lines only: other JSON (client logs, summaries) and non-JSON lines are skipped.
    kcat -J output is accepted as is ("payload" for the value, headers as a flat list)."""
    out = []
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(obj, dict) or not {"partition", "offset"} <= obj.keys():
            continue
        if "value" not in obj and "payload" in obj:  # kcat -J names the value "payload"
            obj["value"] = obj.pop("payload")
        if "value" in obj:
            obj["headers"] = normalize_headers(obj.get("headers"))
            out.append(obj)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--client", required=True)
    ap.add_argument("--run-id", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--no-seq-header", action="store_true", help="kcat: only the client header")
    ap.add_argument("--min-partitions", type=int, default=1)
    ap.add_argument("file", nargs="?", default="-")
    a = ap.parse_args()
    src = sys.stdin if a.file == "-" else open(a.file, encoding="utf-8")
    with src:
        recs = read_json_lines(src)
    report = verify(recs, a.client, a.run_id, a.count, not a.no_seq_header, a.min_partitions)
    print(report)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
