#!/usr/bin/env python3
"""Fails on an include that crosses a module boundary (docs/ARCHITECTURE.md, "Modules").

Every source file belongs to the most specific module below; a module may include only the
modules its rule lists. The repository root is on the include path so that includes name their
module ("storage/storage.h"); this check is what keeps that from meaning "anything goes".
Run by scripts/test.sh; exits 1 listing each forbidden include with its file and line.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

# module -> the modules its files may include (itself always allowed). Most specific first.
RULES = [
    ("common", set()),
    ("net", {"common"}),
    ("storage", {"common"}),
    # The mirror: storage logs in, librdkafka out; net only for the RecordBatch codec.
    ("bridge/mirror", {"common", "net", "storage"}),
    # The downlink: librdkafka in, storage out; net only for the RecordBatch codec.
    ("bridge/downlink", {"common", "net", "storage"}),
    # The process wiring: the only place that sees config/.
    ("bridge/app", {"common", "net", "storage", "bridge", "bridge/mirror", "bridge/downlink",
                    "config"}),
    ("bridge/main", {"common", "bridge", "bridge/app", "config"}),
    ("bridge/tools", {"common", "net", "storage"}),
    ("bridge", {"common", "net", "storage"}),
    # config/ maps YAML onto each module's options headers.
    ("config", {"common", "net", "storage", "bridge", "bridge/mirror", "bridge/downlink"}),
]
SOURCE_DIRS = ["common", "net", "storage", "bridge", "config"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def module_of(rel: str) -> str:
    """The most specific module a repository path belongs to."""
    for name, _ in RULES:
        if rel == name or rel.startswith(name + "/") or rel.startswith(name + "."):
            return name
    return ""


def main() -> int:
    allowed = dict(RULES)
    problems = []
    for top in SOURCE_DIRS:
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix not in (".h", ".cc"):
                continue
            rel = path.relative_to(ROOT).as_posix()
            mine = module_of(rel)
            for n, line in enumerate(path.read_text().splitlines(), 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                target = module_of(m.group(1))
                if not target or target == mine or target in allowed[mine]:
                    continue
                problems.append(f"{rel}:{n}: {mine}/ may not include {m.group(1)} ({target}/)")
    for p in problems:
        print(p)
    if problems:
        print(f"check_boundaries: {len(problems)} forbidden include(s)")
        return 1
    print("check_boundaries: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
