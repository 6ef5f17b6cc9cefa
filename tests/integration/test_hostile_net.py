"""A hostile floor network against the real edgebridge binary: clients that announce huge requests
and never send them, trickle them byte by byte, or open connection after connection. None of it
may grow the process with what clients claim, and a well-behaved producer keeps getting acks.
"""
from __future__ import annotations

import resource
import socket
import struct
import time
from pathlib import Path

import pytest
from confluent_kafka import Producer

from bridge_process import Bridge


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB: now and its peak."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields["VmRSS"], fields["VmHWM"]


def produce_some(bootstrap: str, topic: str, n: int, timeout: float = 60.0) -> int:
    """Produces n records with confluent-kafka (idempotent, acks=all); returns how many were acked."""
    acked = []
    errors = []
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                  "linger.ms": 5, "message.timeout.ms": int(timeout * 1000)})

    def on_delivery(err, msg):
        (errors if err else acked).append(err or msg.offset())

    for i in range(n):
        p.produce(topic, value=b"v" * 100, key=str(i).encode(), on_delivery=on_delivery)
        p.poll(0)
    left = p.flush(timeout)
    assert left == 0, f"{left} records not delivered"
    assert not errors, errors[:3]
    return len(acked)


def announce(port: int, size: int, source: str | None = None) -> socket.socket:
    """A connection that announces a `size`-byte request and sends only its first 10 bytes."""
    s = socket.socket()
    if source:
        s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    # size prefix, api key 0 (Produce), version 9, correlation id 1, and the first 2 header bytes
    s.sendall(struct.pack(">ihhi", size, 0, 9, 1) + b"\x00\x04")
    return s


def closed_by_peer(s: socket.socket, timeout: float) -> bool:
    s.settimeout(timeout)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


@pytest.fixture(autouse=True)
def enough_fds():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 20000), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_announced_sizes_do_not_grow_memory(tmp_path):
    bridge = Bridge(tmp_path, extra_yaml=(
        "server: {max_connections: 3000, max_connections_per_ip: 3000}\n")).start()
    conns: list[socket.socket] = []
    try:
        assert produce_some(bridge.bootstrap, "steady", 100) == 100
        base_rss, _ = rss_kib(bridge.proc.pid)
        for _ in range(1000):
            conns.append(announce(bridge.port, 100 * 1024 * 1024))
        # Every one of them is read (its 10 bytes arrive) while a producer keeps getting acks.
        for _ in range(5):
            assert produce_some(bridge.bootstrap, "steady", 200) == 200
        rss, peak = rss_kib(bridge.proc.pid)
        print(f"\nRSS with 1000 connections announcing 100 MiB each: {rss / 1024:.1f} MiB "
              f"(peak {peak / 1024:.1f} MiB, before them {base_rss / 1024:.1f} MiB)")
        # Growth, not the total: a sanitizer build starts near 300 MiB of shadow and quarantine.
        # 1000 connections claiming 100 GiB between them must cost well under 128 MiB.
        assert peak - base_rss < 128 * 1024, f"peak RSS {peak / 1024:.1f} MiB"
        assert bridge.proc.poll() is None
    finally:
        for s in conns:
            s.close()
        assert bridge.stop() == 0


def test_per_address_limit(tmp_path):
    bridge = Bridge(tmp_path, extra_yaml="server: {max_connections_per_ip: 4}\n").start()
    conns: list[socket.socket] = []
    try:
        conns = [socket.create_connection(("127.0.0.1", bridge.port)) for _ in range(4)]
        extra = socket.create_connection(("127.0.0.1", bridge.port))
        assert closed_by_peer(extra, 10.0), "a fifth connection from 127.0.0.1 must be closed"
        extra.close()
        # Another device (address) still gets in and can produce.
        other = socket.socket()
        other.bind(("127.0.0.2", 0))
        other.connect(("127.0.0.1", bridge.port))
        assert not closed_by_peer(other, 0.5)
        other.close()
        for s in conns:
            s.close()
        conns = []
        assert produce_some(bridge.bootstrap, "after-limit", 10) == 10
        assert "max_connections_per_ip" in bridge.log()
    finally:
        for s in conns:
            s.close()
        assert bridge.stop() == 0


def test_slowloris_is_closed_after_request_timeout(tmp_path):
    bridge = Bridge(tmp_path, extra_yaml="server: {request_timeout: 1s}\n").start()
    try:
        slow = announce(bridge.port, 1 << 20)
        start = time.monotonic()
        closed = False
        # A byte every 100 ms: never idle, never complete. Bounded: 100 bytes at most.
        for _ in range(100):
            try:
                slow.sendall(b"\x00")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if closed_by_peer(slow, 0.1):
                closed = True
                break
        took = time.monotonic() - start
        assert closed, "a trickled request must be closed"
        # Closed by the 1 s deadline, not by the loop's end (10 s); slack for a loaded CI box.
        assert 0.9 <= took < 8.0, took
        slow.close()
        assert produce_some(bridge.bootstrap, "after-slowloris", 10) == 10
        assert bridge.log().count("incomplete after 1000 ms") == 1
    finally:
        assert bridge.stop() == 0
