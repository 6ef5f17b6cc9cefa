#!/usr/bin/env python3
"""Builds tests/net/fuzz_corpus/ from the golden frames (see fuzz_request.cc for the format):
mode 0 + request frame, mode 1 + api key/version + response frame, mode 2 + the records of every
produce partition. Deterministic; run after capture_golden.sh."""
import hashlib
import os
import re
import struct
import sys

here = os.path.dirname(os.path.abspath(__file__))
golden = os.path.join(here, "..", "golden")
out = os.path.join(here, "..", "fuzz_corpus")
KEYS = {"produce": 0, "fetch": 1, "list_offsets": 2, "metadata": 3, "offset_commit": 8,
        "offset_fetch": 9, "find_coordinator": 10, "join_group": 11, "heartbeat": 12,
        "leave_group": 13, "sync_group": 14, "sasl_handshake": 17, "api_versions": 18,
        "create_topics": 19, "init_producer_id": 22, "offset_for_leader_epoch": 23,
        "describe_configs": 32, "sasl_authenticate": 36, "describe_cluster": 60}
name_re = re.compile(r"([a-z_]+)_v(\d+)(?:_([a-z0-9]+))?_(request|response)\.bin")


def batches_of_produce(frame):
    """Records fields of a produce request: found by scanning for v2 batch headers."""
    found = []
    i = 0
    while i + 61 <= len(frame):
        if frame[i:i + 8] == b"\0" * 8 and frame[i + 16] == 2:
            length = struct.unpack(">i", frame[i + 8:i + 12])[0]
            if 49 <= length <= len(frame) - i - 12:
                found.append(frame[i:i + 12 + length])
                i += 12 + length
                continue
        i += 1
    return found


os.makedirs(out, exist_ok=True)
seeds = {}
for client in sorted(os.listdir(golden)):
    for fn in sorted(os.listdir(os.path.join(golden, client))):
        m = name_re.fullmatch(fn)
        if not m:
            continue
        data = open(os.path.join(golden, client, fn), "rb").read()
        if m[4] == "request":
            seeds[len(seeds)] = b"\x00" + data
            if m[1] == "produce":
                for b in batches_of_produce(data):
                    seeds[len(seeds)] = b"\x02" + b
        else:
            seeds[len(seeds)] = b"\x01" + struct.pack(">hh", KEYS[m[1]], int(m[2])) + data
for s in seeds.values():
    name = hashlib.sha1(s).hexdigest()
    with open(os.path.join(out, name), "wb") as fh:
        fh.write(s)
print(f"{len(seeds)} seeds in {out}", file=sys.stderr)
