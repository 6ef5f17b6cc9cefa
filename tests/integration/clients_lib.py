"""Real Kafka client programs (tests/clients/) run against a target, and reading back what they wrote.

A Target is the system under test as the client tests see it:
  name            "kafka" (the real Apache Kafka broker) or, later, "edgebridge"
  bootstrap       "127.0.0.1:PORT" handed to every client
  create_topic    (topic, partitions) -> None, run before each producer test
  read_back       (topic) -> [record], every record of the topic as dicts with topic, partition,
                  offset, key, value, headers ([[name, value], ...]), in offset order per partition
  batches         (topic) -> [batch] or None: stored batch attributes (partition, base_offset, count,
                  codec, producer_id) where the target can show them; None skips those checks
  committed       (group, topic) -> {partition: offset} committed by the group (OffsetFetch through
                  confluent-kafka's AdminClient works for any target that speaks the protocol)

kafka_target() builds the Apache Kafka one. For edgebridge, build a Target whose read_back is
  functools.partial(read_back_with_command, ["edgebridge-dump", "--data-dir", DIR])
(the dump command gets "--topic T" appended and prints the same JSON lines as verify.py reads).
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ROOT / "tests" / "clients"
CACHE = Path(os.environ.get("EB_CLIENTS_CACHE", ROOT / ".cache" / "clients"))
KAFKA_SH = ROOT / "scripts" / "kafka" / "kafka.sh"

sys.path.insert(0, str(CLIENTS))
import verify  # noqa: E402  (tests/clients/verify.py)


def venv_python() -> str:
    return str(CACHE / "venv" / "bin" / "python")


def install_clients(timeout: float = 1800) -> None:
    """Runs tests/clients/install.sh (seconds when everything is there already)."""
    subprocess.run([str(CLIENTS / "install.sh")], check=True, timeout=timeout)


def new_run_id() -> str:
    return uuid.uuid4().hex[:10]


# ---------------------------------------------------------------- running a client program


@dataclass
class Run:
    """One client process: its exit, its output and the summary line it printed."""

    argv: list[str]
    returncode: int | None  # None: killed at the harness timeout
    stdout: str
    stderr: str
    wall_seconds: float
    summary: dict | None = None
    lines: list[dict] = field(default_factory=list)  # every JSON object line of stdout

    def explain(self) -> str:
        tail = "\n".join(self.stderr.strip().splitlines()[-25:])
        return (f"command: {' '.join(self.argv)}\nexit: {self.returncode}"
                f" after {self.wall_seconds:.1f} s\nsummary: {self.summary}\nstderr tail:\n{tail}")


def run_program(argv: list[str], timeout: float, stdin: bytes | None = None) -> Run:
    """Runs argv in its own process group; at `timeout` the whole group is killed (a JVM or
    node with its threads and children must not outlive the test)."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
        rc: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        rc = None
    run = Run(argv, rc, out.decode(errors="replace"), err.decode(errors="replace"),
              time.monotonic() - start)
    for line in run.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            run.lines.append(obj)
            if "acked" in obj or "consumed" in obj:
                run.summary = obj
    return run


def _java(main_class: str) -> list[str]:
    classpath = (CACHE / "java" / "classpath.txt").read_text().strip()
    return ["java", "-Xmx256m", "-XX:+UseSerialGC",
            f"-Dlog4j.configuration=file:{CACHE / 'java' / 'log4j.properties'}",
            "-cp", classpath, main_class]


def _java4(main_class: str) -> list[str]:
    """The same program on kafka-clients 4.x (tests/clients/install.sh builds it)."""
    classpath = (CACHE / "java4" / "classpath.txt").read_text().strip()
    return ["java", "-Xmx256m", "-XX:+UseSerialGC",
            f"-Dlog4j2.configurationFile={CACHE / 'java4' / 'log4j2.properties'}",
            "-cp", classpath, main_class]


@dataclass(frozen=True)
class Producer:
    """A producer program of tests/clients/, called as PROGRAM BOOTSTRAP TOPIC COUNT RUN_ID TIMEOUT_S
    [EXTRA...]. codec and idempotent are what its default settings put in the stored batches on
    Apache Kafka (checked where the target shows batches)."""

    name: str
    program: Callable[[], list[str]]
    extra: tuple[str, ...] = ()
    seq_header: bool = True  # kcat sets headers per run only: no per-record "seq"
    codec: str = "none"
    idempotent: bool = False

    def argv(self, bootstrap: str, topic: str, count: int, run_id: str, timeout: float) -> list[str]:
        return [*self.program(), bootstrap, topic, str(count), run_id, f"{timeout:g}", *self.extra]


PRODUCERS: list[Producer] = [
    Producer("kcat", lambda: [venv_python(), str(CLIENTS / "kcat" / "kcat_producer.py")],
             seq_header=False),
    Producer("rdkafka-c", lambda: [str(CACHE / "bin" / "rdkafka-producer")]),
    Producer("confluent-kafka",
             lambda: [venv_python(), str(CLIENTS / "python" / "confluent_producer.py")]),
    Producer("kafka-python",
             lambda: [venv_python(), str(CLIENTS / "python" / "kafka_python_producer.py")],
             idempotent=True),
    Producer("kafkajs", lambda: ["node", str(CLIENTS / "node" / "producer.js")]),
    Producer("franz-go", lambda: [str(CACHE / "bin" / "franz-producer")], codec="snappy",
             idempotent=True),
    Producer("java", lambda: _java("EbProducer"), idempotent=True),
    *[Producer(f"java-{c}", lambda: _java("EbProducer"), extra=(c,), codec=c, idempotent=True)
      for c in ("gzip", "snappy", "lz4", "zstd")],
    # kafka-clients 4.x (the current generation).
    Producer("java4", lambda: _java4("EbProducer"), idempotent=True),
]


def run_producer(producer: Producer, bootstrap: str, topic: str, count: int, run_id: str,
                 timeout: float) -> Run:
    """The program gets a deadline 10 s short of the harness's, so it reports before it is killed."""
    inner = max(5.0, timeout - 10.0)
    return run_program(producer.argv(bootstrap, topic, count, run_id, inner), timeout)


def producer_ok(run: Run, count: int) -> bool:
    s = run.summary or {}
    return run.returncode == 0 and s.get("acked") == count and s.get("errors") == 0


@dataclass(frozen=True)
class Consumer:
    """A consumer program of tests/clients/, called as PROGRAM BOOTSTRAP TOPIC GROUP COUNT TIMEOUT_S
    [EXTRA...]: it prints the records it got as JSON lines, commits, and prints a summary. The
    programs assume the group has exactly COUNT records to read: with the clients' default
    auto-commit, records fetched past COUNT may be committed when they close."""

    name: str
    program: Callable[[], list[str]]
    extra: tuple[str, ...] = ()

    def argv(self, bootstrap: str, topic: str, group: str, count: int, timeout: float) -> list[str]:
        return [*self.program(), bootstrap, topic, group, str(count), f"{timeout:g}", *self.extra]


CONSUMERS: list[Consumer] = [
    Consumer("kcat-G", lambda: [venv_python(), str(CLIENTS / "kcat" / "kcat_consumer.py")]),
    Consumer("kcat-C", lambda: [venv_python(), str(CLIENTS / "kcat" / "kcat_consumer.py")],
             extra=("--simple",)),
    Consumer("confluent-kafka",
             lambda: [venv_python(), str(CLIENTS / "python" / "confluent_consumer.py")]),
    Consumer("kafkajs", lambda: ["node", str(CLIENTS / "node" / "consumer.js")]),
    Consumer("franz-go", lambda: [str(CACHE / "bin" / "franz-consumer")]),
    Consumer("java", lambda: _java("EbConsumer")),
    Consumer("java4", lambda: _java4("EbConsumer")),
]


def run_consumer(consumer: Consumer, bootstrap: str, topic: str, group: str, count: int,
                 timeout: float) -> tuple[Run, list[dict]]:
    """Runs the consumer (its own deadline 10 s short of the harness's); returns the run and the
    records it printed."""
    inner = max(5.0, timeout - 10.0)
    run = run_program(consumer.argv(bootstrap, topic, group, count, inner), timeout)
    return run, verify.read_json_lines(run.stdout.splitlines())


def producer_by_name(name: str) -> Producer:
    return next(p for p in PRODUCERS if p.name == name)


# ---------------------------------------------------------------- targets


@dataclass
class Target:
    name: str
    bootstrap: str
    create_topic: Callable[[str, int], None]
    read_back: Callable[[str], list[dict]]
    batches: Callable[[str], list[dict]] | None = None
    committed: Callable[[str, str], dict[int, int]] | None = None


def create_topic_admin(bootstrap: str, topic: str, partitions: int) -> None:
    """CreateTopics through confluent-kafka's AdminClient (replication factor 1)."""
    subprocess.run([venv_python(), str(CLIENTS / "python" / "admin.py"), "create", bootstrap, topic,
                    str(partitions)], check=True, timeout=90, capture_output=True)


def committed_admin(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """Offsets the group committed for the topic's partitions (OffsetFetch); -1001 means none."""
    out = subprocess.run([venv_python(), str(CLIENTS / "python" / "admin.py"), "committed", bootstrap,
                          group, topic], check=True, timeout=90, capture_output=True, text=True)
    return {int(p): o for p, o in json.loads(out.stdout.strip().splitlines()[-1]).items()}


def read_back_kcat(bootstrap: str, topic: str, timeout: float = 120) -> list[dict]:
    """Every record of the topic, from the beginning to the end offsets of the moment (kcat -e)."""
    run = run_program(["kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-J",
                       "-q"], timeout)
    if run.returncode != 0:
        raise RuntimeError(f"kcat read-back failed\n{run.explain()}")
    return verify.read_json_lines(run.stdout.splitlines())


def read_back_with_command(argv: list[str], topic: str, timeout: float = 120) -> list[dict]:
    """Hook for targets with a dump tool: runs argv + ["--topic", topic], which prints one JSON
    record per line (topic, partition, offset, key, value, headers)."""
    run = run_program([*argv, "--topic", topic], timeout)
    if run.returncode != 0:
        raise RuntimeError(f"read-back command failed\n{run.explain()}")
    return verify.read_json_lines(run.stdout.splitlines())


_BATCH_FIELDS = re.compile(r"(baseOffset|count|producerId|compresscodec): (\S+)")


def kafka_batches(log_dir: Path, topic: str, timeout: float = 120) -> list[dict]:
    """Batch attributes from the broker's own segment files (kafka.tools.DumpLogSegments)."""
    files = sorted(log_dir.glob(f"{topic}-*/*.log"))
    if not files:
        raise RuntimeError(f"no segment files for {topic} in {log_dir}")
    run = run_program([str(KAFKA_SH), "run-class", "kafka.tools.DumpLogSegments", "--files",
                       ",".join(map(str, files))], timeout)
    if run.returncode != 0:
        raise RuntimeError(f"DumpLogSegments failed\n{run.explain()}")
    out, partition = [], None
    for line in run.stdout.splitlines():
        if line.startswith("Dumping "):
            partition = int(Path(line.split()[1]).parent.name.rsplit("-", 1)[1])
        elif line.startswith("baseOffset:"):
            f = dict(_BATCH_FIELDS.findall(line))
            out.append({"partition": partition, "base_offset": int(f["baseOffset"]),
                        "count": int(f["count"]), "producer_id": int(f["producerId"]),
                        "codec": f["compresscodec"]})
    return out


def kafka_target(bootstrap: str, log_dir: Path | None) -> Target:
    """The real Apache Kafka broker. log_dir (its log.dirs) enables the batch checks."""
    return Target(
        name="kafka",
        bootstrap=bootstrap,
        create_topic=lambda t, n: create_topic_admin(bootstrap, t, n),
        read_back=lambda t: read_back_kcat(bootstrap, t),
        batches=(lambda t: kafka_batches(log_dir, t)) if log_dir else None,
        committed=lambda g, t: committed_admin(bootstrap, g, t),
    )


# ---------------------------------------------------------------- the real broker


def start_kafka(state_dir: Path, timeout: float = 180) -> str:
    """Starts a broker with scripts/kafka/kafka.sh (state in state_dir); returns its bootstrap."""
    out = subprocess.run([str(KAFKA_SH), "start", str(state_dir)], check=True, timeout=timeout,
                         capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def stop_kafka(state_dir: Path) -> None:
    subprocess.run([str(KAFKA_SH), "stop", str(state_dir)], check=False, timeout=120)
