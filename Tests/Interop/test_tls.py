"""TLS listeners (issue 14, item 1) with real clients on real encrypted connections; certificates made at test time
by openssl (`tls_certs.py`).

- SSL with a server certificate only: confluent-kafka, kafka-python and aiokafka produce and consume (a Fetch's
  file slices are read into memory and encrypted: TLS cannot `sendfile`).
- Mutual TLS (`ssl.client.auth=required`): the client certificate's subject is the principal ACLs decide on, as
  Kafka writes it (`User:CN=alice,OU=eng,O=Fjord`), and `ssl.principal.mapping.rules` can shorten it.
- Refused, and nothing else disturbed: a client certificate from another authority, an expired one, no certificate
  where one is required, and a plaintext client on the TLS port.
- SASL_SSL: SCRAM over TLS, the SASL user as principal.
"""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import (AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType,
                                   ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion)

from conftest import running_fjord
from secured_clients import Errors, admin, consume, create, drop_secured_admins, produce  # noqa: F401 (fixture)
from tls_certs import Authority

TIMEOUT_S = 30
STANDARD_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
ALICE = "User:CN=alice,OU=eng,O=Fjord"
ADMIN = "User:CN=admin,O=Fjord"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("certs")
    ca = Authority(folder / "ca", "fjord-test-ca")
    other = Authority(folder / "other", "other-ca")
    return {
        "ca": ca.cert,
        "broker": ca.issue("broker", "/CN=broker", hosts=["127.0.0.1", "localhost"]).pem(),
        "alice": ca.issue("alice", "/O=Fjord/OU=eng/CN=alice"),
        "admin": ca.issue("admin", "/O=Fjord/CN=admin"),
        "bob": ca.issue("bob", "/O=Fjord/CN=bob"),
        "mallory": other.issue("mallory", "/O=Fjord/CN=mallory"),
        "expired": ca.issue("expired", "/O=Fjord/CN=expired", expired=True),
    }


def tls_overrides(certs, client_auth: str = "none", **extra: str) -> dict[str, str]:
    return {
        "listeners": "SSL://127.0.0.1:{port}",
        "ssl.keystore.type": "PEM",
        "ssl.keystore.location": str(certs["broker"]),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(certs["ca"]),
        "ssl.client.auth": client_auth,
        **extra,
    }


def ssl_conf(bootstrap: str, certs, client: str | None = None) -> dict:
    conf = {"bootstrap.servers": bootstrap, "security.protocol": "SSL", "ssl.ca.location": str(certs["ca"])}
    if client:
        conf["ssl.certificate.location"] = str(certs[client].cert)
        conf["ssl.key.location"] = str(certs[client].key)
    return conf


def test_ssl_serves_confluent_kafka_python_and_aiokafka(request, tmp_path, certs):
    with running_fjord(request, tmp_path, tls_overrides(certs)) as b:
        conf = ssl_conf(b.bootstrap, certs)
        create(conf, "tls-orders")
        values = [f"v{i}".encode() * 300 for i in range(200)]  # ~1 KB each: several fetches' worth of file slices
        assert produce(conf, "tls-orders", values) == [None] * 200
        assert consume(conf, "tls-orders", 200) == values

        from kafka import KafkaConsumer, KafkaProducer
        kp = KafkaProducer(bootstrap_servers=b.bootstrap, security_protocol="SSL", ssl_cafile=str(certs["ca"]))
        kp.send("tls-orders", b"from kafka-python").get(TIMEOUT_S)
        kp.close()
        kc = KafkaConsumer("tls-orders", bootstrap_servers=b.bootstrap, security_protocol="SSL",
                           ssl_cafile=str(certs["ca"]), auto_offset_reset="earliest", consumer_timeout_ms=10000)
        seen = [m.value for m in kc]
        kc.close()
        assert seen[:200] == values and seen[200] == b"from kafka-python"

        async def with_aiokafka():
            from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
            from aiokafka.helpers import create_ssl_context
            context = create_ssl_context(cafile=str(certs["ca"]))
            producer = AIOKafkaProducer(bootstrap_servers=b.bootstrap, security_protocol="SSL",
                                        ssl_context=context)
            await producer.start()
            try:
                await producer.send_and_wait("tls-orders", b"from aiokafka")
            finally:
                await producer.stop()
            consumer = AIOKafkaConsumer("tls-orders", bootstrap_servers=b.bootstrap, security_protocol="SSL",
                                        ssl_context=context, auto_offset_reset="earliest")
            await consumer.start()
            try:
                got = []
                while len(got) < 202:
                    batch = await asyncio.wait_for(consumer.getmany(timeout_ms=1000), TIMEOUT_S)
                    for records in batch.values():
                        got += [r.value for r in records]
                return got
            finally:
                await consumer.stop()

        assert asyncio.run(with_aiokafka())[-1] == b"from aiokafka"


def test_mutual_tls_principals_meet_acls_and_bad_certificates_are_refused(request, tmp_path, certs):
    overrides = tls_overrides(certs, "required", **{"authorizer.class.name": STANDARD_AUTHORIZER,
                                                     "super.users": ADMIN})
    with running_fjord(request, tmp_path, overrides) as b:
        root = ssl_conf(b.bootstrap, certs, "admin")
        create(root, "mtls")
        acl = AclBinding(ResourceType.TOPIC, "mtls", ResourcePatternType.LITERAL, ALICE, "*", AclOperation.WRITE,
                         AclPermissionType.ALLOW)
        admin(root).create_acls([acl])[acl].result(TIMEOUT_S)
        # The certificate's subject, as Kafka writes a principal: alice may write, bob (no ACL) may not.
        assert produce(ssl_conf(b.bootstrap, certs, "alice"), "mtls", [b"a"]) == [None]
        refused = produce(ssl_conf(b.bootstrap, certs, "bob"), "mtls", [b"b"])
        assert [e.code() for e in refused] == [KafkaError.TOPIC_AUTHORIZATION_FAILED]

        # Another authority's certificate, an expired one, and none at all: the handshake fails.
        for client in ("mallory", "expired", None):
            errors = Errors()
            p = Producer({**ssl_conf(b.bootstrap, certs, client), "error_cb": errors, "message.timeout.ms": 3000})
            p.produce("mtls", b"never")
            p.flush(8)
            assert any(e.code() in (KafkaError._SSL, KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN)
                       for e in errors.seen), (client, errors.seen)

        # A plaintext client on the TLS port: its bytes are no TLS record; the connection closes.
        host, port = b.bootstrap.split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            header = struct.pack(">hhih", 18, 0, 1, 3) + b"raw"
            sock.sendall(struct.pack(">i", len(header)) + header)
            try:
                data = sock.recv(4096)
                # A TLS alert at most, never a Kafka answer (which would start with its length and correlation 1).
                assert not data or data[0] == 0x15, data[:16]
            except ConnectionResetError:
                pass
        # Nothing else disturbed.
        assert produce(ssl_conf(b.bootstrap, certs, "alice"), "mtls", [b"a2"]) == [None]
        assert consume(root, "mtls", 2) == [b"a", b"a2"]
        assert b.alive()


def test_principal_mapping_rules_shorten_the_subject(request, tmp_path, certs):
    overrides = tls_overrides(certs, "required", **{
        "authorizer.class.name": STANDARD_AUTHORIZER, "super.users": "User:admin",
        "ssl.principal.mapping.rules": "RULE:^CN=([a-z]+),.*$/$1/L,DEFAULT"})
    with running_fjord(request, tmp_path, overrides) as b:
        root = ssl_conf(b.bootstrap, certs, "admin")  # CN=admin,O=Fjord -> User:admin, the super user
        create(root, "mapped")
        acl = AclBinding(ResourceType.TOPIC, "mapped", ResourcePatternType.LITERAL, "User:alice", "*",
                         AclOperation.WRITE, AclPermissionType.ALLOW)
        admin(root).create_acls([acl])[acl].result(TIMEOUT_S)
        assert produce(ssl_conf(b.bootstrap, certs, "alice"), "mapped", [b"m"]) == [None]


def test_sasl_ssl_authenticates_with_scram_inside_tls(request, tmp_path, certs):
    overrides = tls_overrides(certs, **{
        "listeners": "SASL_SSL://127.0.0.1:{port}",
        "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-512",
        "listener.name.sasl_ssl.plain.sasl.jaas.config":
            'org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-secret";',
        "authorizer.class.name": STANDARD_AUTHORIZER, "super.users": "User:admin"})
    with running_fjord(request, tmp_path, overrides) as b:
        def conf(mechanism: str, user: str, password: str) -> dict:
            return {**ssl_conf(b.bootstrap, certs), "security.protocol": "SASL_SSL", "sasl.mechanism": mechanism,
                    "sasl.username": user, "sasl.password": password}
        root = conf("PLAIN", "admin", "admin-secret")
        create(root, "sasl-ssl")
        admin(root).alter_user_scram_credentials([UserScramCredentialUpsertion(
            "lena", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), b"lena-secret")])["lena"].result(TIMEOUT_S)
        acl = AclBinding(ResourceType.TOPIC, "sasl-ssl", ResourcePatternType.LITERAL, "User:lena", "*",
                         AclOperation.WRITE, AclPermissionType.ALLOW)
        admin(root).create_acls([acl])[acl].result(TIMEOUT_S)
        assert produce(conf("SCRAM-SHA-512", "lena", "lena-secret"), "sasl-ssl", [b"l"]) == [None]
        assert consume(root, "sasl-ssl", 1) == [b"l"]
        errors = Errors()
        p = Producer({**conf("SCRAM-SHA-512", "lena", "wrong"), "error_cb": errors, "message.timeout.ms": 3000})
        p.produce("sasl-ssl", b"never")
        p.flush(8)
        assert any(e.code() == KafkaError._AUTHENTICATION for e in errors.seen), errors.seen


def test_fjordclient_and_the_cli_speak_tls(request, tmp_path, certs):
    """FjordClient (through the command line's --command-config, Kafka's client property names) over SSL with
    mutual TLS — its certificate is its principal — and over SASL_SSL; an untrusted broker certificate is refused."""
    import subprocess

    from conftest import fjord_bin

    overrides = tls_overrides(certs, "requested", **{
        "listeners": "SSL://127.0.0.1:{port},SASL_SSL://127.0.0.1:{port2}",
        "sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_ssl.plain.sasl.jaas.config":
            'org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-secret";',
        "authorizer.class.name": STANDARD_AUTHORIZER, "super.users": f"{ADMIN};User:admin"})
    with running_fjord(request, tmp_path, overrides) as b:
        def config(name: str, *lines: str) -> str:
            path = tmp_path / name
            path.write_text("\n".join(lines) + "\n")
            return str(path)

        trust = f"ssl.truststore.location={certs['ca']}"
        admin_tls = config("admin-tls.properties", "security.protocol=SSL", trust,
                           f"ssl.keystore.location={certs['admin'].pem()}")
        anonymous = config("anonymous.properties", "security.protocol=SSL", trust)
        sasl_ssl = config("sasl-ssl.properties", "security.protocol=SASL_SSL", trust, "sasl.mechanism=PLAIN",
                          "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required "
                          'username="admin" password="admin-secret";')
        untrusted = config("untrusted.properties", "security.protocol=SSL",
                           f"ssl.truststore.location={certs['mallory'].cert}")

        def fj(listener: str, cfg: str, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
            return subprocess.run([fjord_bin(), *args, "--bootstrap", b.listener(listener), "--command-config", cfg],
                                  input=input, capture_output=True, text=True, timeout=60)

        done = fj("SSL", admin_tls, "topic", "create", "client-tls")
        assert done.returncode == 0, done.stderr
        done = fj("SSL", admin_tls, "produce", "client-tls", input="t1\nt2\n")
        assert done.returncode == 0, done.stderr
        # Without a certificate the principal is ANONYMOUS, which no ACL lets in.
        assert fj("SSL", anonymous, "produce", "client-tls", input="no\n").returncode != 0
        done = fj("SASL_SSL", sasl_ssl, "consume", "client-tls", "--count", "2")
        assert (done.returncode, done.stdout.split()) == (0, ["t1", "t2"]), done.stderr
        refused = fj("SSL", untrusted, "topic", "list")
        assert refused.returncode != 0
