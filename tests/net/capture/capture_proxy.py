#!/usr/bin/env python3
"""A Kafka TCP proxy that records real client requests and real broker responses as golden frames.

    capture_proxy.py --listen PORT --upstream HOST:PORT --out DIR [--cap KEY=MAX,...]
                     [--force-api-versions-v0] [--seconds N]

One frame per (api key, version) is kept, the largest seen (a fetch response with records beats
an empty one), as DIR/<api>_v<version>_request.bin and ..._response.bin: the frame without its
4-byte size prefix, exactly as the client or the broker sent it (before any rewriting below). Produce requests are also saved per compression codec
(produce_v<version>_<codec>_request.bin) so each codec's batch is kept.

Rewrites, applied only to what the client receives:
- the broker's port next to "127.0.0.1" in any response (Metadata, FindCoordinator, ...) becomes the
  proxy's, so clients keep talking through the proxy;
- --cap lowers the max versions the broker advertises in ApiVersions, which makes a real client
  use an older version of that API (how we get real bytes for old versions);
- --force-api-versions-v0 answers the first ApiVersions v1+ request of each connection with
  UNSUPPORTED_VERSION and {18: 0-0} (as a broker that only knows v0 would, KIP-511), so the client
  retries with ApiVersions v0.

Test tooling only (stdlib, bounded by --seconds); never part of the build.
"""
import argparse
import asyncio
import os
import struct

API_NAMES = {0: "produce", 1: "fetch", 2: "list_offsets", 3: "metadata", 8: "offset_commit",
             9: "offset_fetch", 10: "find_coordinator", 11: "join_group", 12: "heartbeat",
             13: "leave_group", 14: "sync_group", 17: "sasl_handshake", 18: "api_versions",
             19: "create_topics", 22: "init_producer_id", 23: "offset_for_leader_epoch",
             32: "describe_configs", 36: "sasl_authenticate", 60: "describe_cluster"}
CODECS = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}
MAX_FRAME = 64 << 20


def uvarint(b, pos):
    v = shift = 0
    while True:
        x = b[pos]
        pos += 1
        v |= (x & 0x7F) << shift
        if not x & 0x80:
            return v, pos
        shift += 7


def produce_codec(frame):
    """Compression codec of the first batch in a produce request, or None."""
    # Find the record batch magic: base offset(8) length(4) epoch(4) magic(1)=2 then crc(4) attrs(2).
    # Cheap heuristic for naming files only: look for magic 2 after a zero base offset.
    i = frame.find(b"\x00" * 8)
    while i != -1 and i + 23 <= len(frame):
        if frame[i + 16] == 2:
            attrs = struct.unpack(">h", frame[i + 21:i + 23])[0]
            return CODECS.get(attrs & 7, "x")
        i = frame.find(b"\x00" * 8, i + 1)
    return None


class Proxy:
    def __init__(self, args):
        self.args = args
        host, port = args.upstream.rsplit(":", 1)
        self.up_host, self.up_port = host, int(port)
        self.caps = {}
        if args.cap:
            for kv in args.cap.split(","):
                k, v = kv.split("=")
                self.caps[int(k)] = int(v)
        os.makedirs(args.out, exist_ok=True)
        self.saved = {}

    def save(self, name, frame):
        if self.saved.get(name, -1) >= len(frame):
            return
        self.saved[name] = len(frame)
        with open(os.path.join(self.args.out, name), "wb") as fh:
            fh.write(frame)

    def rewrite_ports(self, frame):
        old = b"127.0.0.1" + struct.pack(">i", self.up_port)
        new = b"127.0.0.1" + struct.pack(">i", self.args.listen)
        return frame.replace(old, new)

    def cap_api_versions(self, frame, version):
        b = bytearray(frame)
        pos = 4  # correlation id; ApiVersions responses always use header v0
        err = struct.unpack(">h", b[pos:pos + 2])[0]
        pos += 2
        if err != 0:
            return bytes(b)
        if version >= 3:
            n, pos = uvarint(b, pos)
            n -= 1
        else:
            n = struct.unpack(">i", b[pos:pos + 4])[0]
            pos += 4
        for _ in range(max(n, 0)):
            key, lo, hi = struct.unpack(">hhh", b[pos:pos + 6])
            if key in self.caps and hi > self.caps[key]:
                b[pos + 4:pos + 6] = struct.pack(">h", max(lo, self.caps[key]))
            pos += 6
            if version >= 3:
                ntags, pos = uvarint(b, pos)
                for _ in range(ntags):
                    _, pos = uvarint(b, pos)
                    size, pos = uvarint(b, pos)
                    pos += size
        return bytes(b)

    async def handle(self, creader, cwriter):
        try:
            ureader, uwriter = await asyncio.open_connection(self.up_host, self.up_port)
        except OSError:
            cwriter.close()
            return
        inflight = {}
        state = {"forced": False}

        async def client_to_broker():
            while True:
                head = await creader.readexactly(4)
                size = struct.unpack(">i", head)[0]
                if size < 8 or size > MAX_FRAME:
                    return
                frame = await creader.readexactly(size)
                key, ver, corr = struct.unpack(">hhi", frame[:8])
                name = API_NAMES.get(key, f"api{key}")
                if key == 0:
                    codec = produce_codec(frame)
                    if codec:
                        self.save(f"{name}_v{ver}_{codec}_request.bin", frame)
                if (key == 18 and ver > 0 and self.args.force_api_versions_v0
                        and not state["forced"]):
                    state["forced"] = True
                    body = struct.pack(">ihihhh", corr, 35, 1, 18, 0, 0)
                    cwriter.write(struct.pack(">i", len(body)) + body)
                    await cwriter.drain()
                    continue
                self.save(f"{name}_v{ver}_request.bin", frame)
                inflight[corr] = (key, ver)
                uwriter.write(head + frame)
                await uwriter.drain()

        async def broker_to_client():
            while True:
                head = await ureader.readexactly(4)
                size = struct.unpack(">i", head)[0]
                frame = await ureader.readexactly(size)
                corr = struct.unpack(">i", frame[:4])[0]
                key, ver = inflight.pop(corr, (None, None))
                if key is not None:
                    self.save(f"{API_NAMES.get(key, f'api{key}')}_v{ver}_response.bin", frame)
                    if key == 18:
                        frame = self.cap_api_versions(frame, ver)
                frame = self.rewrite_ports(frame)
                cwriter.write(struct.pack(">i", len(frame)) + frame)
                await cwriter.drain()

        tasks = [asyncio.ensure_future(client_to_broker()), asyncio.ensure_future(broker_to_client())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            for w in (cwriter, uwriter):
                w.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--cap", default="")
    ap.add_argument("--force-api-versions-v0", action="store_true")
    ap.add_argument("--seconds", type=float, default=300)
    args = ap.parse_args()
    proxy = Proxy(args)
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", args.listen)
    async with server:
        await asyncio.sleep(args.seconds)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
