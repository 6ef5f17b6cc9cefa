"""The security settings a test hands to every client program: env EB_CLIENT_SECURITY, a JSON
object {"protocol": "SASL_PLAINTEXT"|"SASL_SSL"|"SSL", "mechanism": "SCRAM-SHA-512"|
"SCRAM-SHA-256"|"PLAIN", "username", "password", "ca": PEM path, "cert", "key": the client's PEM
certificate and (PKCS#8) key for mTLS}. Unset: plaintext, as before.
Each program maps it onto its own client's settings; these helpers do it for the Python ones."""
import json
import os


def settings() -> dict:
    raw = os.environ.get("EB_CLIENT_SECURITY")
    return json.loads(raw) if raw else {}


def librdkafka() -> dict:
    """confluent-kafka / kcat properties."""
    s = settings()
    out = {}
    if s.get("protocol"):
        out["security.protocol"] = s["protocol"]
    if s.get("mechanism"):
        out["sasl.mechanism"] = s["mechanism"]
        out["sasl.username"] = s["username"]
        out["sasl.password"] = s["password"]
    if s.get("ca"):
        out["ssl.ca.location"] = s["ca"]
    if s.get("cert"):
        out["ssl.certificate.location"] = s["cert"]
        out["ssl.key.location"] = s["key"]
    return out


def kafka_python() -> dict:
    s = settings()
    out = {}
    if s.get("protocol"):
        out["security_protocol"] = s["protocol"]
    if s.get("mechanism"):
        out["sasl_mechanism"] = s["mechanism"]
        out["sasl_plain_username"] = s["username"]
        out["sasl_plain_password"] = s["password"]
    if s.get("ca"):
        out["ssl_cafile"] = s["ca"]
    if s.get("cert"):
        out["ssl_certfile"] = s["cert"]
        out["ssl_keyfile"] = s["key"]
    return out
