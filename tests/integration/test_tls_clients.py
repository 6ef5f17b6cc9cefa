"""Real clients over TLS to the edgebridge binary, default settings plus the security properties
(EB_CLIENT_SECURITY, tests/clients/security.py): every client produces and consumes with a group
over SSL; a subset over mTLS. Negative cases: a client certificate from an untrusted CA, an expired
one, a plaintext client on the TLS port (each fails clearly; the server goes on serving others),
and a client that connects and never starts the handshake (closed after tls_handshake_timeout).
Metadata advertises each listener's own address.

One bridge with three listeners: PLAINTEXT on loopback, SSL, and SSL with client_auth required.
"""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

import clients_lib
from bridge_process import ROOT, Bridge, free_port, wait_for_port
from clients_lib import Consumer, producer_by_name, venv_python, CLIENTS
from verify import verify

RECORDS = 200
TIMEOUT = 60.0

CONSUMER_OF = {
    "kcat": "kcat-G", "confluent-kafka": "confluent-kafka", "kafkajs": "kafkajs",
    "franz-go": "franz-go", "java": "java", "kafka-python": "kafka-python",
}
KAFKA_PYTHON_CONSUMER = Consumer(
    "kafka-python",
    lambda: [venv_python(), str(CLIENTS / "python" / "kafka_python_consumer.py")])


def consumer_by_name(name: str) -> Consumer:
    if name == "kafka-python":
        return KAFKA_PYTHON_CONSUMER
    return next(c for c in clients_lib.CONSUMERS if c.name == name)


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("certs")
    subprocess.run([str(ROOT / "scripts/dev-certs.sh"), str(d)], check=True, capture_output=True,
                   timeout=120)
    return d


@pytest.fixture(scope="module")
def bridge(tmp_path_factory, certs):
    b = Bridge(tmp_path_factory.mktemp("tls-bridge"))
    b.tls_port, b.mtls_port = free_port(), free_port()
    b.config_path.write_text(f"""\
listeners:
  - {{name: local, host: 127.0.0.1, port: {b.port}}}
  - name: floor
    host: 127.0.0.1
    port: {b.tls_port}
    security_protocol: SSL
    tls: {{cert: {certs}/server.crt, key: {certs}/server.key}}
  - name: devices
    host: 127.0.0.1
    port: {b.mtls_port}
    security_protocol: SSL
    tls:
      cert: {certs}/server.crt
      key: {certs}/server.key
      client_ca: {certs}/ca.crt
      client_auth: required
      principal_mapping_rules: "RULE:^CN=([^,]+),.*$/$1/L,DEFAULT"
server: {{tls_handshake_timeout: 2s}}
http: {{host: 127.0.0.1, port: {b.http_port}}}
storage: {{data_dir: {b.data_dir}}}
topics: {{defaults: {{partitions: 2}}}}
""")
    b.start()
    wait_for_port(b.tls_port, b.proc)
    try:
        yield b
    finally:
        rc = b.stop()
        assert rc == 0, b.log()[-4000:]


def security(certs: Path, identity: str | None = None) -> dict:
    s = {"protocol": "SSL", "ca": str(certs / "ca.crt")}
    if identity:
        s["cert"], s["key"] = str(certs / f"{identity}.crt"), str(certs / f"{identity}.key")
    return s


def with_security(settings: dict | None):
    class _env:
        def __enter__(self):
            self.old = os.environ.get("EB_CLIENT_SECURITY")
            if settings is None:
                os.environ.pop("EB_CLIENT_SECURITY", None)
            else:
                os.environ["EB_CLIENT_SECURITY"] = json.dumps(settings)

        def __exit__(self, *a):
            if self.old is None:
                os.environ.pop("EB_CLIENT_SECURITY", None)
            else:
                os.environ["EB_CLIENT_SECURITY"] = self.old
    return _env()


def round_trip(bridge, client: str, bootstrap: str, settings: dict, topic_prefix: str) -> None:
    producer = producer_by_name(client)
    run_id = clients_lib.new_run_id()
    topic = f"{topic_prefix}-{client}-{run_id}"
    # Created ahead over the loopback listener, as test_clients.py does (franz-go does not ask
    # for auto-creation).
    clients_lib.create_topic_admin(bridge.bootstrap, topic, 2)
    with with_security(settings):
        run = clients_lib.run_producer(producer, bootstrap, topic, RECORDS, run_id, TIMEOUT)
        assert clients_lib.producer_ok(run, RECORDS), run.explain()
        consumer = consumer_by_name(CONSUMER_OF[client])
        crun, got = clients_lib.run_consumer(consumer, bootstrap, topic, f"g-{run_id}", RECORDS,
                                             TIMEOUT)
    assert crun.returncode == 0 and crun.summary and crun.summary["consumed"] == RECORDS, \
        crun.explain()
    report = verify(got, producer.name, run_id, RECORDS, producer.seq_header, min_partitions=2)
    assert report.ok, str(report)


@pytest.mark.parametrize("client", ["kcat", "confluent-kafka", "kafka-python", "kafkajs",
                                    "franz-go", "java"])
def test_ssl_produce_and_consume_with_a_group(bridge, certs, client):
    round_trip(bridge, client, f"127.0.0.1:{bridge.tls_port}", security(certs), "tls")


@pytest.mark.parametrize("client", ["confluent-kafka", "franz-go", "java"])
def test_mtls_produce_and_consume_with_a_group(bridge, certs, client):
    round_trip(bridge, client, f"127.0.0.1:{bridge.mtls_port}", security(certs, "client"), "mtls")


def refused(bridge, client: str, port: int, settings: dict | None) -> clients_lib.Run:
    run_id = clients_lib.new_run_id()
    with with_security(settings):
        run = clients_lib.run_producer(producer_by_name(client), f"127.0.0.1:{port}",
                                       f"refused-{run_id}", 5, run_id, 18)
    assert run.returncode not in (0, None), run.explain()  # fails by itself, within its timeout
    assert (run.summary or {}).get("acked", 0) == 0, run.explain()
    return run


@pytest.mark.parametrize("client,identity", [("confluent-kafka", "rogue"), ("java", "expired"),
                                             ("kcat", "expired")])
def test_untrusted_or_expired_client_certificate_is_refused(bridge, certs, client, identity):
    refused(bridge, client, bridge.mtls_port, security(certs, identity))
    assert re.search(r"TLS handshake from .* on listener devices failed", bridge.log())
    round_trip(bridge, "confluent-kafka", f"127.0.0.1:{bridge.mtls_port}", security(certs, "client"),
               "after-refusal")


def test_plaintext_client_on_the_tls_port_fails_clearly(bridge, certs):
    run = refused(bridge, "confluent-kafka", bridge.tls_port, None)
    # The client sees the connection closed during its first request, at once (no hang).
    assert "connection closed by peer" in run.stderr and "APIVERSION_QUERY" in run.stderr, \
        run.explain()
    round_trip(bridge, "kcat", f"127.0.0.1:{bridge.tls_port}", security(certs), "after-plaintext")


def test_silent_client_is_closed_after_the_handshake_timeout(bridge, certs):
    with socket.create_connection(("127.0.0.1", bridge.tls_port), timeout=15) as s:
        t0 = time.monotonic()
        assert s.recv(1) == b""  # closed by the server, no bytes
        waited = time.monotonic() - t0
    assert 1.0 <= waited < 12, waited


def test_metadata_advertises_each_listeners_own_address(bridge, certs):
    plain = subprocess.run(["kcat", "-b", bridge.bootstrap, "-L", "-J"], capture_output=True,
                           text=True, timeout=30, check=True)
    tls = subprocess.run(["kcat", "-b", f"127.0.0.1:{bridge.tls_port}", "-X",
                          "security.protocol=SSL", "-X", f"ssl.ca.location={certs}/ca.crt", "-L",
                          "-J"], capture_output=True, text=True, timeout=30, check=True)
    assert json.loads(plain.stdout)["brokers"][0]["name"] == f"127.0.0.1:{bridge.port}"
    assert json.loads(tls.stdout)["brokers"][0]["name"] == f"127.0.0.1:{bridge.tls_port}"


def test_secured_example_config_as_the_readme_runs_it(tmp_path):
    """README "Secured setup": dev-certs.sh, the password files, config/edgebridge.secure.yaml
    (ports moved off 9092-9094 for the test); admin produces over TLS + SCRAM and reads back,
    device1 connects with its certificate."""
    from bridge_process import bridge_bin
    subprocess.run([str(ROOT / "scripts/dev-certs.sh"), "certs"], cwd=tmp_path, check=True,
                   capture_output=True, timeout=120)
    secrets = tmp_path / "secrets"
    secrets.mkdir(mode=0o700)
    for name, pw in (("admin", "admin-secret"), ("device1", "device-secret")):
        (secrets / f"{name}.password").write_text(pw + "\n")
        (secrets / f"{name}.password").chmod(0o600)
    ports = {p: free_port() for p in (9092, 9093, 9094)}
    text = (ROOT / "config/edgebridge.secure.yaml").read_text()
    for old, new in ports.items():
        text = text.replace(f"port: {old}", f"port: {new}")
    http = free_port()
    cfg = tmp_path / "secure.yaml"
    cfg.write_text(text + f"http: {{host: 127.0.0.1, port: {http}}}\n")
    proc = subprocess.Popen([bridge_bin(), "--config", str(cfg)], cwd=tmp_path,
                            stdout=open(tmp_path / "log", "wb"), stderr=subprocess.STDOUT)
    try:
        wait_for_port(ports[9094], proc)
        assert oct((tmp_path / "data").stat().st_mode & 0o777) == "0o700"
        scram = ["-X", "security.protocol=SASL_SSL", "-X", "ssl.ca.location=certs/ca.crt", "-X",
                 "sasl.mechanism=SCRAM-SHA-512", "-X", "sasl.username=admin", "-X",
                 "sasl.password=admin-secret"]
        subprocess.run(["kcat", "-b", f"127.0.0.1:{ports[9093]}", *scram, "-t", "readings", "-P"],
                       input=b"hello\n", cwd=tmp_path, check=True, timeout=60)
        out = subprocess.run(["kcat", "-b", f"127.0.0.1:{ports[9093]}", *scram, "-t", "readings",
                              "-C", "-o", "beginning", "-e", "-q"], cwd=tmp_path, check=True,
                             timeout=60, capture_output=True)
        assert out.stdout == b"hello\n"
        mtls = subprocess.run(["kcat", "-b", f"127.0.0.1:{ports[9094]}", "-X",
                               "security.protocol=SSL", "-X", "ssl.ca.location=certs/ca.crt", "-X",
                               "ssl.certificate.location=certs/client.crt", "-X",
                               "ssl.key.location=certs/client.key", "-L", "-J"], cwd=tmp_path,
                              check=True, timeout=60, capture_output=True, text=True)
        assert json.loads(mtls.stdout)["brokers"][0]["name"] == f"127.0.0.1:{ports[9094]}"
    finally:
        proc.terminate()
        assert proc.wait(60) == 0, (tmp_path / "log").read_text()[-3000:]
