"""SASL (SCRAM-SHA-512/256, PLAIN) over TLS and plaintext, ACLs and SCRAM users, with real clients
at default settings plus the security properties, and the real Kafka tools (kafka-configs.sh,
kafka-acls.sh: ConfigCommand and AclCommand from scripts/kafka/kafka.sh's jars).

One bridge with three listeners: SASL_SSL (certificates from scripts/dev-certs.sh), SASL_PLAINTEXT
and PLAINTEXT, the authorizer on with super user "admin" (a bootstrap user from a 0600 password
file). Users alice and bob are created with kafka-configs.sh; alice gets Read/Write on the topic
and Read on the group with kafka-acls.sh, bob only Write on the topic.

Run: tests/clients/install.sh && .cache/clients/venv/bin/python -m pytest tests/integration/test_security.py
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

import clients_lib
from bridge_process import Bridge, free_port, wait_for_port
from clients_lib import CONSUMERS, KAFKA_SH, ROOT, producer_by_name
from verify import verify

TOPIC = "secure-readings"
GROUP = "secure-app"
COUNT = 60
TIMEOUT = 90.0


class SecureBridge(Bridge):
    def __init__(self, workdir: Path):
        super().__init__(workdir)
        self.certs = self.workdir / "certs"
        subprocess.run([str(ROOT / "scripts" / "dev-certs.sh"), str(self.certs)], check=True,
                       capture_output=True, timeout=120)
        pw = self.workdir / "admin.password"
        pw.write_text("admin-secret\n")
        pw.chmod(0o600)
        self.ssl_port, self.sasl_port = free_port(), free_port()
        self.config_path.write_text(f"""
http: {{host: 127.0.0.1, port: {self.http_port}}}
storage: {{data_dir: {self.data_dir}}}
listeners:
  - {{name: LOCAL, host: 127.0.0.1, port: {self.port}, security_protocol: PLAINTEXT}}
  - name: FLOOR
    host: 127.0.0.1
    port: {self.ssl_port}
    security_protocol: SASL_SSL
    tls: {{cert: {self.certs}/server.crt, key: {self.certs}/server.key}}
  - {{name: FLOOR_PLAIN, host: 127.0.0.1, port: {self.sasl_port},
     security_protocol: SASL_PLAINTEXT}}
sasl:
  mechanisms: [SCRAM-SHA-512, SCRAM-SHA-256, PLAIN]
authorization:
  enabled: true
  super_users: ["User:admin"]
users:
  admin: {{password_file: {pw}}}
""")

    @property
    def ssl_bootstrap(self) -> str:
        return f"127.0.0.1:{self.ssl_port}"

    @property
    def sasl_bootstrap(self) -> str:
        return f"127.0.0.1:{self.sasl_port}"

    def security(self, user: str, password: str, mechanism: str = "SCRAM-SHA-512",
                 tls: bool = True) -> dict:
        s = {"protocol": "SASL_SSL" if tls else "SASL_PLAINTEXT", "mechanism": mechanism,
             "username": user, "password": password}
        if tls:
            s["ca"] = str(self.certs / "ca.crt")
        return s


@pytest.fixture(scope="module")
def bridge(tmp_path_factory):
    clients_lib.install_clients()
    subprocess.run([str(KAFKA_SH), "fetch"], check=True, timeout=1800)
    b = SecureBridge(tmp_path_factory.mktemp("secure"))
    b.start()
    wait_for_port(b.ssl_port, b.proc)
    wait_for_port(b.sasl_port, b.proc)
    yield b
    b.stop()


def command_config(bridge: SecureBridge, user: str, password: str) -> Path:
    """A Java client properties file (the tools' --command-config) for SASL_SSL SCRAM-SHA-512."""
    p = bridge.workdir / f"{user}.properties"
    p.write_text(
        "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n"
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{user}" password="{password}";\n'
        f"ssl.truststore.type=PEM\nssl.truststore.location={bridge.certs / 'ca.crt'}\n")
    return p


def kafka_tool(cls: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([str(KAFKA_SH), "run-class", cls, *args], capture_output=True, text=True,
                          timeout=timeout)


def with_security(monkeypatch, settings: dict) -> None:
    monkeypatch.setenv("EB_CLIENT_SECURITY", json.dumps(settings))


@pytest.fixture(scope="module")
def users_and_acls(bridge):
    """kafka-configs.sh makes alice and bob; kafka-acls.sh grants alice the topic and the group,
    bob only Write on the topic. All as the super user over SASL_SSL."""
    admin = command_config(bridge, "admin", "admin-secret")
    for user, pw in (("alice", "alice-secret"), ("bob", "bob-secret")):
        r = kafka_tool("kafka.admin.ConfigCommand", "--bootstrap-server", bridge.ssl_bootstrap,
                       "--command-config", str(admin), "--alter", "--add-config",
                       f"SCRAM-SHA-512=[password={pw}],SCRAM-SHA-256=[iterations=4096,password={pw}]",
                       "--entity-type", "users", "--entity-name", user)
        assert r.returncode == 0, r.stderr[-3000:]
    # Described through DescribeUserScramCredentials (ConfigCommand --describe also asks for
    # client quotas, which edgebridge does not have): mechanisms and iterations, no secret.
    from confluent_kafka.admin import AdminClient, ScramMechanism
    admin_client = AdminClient(librdkafka_props(bridge, "admin", "admin-secret"))
    described = admin_client.describe_user_scram_credentials(["alice", "bob"])
    for user in ("alice", "bob"):
        infos = described[user].result(timeout=60).scram_credential_infos
        assert {(i.mechanism, i.iterations) for i in infos} == {
            (ScramMechanism.SCRAM_SHA_512, 4096), (ScramMechanism.SCRAM_SHA_256, 4096)}, infos
    acl = ["kafka.admin.AclCommand", "--bootstrap-server", bridge.ssl_bootstrap,
           "--command-config", str(admin)]
    for args in (["--allow-principal", "User:alice", "--operation", "Read", "--operation", "Write",
                  "--operation", "Create", "--resource-pattern-type", "prefixed", "--topic",
                  "secure-"],
                 ["--allow-principal", "User:alice", "--operation", "Read",
                  "--resource-pattern-type", "prefixed", "--group", "secure-"],
                 ["--allow-principal", "User:bob", "--operation", "Write", "--topic", TOPIC],
                 ["--allow-principal", "User:bob", "--operation", "Read", "--resource-pattern-type",
                  "prefixed", "--group", "bob-"]):
        r = kafka_tool(*acl, "--add", "--force", *args)
        assert r.returncode == 0, r.stderr[-3000:]
    r = kafka_tool(*acl, "--list")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "User:alice" in r.stdout and "User:bob" in r.stdout and "WRITE" in r.stdout, r.stdout
    assert "PREFIXED" in r.stdout, r.stdout
    # The topic bob writes, made by the super user.
    from confluent_kafka.admin import AdminClient, NewTopic
    a = AdminClient(librdkafka_props(bridge, "admin", "admin-secret"))
    a.create_topics([NewTopic(TOPIC, 1, 1)])[TOPIC].result(timeout=60)
    return True


def librdkafka_props(bridge, user, pw, mechanism="SCRAM-SHA-512"):
    s = bridge.security(user, pw, mechanism)
    return {"bootstrap.servers": bridge.ssl_bootstrap, "security.protocol": s["protocol"],
            "sasl.mechanism": s["mechanism"], "sasl.username": user, "sasl.password": pw,
            "ssl.ca.location": s["ca"]}


def produce(monkeypatch, bridge, name, settings, bootstrap, topic=TOPIC, count=COUNT):
    with_security(monkeypatch, settings)
    run_id = clients_lib.new_run_id()
    run = clients_lib.run_producer(producer_by_name(name), bootstrap, topic, count, run_id, TIMEOUT)
    return run, run_id


def consumer_by_name(name):
    return next(c for c in CONSUMERS if c.name == name)


# Producer, consumer, mechanism, listener: every client over SASL, most over TLS.
CASES = [
    ("confluent-kafka", "confluent-kafka", "SCRAM-SHA-512", True),
    ("kcat", "kcat-G", "SCRAM-SHA-256", True),
    ("kafka-python", None, "PLAIN", True),
    ("kafkajs", "kafkajs", "SCRAM-SHA-512", True),
    ("franz-go", "franz-go", "SCRAM-SHA-512", False),
    ("java", "java", "SCRAM-SHA-512", True),
    ("confluent-kafka", None, "PLAIN", False),
]


@pytest.mark.parametrize("producer,consumer,mechanism,tls", CASES,
                         ids=[f"{p}-{m}-{'ssl' if t else 'plain'}" for p, _, m, t in CASES])
def test_client_round_trip(bridge, users_and_acls, monkeypatch, producer, consumer, mechanism,
                           tls):
    settings = bridge.security("alice", "alice-secret", mechanism, tls)
    bootstrap = bridge.ssl_bootstrap if tls else bridge.sasl_bootstrap
    # A topic of its own, auto-created by the producer under alice's prefixed Create ACL.
    case = f"{producer}-{mechanism}-{'ssl' if tls else 'plain'}".lower()
    topic = f"secure-{case}"
    if producer == "franz-go":
        # franz-go does not ask for auto-creation (kgo.AllowAutoTopicCreation is off by default).
        from confluent_kafka.admin import AdminClient, NewTopic
        a = AdminClient(librdkafka_props(bridge, "admin", "admin-secret"))
        a.create_topics([NewTopic(topic, 1, 1)])[topic].result(timeout=60)
    run, run_id = produce(monkeypatch, bridge, producer, settings, bootstrap, topic)
    assert clients_lib.producer_ok(run, COUNT), run.explain()
    if consumer is None:
        return
    run, got = clients_lib.run_consumer(consumer_by_name(consumer), bootstrap, topic,
                                        f"secure-g-{case}", COUNT, TIMEOUT)
    assert run.returncode == 0, run.explain()
    report = verify(got, producer, run_id, COUNT, producer_by_name(producer).seq_header)
    assert report.ok, str(report)


def test_wrong_password_and_unknown_user_fail(bridge, users_and_acls):
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    for user, pw, mech in (("alice", "wrong-pw", "SCRAM-SHA-512"),
                           ("mallory", "x-pw", "SCRAM-SHA-256"), ("alice", "wrong-pw", "PLAIN")):
        errors = []
        a = AdminClient({**librdkafka_props(bridge, user, pw, mech),
                         "error_cb": lambda e: errors.append(e)})
        with pytest.raises(KafkaException):
            a.list_topics(timeout=10)
        a.poll(1)  # serves error_cb
        assert any("Authentication failed" in e.str() for e in errors), [e.str() for e in errors]
    log = bridge.log()
    assert "authentication failed" in log
    for secret in ("wrong-pw", "x-pw", "alice-secret", "admin-secret"):
        assert secret not in log


def test_missing_acls_give_kafka_errors(bridge, users_and_acls, monkeypatch):
    from confluent_kafka import Consumer, KafkaError, KafkaException, Producer

    def props(user, pw):
        return librdkafka_props(bridge, user, pw)

    # bob may write the topic but not read it, and has no ACL for GROUP.
    c = Consumer({**props("bob", "bob-secret"), "group.id": GROUP, "auto.offset.reset": "earliest"})
    c.subscribe([TOPIC])
    err = None
    deadline = time.monotonic() + 30
    while err is None and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error():
            err = m.error()
    c.close()
    assert err is not None and err.code() == KafkaError.GROUP_AUTHORIZATION_FAILED, err
    # With a group bob may use, reading the topic fails on the topic.
    c = Consumer({**props("bob", "bob-secret"), "group.id": "bob-app",
                  "auto.offset.reset": "earliest"})
    c.subscribe([TOPIC])
    err = None
    deadline = time.monotonic() + 30
    while err is None and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error():
            err = m.error()
    c.close()
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, err
    # alice may not write a topic she has no ACL for (auto-create needs Create too).
    p = Producer({**props("alice", "alice-secret"), "message.timeout.ms": 10000})
    failures = []
    p.produce("not-alices", b"x", on_delivery=lambda e, m: failures.append(e))
    p.flush(20)
    assert failures and failures[0] is not None and failures[0].code() in (
        KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError._MSG_TIMED_OUT), failures
    # Metadata lists only what the principal may describe.
    md = Producer(props("bob", "bob-secret")).list_topics(timeout=20)
    assert set(md.topics) == {TOPIC}, sorted(md.topics)
    log = bridge.log()
    assert "denied" in log and "User:bob" in log


def test_users_cli_offline(bridge, users_and_acls, monkeypatch):
    """`edgebridge users` works on the data dir of a stopped bridge; the user then authenticates."""
    bridge.stop()
    pwfile = bridge.workdir / "carol.password"
    pwfile.write_text("carol-secret\n")
    pwfile.chmod(0o644)
    cli = [clients_lib_bridge_bin(), "--config", str(bridge.config_path), "users"]
    r = subprocess.run([*cli, "add", "carol", "--password-file", str(pwfile)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0 and "readable by others" in r.stderr, r.stderr
    pwfile.chmod(0o600)
    r = subprocess.run([*cli, "add", "carol", "--password-file", str(pwfile)], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([*cli, "list"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "carol" in r.stdout and "alice" in r.stdout, r.stdout + r.stderr
    assert "secret" not in r.stdout
    bridge.start()
    wait_for_port(bridge.ssl_port, bridge.proc)
    from confluent_kafka.admin import AdminClient
    admin = AdminClient(librdkafka_props(bridge, "carol", "carol-secret"))
    md = admin.list_topics(timeout=20)
    # carol authenticates, and has no ACL: she sees no topic.
    assert TOPIC not in md.topics


def clients_lib_bridge_bin() -> str:
    from bridge_process import bridge_bin
    return bridge_bin()
