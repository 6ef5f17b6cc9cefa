"""The mirror to a real Apache Kafka broker over TLS: SASL_SSL with SCRAM-SHA-512 and mTLS (SSL with
a client certificate), configured with mirror.security; a wrong password and an untrusted broker
certificate show once as the uplink's state with the reason, nothing is lost, and mirroring resumes
when the bridge restarts with the fixed config.

The broker is this module's own (scripts/kafka/kafka.sh --security=sasl_ssl,ssl with certificates
from scripts/dev-certs.sh); records are read back over its PLAINTEXT listener.
"""
from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from bridge_process import ROOT, Bridge
from test_observability import produce, status, wait_until

KAFKA = str(ROOT / "scripts/kafka/kafka.sh")
TOPIC = "secure-readings"
RECORDS = 300


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("certs")
    subprocess.run([str(ROOT / "scripts/dev-certs.sh"), str(d)], check=True, capture_output=True,
                   timeout=120)
    return d


@pytest.fixture(scope="module")
def cloud(tmp_path_factory, certs) -> dict:
    state = tmp_path_factory.mktemp("secure-cloud")
    subprocess.run([KAFKA, "start", str(state), "--security=sasl_ssl,ssl", f"--certs={certs}",
                    "--scram-user=edge:edge-secret"], check=True, capture_output=True, text=True,
                   timeout=300)
    try:
        yield {kind: (state / f"{kind}_bootstrap").read_text().strip()
               for kind in ("sasl_ssl", "ssl", "plaintext")}
    finally:
        subprocess.run([KAFKA, "stop", str(state)], timeout=120)


def secret(path: Path, text: str) -> Path:
    path.write_text(text + "\n")
    path.chmod(0o600)
    return path


def mirror_yaml(site: str, bootstrap: str, security: dict) -> str:
    lines = [f"site_id: {site}", "topics: {defaults: {partitions: 2}}", "mirror:",
             f"  bootstrap: {bootstrap}", "  retry_backoff_max: 1s", "  security:"]
    lines += [f"    {k}: {v}" for k, v in security.items()]
    return "\n".join(lines) + "\n"


def cloud_count(plaintext: str, topic: str) -> int:
    """Records in the cloud topic (high watermarks over its two partitions)."""
    c = Consumer({"bootstrap.servers": plaintext, "group.id": "count-" + uuid.uuid4().hex})
    try:
        total = 0
        for p in range(2):
            lo, hi = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            total += hi - lo
        return total
    except Exception:  # the topic does not exist yet
        return 0
    finally:
        c.close()


def mirrored(bridge: Bridge, cloud: dict, site: str) -> None:
    produce(bridge.bootstrap, RECORDS, TOPIC)
    wait_until("every record in the cloud",
               lambda: cloud_count(cloud["plaintext"], f"{site}.{TOPIC}") == RECORDS, timeout=90)
    s = status(bridge)["uplink"]
    assert s["state"] == "connected", s


def test_mirror_over_sasl_ssl_scram(tmp_path, certs, cloud):
    site = f"scram-{uuid.uuid4().hex[:8]}"
    sec = {"protocol": "SASL_SSL", "ca": certs / "ca.crt", "sasl_mechanism": "SCRAM-SHA-512",
           "sasl_username": "edge",
           "sasl_password_file": secret(tmp_path / "cloud.password", "edge-secret")}
    b = Bridge(tmp_path / "b", extra_yaml=mirror_yaml(site, cloud["sasl_ssl"], sec)).start()
    try:
        mirrored(b, cloud, site)
    finally:
        assert b.stop() == 0, b.log()[-3000:]
    assert "edge-secret" not in b.log()  # nothing secret in logs


def test_mirror_over_mtls(tmp_path, certs, cloud):
    site = f"mtls-{uuid.uuid4().hex[:8]}"
    sec = {"protocol": "SSL", "ca": certs / "ca.crt", "cert": certs / "client.crt",
           "key": certs / "client.key"}
    b = Bridge(tmp_path / "b", extra_yaml=mirror_yaml(site, cloud["ssl"], sec)).start()
    try:
        mirrored(b, cloud, site)
    finally:
        assert b.stop() == 0, b.log()[-3000:]


def refusing(bridge: Bridge, words: str) -> dict:
    seen = []

    def check():
        u = status(bridge)["uplink"]
        seen[:] = [u["state"], u["last_error"]]
        return u if u["state"] == "refusing" and words in u["last_error"] else None
    try:
        return wait_until(f"uplink refusing with '{words}'", check, timeout=60)
    except AssertionError as e:
        raise AssertionError(f"{e}; last uplink state {seen}") from None


def test_wrong_password_refuses_then_resumes_with_the_fixed_config(tmp_path, certs, cloud):
    site = f"wrongpw-{uuid.uuid4().hex[:8]}"
    pw = secret(tmp_path / "cloud.password", "not-the-password")
    sec = {"protocol": "SASL_SSL", "ca": certs / "ca.crt", "sasl_mechanism": "SCRAM-SHA-512",
           "sasl_username": "edge", "sasl_password_file": pw}
    b = Bridge(tmp_path / "b", extra_yaml=mirror_yaml(site, cloud["sasl_ssl"], sec)).start()
    try:
        produce(b.bootstrap, RECORDS, TOPIC)
        u = refusing(b, "invalid credentials")
        assert u["delivered_records"] == 0, u
    finally:
        assert b.stop() == 0, b.log()[-3000:]
    # Reported once: the state, not a log line per retry.
    assert b.log().count("not-the-password") == 0
    secret(pw, "edge-secret")
    b.start()
    try:
        wait_until("every record in the cloud after the fix",
                   lambda: cloud_count(cloud["plaintext"], f"{site}.{TOPIC}") == RECORDS,
                   timeout=90)
        wait_until("uplink connected", lambda: status(b)["uplink"]["state"] == "connected")
    finally:
        assert b.stop() == 0, b.log()[-3000:]


def test_untrusted_broker_certificate_refuses(tmp_path, certs, cloud):
    site = f"untrusted-{uuid.uuid4().hex[:8]}"
    sec = {"protocol": "SSL", "ca": certs / "rogue-ca.crt", "cert": certs / "client.crt",
           "key": certs / "client.key"}
    b = Bridge(tmp_path / "b", extra_yaml=mirror_yaml(site, cloud["ssl"], sec)).start()
    try:
        produce(b.bootstrap, 10, TOPIC)
        u = refusing(b, "certificate verify failed")
        assert u["delivered_records"] == 0, u
    finally:
        assert b.stop() == 0, b.log()[-3000:]


def test_mirror_security_config_errors(tmp_path, certs):
    from bridge_process import bridge_bin
    key = tmp_path / "open.key"
    key.write_bytes((certs / "client.key").read_bytes())
    key.chmod(0o644)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"storage: {{data_dir: {tmp_path / 'd'}}}\n" + mirror_yaml(
        "x", "127.0.0.1:1", {"protocol": "SASL_SSL", "cert": certs / "client.crt", "key": key}))
    r = subprocess.run([bridge_bin(), "--config", str(cfg), "--check-config"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2
    assert "mirror.security.key" in r.stderr and "readable by every user" in r.stderr, r.stderr
    assert "mirror.security.sasl_mechanism: required" in r.stderr, r.stderr
