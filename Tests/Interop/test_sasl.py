"""SASL authentication (issue 14, item 2) with real clients on a SASL_PLAINTEXT listener.

- PLAIN: users from the listener's JAAS configuration, as Kafka reads `listener.name.<l>.plain.sasl.jaas.config`.
  confluent-kafka (librdkafka: SaslHandshake v1 + SaslAuthenticate) and kafka-python write and read as a user with
  the right password; a wrong password is refused with SASL_AUTHENTICATION_FAILED and Kafka's message, and no
  record gets in.
- A connection that has not authenticated gets nothing but ApiVersions and the SASL requests: a Metadata request
  before the handshake closes it; a mechanism the listener does not enable is answered UNSUPPORTED_SASL_MECHANISM
  with the enabled list.
- SCRAM-SHA-256 and SCRAM-SHA-512: credentials created with AlterUserScramCredentials (confluent-kafka's admin
  client salts the password itself; the broker stores only the derived keys, as UserScramCredentialRecords),
  listed by DescribeUserScramCredentials (mechanism and iterations, never keys), used to log in with each
  mechanism, refused with a wrong password, gone once deleted, and still there after a restart.
- Principals meet ACLs: with the StandardAuthorizer, `User:alice` may write the topic an ACL gives her and is
  refused another (TOPIC_AUTHORIZATION_FAILED), while the super user writes both.
- OAUTHBEARER with unsecured JWTs (Kafka's default validator): the token's subject is the principal; a token
  without the required scope gets the RFC 7628 error challenge, then SASL_AUTHENTICATION_FAILED.
- KIP-368: with `connections.max.reauth.ms` the client is told its session lifetime and re-authenticates on the
  same connection, losing nothing.
- `fjord storage format --add-scram` (KRaft mode): the credential is in the new cluster's first metadata records.
"""

from __future__ import annotations

import socket
import struct
import subprocess
import uuid

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import (AclBinding, AclOperation, AclPermissionType, AdminClient, NewTopic,
                                   ResourcePatternType, ResourceType, ScramCredentialInfo, ScramMechanism,
                                   UserScramCredentialDeletion, UserScramCredentialUpsertion)

import secured_clients as secured
from conftest import fjord_bin, free_port, restart_broker, running_fjord, _start, _track
from secured_clients import Errors, drop_secured_admins  # noqa: F401 (autouse fixture)
from waiting import wait_for, wait_until

TIMEOUT_S = 30
PLAIN_JAAS = ('org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" '
              'password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";')
STANDARD_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


def sasl_overrides(**extra: str) -> dict[str, str]:
    return {
        "listeners": "SASL_PLAINTEXT://127.0.0.1:{port}",
        "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": PLAIN_JAAS,
        **extra,
    }


def client_conf(bootstrap: str, user: str, password: str, mechanism: str = "PLAIN") -> dict:
    return {"bootstrap.servers": bootstrap, "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": mechanism,
            "sasl.username": user, "sasl.password": password}


def produce(bootstrap: str, user: str, password: str, topic: str, values: list[bytes],
            mechanism: str = "PLAIN") -> list:
    """Produces `values` as `user`; the delivery reports' errors (None each when all were written)."""
    return secured.produce({**client_conf(bootstrap, user, password, mechanism), "message.timeout.ms": 20000},
                           topic, values)


def consume(bootstrap: str, user: str, password: str, topic: str, count: int) -> list[bytes]:
    return secured.consume(client_conf(bootstrap, user, password), topic, count)


def sasl_admin(bootstrap: str, user: str = "admin", password: str = "admin-secret",
               mechanism: str = "PLAIN") -> AdminClient:
    return secured.admin(client_conf(bootstrap, user, password, mechanism))


def create(bootstrap: str, topic: str) -> None:
    secured.create(client_conf(bootstrap, "admin", "admin-secret"), topic)


@pytest.fixture
def sasl_broker(request, tmp_path):
    with running_fjord(request, tmp_path, sasl_overrides()) as b:
        yield b


# MARK: PLAIN


def test_plain_users_write_and_read_and_a_wrong_password_is_refused(sasl_broker):
    bootstrap = sasl_broker.bootstrap
    create(bootstrap, "plain-orders")
    assert produce(bootstrap, "alice", "alice-secret", "plain-orders", [b"a1", b"a2"]) == [None, None]

    errors = Errors()
    refused = Producer({**client_conf(bootstrap, "alice", "not-her-password"), "error_cb": errors,
                        "message.timeout.ms": 3000})
    refused.produce("plain-orders", b"never")
    refused.flush(10)
    wait_until(lambda: errors.authentication(), TIMEOUT_S, "no authentication error reported")
    assert "Authentication failed: Invalid username or password" in errors.authentication()[0].str()

    # kafka-python (its own SASL code) writes as admin, then everything written is read back as alice.
    from kafka import KafkaProducer
    kp = KafkaProducer(bootstrap_servers=bootstrap, security_protocol="SASL_PLAINTEXT", sasl_mechanism="PLAIN",
                       sasl_plain_username="admin", sasl_plain_password="admin-secret")
    kp.send("plain-orders", b"a3").get(TIMEOUT_S)
    kp.close()
    assert consume(bootstrap, "alice", "alice-secret", "plain-orders", 3) == [b"a1", b"a2", b"a3"]
    assert "closing connection after the answer: SASL authentication failed" in sasl_broker.log_text()


def frame(api_key: int, version: int, correlation_id: int, body: bytes, client_id: bytes = b"raw") -> bytes:
    header = struct.pack(">hhih", api_key, version, correlation_id, len(client_id)) + client_id
    return struct.pack(">i", len(header) + len(body)) + header + body


def read_frame(sock: socket.socket) -> bytes | None:
    """One response frame, or None when the broker closed the connection."""
    def exactly(n: int) -> bytes | None:
        data = b""
        while len(data) < n:
            try:
                chunk = sock.recv(n - len(data))
            except ConnectionResetError:  # closed while we were still sending
                return None
            if not chunk:
                return None
            data += chunk
        return data
    size = exactly(4)
    return None if size is None else exactly(struct.unpack(">i", size)[0])


def test_only_api_versions_and_sasl_requests_reach_an_unauthenticated_connection(sasl_broker):
    host, port = sasl_broker.bootstrap.split(":")
    # ApiVersions v0 is answered before authentication.
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(frame(18, 0, 1, b""))
        answer = read_frame(sock)
        assert answer is not None and struct.unpack(">ih", answer[:6]) == (1, 0)
        # Metadata v1 (all topics) before the handshake: the connection closes without an answer.
        sock.sendall(frame(3, 1, 2, struct.pack(">i", -1)))
        assert read_frame(sock) is None
    # SaslHandshake v1 for a mechanism the listener does not offer: UNSUPPORTED_SASL_MECHANISM (33) and the list,
    # then the connection closes.
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        mechanism = b"GSSAPI"
        sock.sendall(frame(17, 1, 7, struct.pack(">h", len(mechanism)) + mechanism))
        answer = read_frame(sock)
        assert answer is not None
        correlation, error, count = struct.unpack(">ihi", answer[:10])
        assert (correlation, error) == (7, 33)
        names, rest = [], answer[10:]
        for _ in range(count):
            (length,) = struct.unpack(">h", rest[:2])
            names.append(rest[2:2 + length].decode())
            rest = rest[2 + length:]
        assert names == ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
        assert read_frame(sock) is None


def test_plain_over_handshake_v0_raw_tokens(sasl_broker):
    """SaslHandshake v0: the token travels in a frame without a request header, and so does the answer."""
    host, port = sasl_broker.bootstrap.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(frame(17, 0, 1, struct.pack(">h", 5) + b"PLAIN"))
        answer = read_frame(sock)
        assert answer is not None and struct.unpack(">ih", answer[:6]) == (1, 0)
        token = b"\0alice\0alice-secret"
        sock.sendall(struct.pack(">i", len(token)) + token)
        assert read_frame(sock) == b""  # PLAIN has nothing to say back
        # Authenticated: Metadata v1 is answered now.
        sock.sendall(frame(3, 1, 2, struct.pack(">i", -1)))
        answer = read_frame(sock)
        assert answer is not None and struct.unpack(">i", answer[:4]) == (2,)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(frame(17, 0, 1, struct.pack(">h", 5) + b"PLAIN"))
        assert read_frame(sock) is not None
        token = b"\0alice\0wrong"
        sock.sendall(struct.pack(">i", len(token)) + token)
        assert read_frame(sock) is None  # no error channel in this framing: the connection closes


# MARK: Hostile input


def handshake(sock: socket.socket, mechanism: str, correlation: int = 1) -> int:
    """SaslHandshake v1; the error code."""
    sock.sendall(frame(17, 1, correlation, struct.pack(">h", len(mechanism)) + mechanism.encode()))
    answer = read_frame(sock)
    assert answer is not None, "the handshake closed the connection"
    return struct.unpack(">ih", answer[:6])[1]


def authenticate(sock: socket.socket, token: bytes, correlation: int = 2) -> tuple[int, str | None, bytes] | None:
    """SaslAuthenticate v1: (error code, error message, server bytes), or None when the connection closed."""
    sock.sendall(frame(36, 1, correlation, struct.pack(">i", len(token)) + token))
    answer = read_frame(sock)
    if answer is None:
        return None
    _, error, length = struct.unpack(">ihh", answer[:8])
    rest = answer[8:]
    message = None
    if length >= 0:
        message, rest = rest[:length].decode(), rest[length:]
    (size,) = struct.unpack(">i", rest[:4])
    return error, message, rest[4:4 + max(size, 0)]


def scram_final(user: str, password: str, client_nonce: str, server_first: bytes) -> bytes:
    """RFC 5802's client-final for SCRAM-SHA-256, from the server-first message."""
    import base64
    import hashlib
    import hmac
    fields = dict(part.split("=", 1) for part in server_first.decode().split(","))
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(fields["s"]), int(fields["i"]))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    without_proof = f"c=biws,r={fields['r']}"
    auth_message = f"n={user},r={client_nonce},{server_first.decode()},{without_proof}".encode()
    signature = hmac.new(hashlib.sha256(client_key).digest(), auth_message, hashlib.sha256).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()


def test_hostile_sasl_input_never_authenticates_and_never_disturbs_others(sasl_broker):
    """Huge and malformed tokens, PLAIN with extra NULs, a replayed SCRAM proof: each is refused (or the connection
    closed), the broker keeps serving, and an honest client still logs in."""
    bootstrap = sasl_broker.bootstrap
    host, port = bootstrap.split(":")
    sasl_admin(bootstrap).alter_user_scram_credentials([UserScramCredentialUpsertion(
        "ivan", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), b"ivan-secret")])["ivan"].result(TIMEOUT_S)

    def connect() -> socket.socket:
        return socket.create_connection((host, int(port)), timeout=10)

    # A frame over sasl.server.max.receive.size (512 KiB) before authentication: closed unread.
    with connect() as sock:
        try:
            sock.sendall(frame(17, 1, 1, struct.pack(">h", 5) + b"PLAIN" + b"x" * (600 * 1024)))
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed before the whole frame was sent
        assert read_frame(sock) is None
    assert "sasl.server.max.receive.size" in sasl_broker.log_text()
    # A 400 KiB client nonce is just a nonce (Kafka bounds it only by the frame): the exchange goes on, and a
    # final message without the right proof is refused.
    with connect() as sock:
        assert handshake(sock, "SCRAM-SHA-256") == 0
        error, _, server_first = authenticate(sock, b"n,,n=ivan,r=" + b"a" * (400 * 1024))
        assert error == 0 and server_first.startswith(b"r=aaaa")
        answer = authenticate(sock, b"c=biws,r=aaaa,p=AAAA", correlation=3)
        assert answer is not None and answer[0] == 58, answer
        assert read_frame(sock) is None
    # Garbage of every kind: SASL_AUTHENTICATION_FAILED (58), then closed.
    for token in [b"\xff\xfe\x00garbage", b"", b"n,,", b"p=tls,,n=ivan,r=x", b"n,,n=nobody,r=abc"]:
        with connect() as sock:
            assert handshake(sock, "SCRAM-SHA-256") == 0
            answer = authenticate(sock, token)
            assert answer is not None and answer[0] == 58, (token[:40], answer)
            assert read_frame(sock) is None
    # PLAIN with embedded NULs: refused.
    for token in [b"\0alice\0alice-secret\0", b"\0alice\0alice\0-secret", b"\0\0\0", b"alice-secret"]:
        with connect() as sock:
            assert handshake(sock, "PLAIN") == 0
            answer = authenticate(sock, token)
            assert answer is not None and answer[0] == 58, (token, answer)
    # A SCRAM proof replayed on another connection: the server's nonce differs, so it is refused.
    with connect() as sock:
        assert handshake(sock, "SCRAM-SHA-256") == 0
        error, _, server_first = authenticate(sock, b"n,,n=ivan,r=fixednonce")
        assert error == 0
        final = scram_final("ivan", "ivan-secret", "fixednonce", server_first)
        error, _, server_final = authenticate(sock, final, correlation=3)
        assert error == 0 and server_final.startswith(b"v=")
    with connect() as sock:
        assert handshake(sock, "SCRAM-SHA-256") == 0
        error, _, second_first = authenticate(sock, b"n,,n=ivan,r=fixednonce")
        assert error == 0 and second_first != server_first
        answer = authenticate(sock, final, correlation=3)
        assert answer is not None and answer[0] == 58 and "nonce" in (answer[1] or ""), answer
    # Still serving, and an authenticated client may send large requests (a 700 KB record).
    create(bootstrap, "after-hostile")
    assert produce(bootstrap, "ivan", "ivan-secret", "after-hostile", [b"z" * 700_000], "SCRAM-SHA-256") == [None]
    assert sasl_broker.alive()


# MARK: SCRAM


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_scram_credentials_are_created_used_listed_and_deleted(request, tmp_path, mechanism):
    with running_fjord(request, tmp_path, sasl_overrides()) as b:
        bootstrap = b.bootstrap
        create(bootstrap, "scram-orders")
        admin = sasl_admin(bootstrap)
        kind = ScramMechanism.SCRAM_SHA_256 if mechanism == "SCRAM-SHA-256" else ScramMechanism.SCRAM_SHA_512
        futures = admin.alter_user_scram_credentials(
            [UserScramCredentialUpsertion("bob", ScramCredentialInfo(kind, 8192), b"bob-secret")])
        futures["bob"].result(TIMEOUT_S)

        described = admin.describe_user_scram_credentials(["bob"])["bob"].result(TIMEOUT_S)
        assert [(info.mechanism, info.iterations) for info in described.scram_credential_infos] == [(kind, 8192)]
        assert produce(bootstrap, "bob", "bob-secret", "scram-orders", [b"b1"], mechanism) == [None]

        errors = Errors()
        wrong = Producer({**client_conf(bootstrap, "bob", "bob-wrong", mechanism), "error_cb": errors})
        wrong.produce("scram-orders", b"never")
        wrong.flush(5)
        wait_until(lambda: errors.authentication(), TIMEOUT_S, "no authentication error reported")
        assert ("Authentication failed during authentication due to invalid credentials with SASL mechanism "
                f"{mechanism}") in errors.authentication()[0].str()

        # Too few iterations is refused with UNACCEPTABLE_CREDENTIAL; nothing is written for that user.
        futures = admin.alter_user_scram_credentials(
            [UserScramCredentialUpsertion("carol", ScramCredentialInfo(kind, 1000), b"carol-secret")])
        with pytest.raises(KafkaException) as refused:
            futures["carol"].result(TIMEOUT_S)
        assert refused.value.args[0].code() == KafkaError.UNACCEPTABLE_CREDENTIAL

        # The credential survives a restart (a UserScramCredentialRecord in the metadata log).
        restart_broker(b)
        assert produce(bootstrap, "bob", "bob-secret", "scram-orders", [b"b2"], mechanism) == [None]

        sasl_admin(bootstrap).alter_user_scram_credentials(
            [UserScramCredentialDeletion("bob", kind)])["bob"].result(TIMEOUT_S)
        errors = Errors()
        gone = Producer({**client_conf(bootstrap, "bob", "bob-secret", mechanism), "error_cb": errors})
        gone.produce("scram-orders", b"never")
        gone.flush(5)
        wait_until(lambda: errors.authentication(), TIMEOUT_S, "a deleted credential still authenticates")
        with pytest.raises(KafkaException) as missing:
            sasl_admin(bootstrap).describe_user_scram_credentials(["bob"])["bob"].result(TIMEOUT_S)
        assert missing.value.args[0].code() == KafkaError.RESOURCE_NOT_FOUND


# MARK: OAUTHBEARER and re-authentication

OAUTH_JAAS = ("org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required "
              'unsecuredValidatorRequiredScope="kafka";')


def oauth_conf(bootstrap: str, claims: str) -> dict:
    """librdkafka's built-in unsecured JWT (alg none): `principal=... scope=...` become its sub and scope claims."""
    return {"bootstrap.servers": bootstrap, "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "OAUTHBEARER",
            "enable.sasl.oauthbearer.unsecure.jwt": True, "sasl.oauthbearer.config": claims}


def test_oauthbearer_unsecured_jwts_are_validated(request, tmp_path):
    overrides = sasl_overrides(**{"sasl.enabled.mechanisms": "PLAIN,OAUTHBEARER",
                                  "listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config": OAUTH_JAAS,
                                  "authorizer.class.name": STANDARD_AUTHORIZER, "super.users": "User:admin"})
    with running_fjord(request, tmp_path, overrides) as b:
        bootstrap = b.bootstrap
        create(bootstrap, "tokens")
        acl = AclBinding(ResourceType.TOPIC, "tokens", ResourcePatternType.LITERAL, "User:dana", "*",
                         AclOperation.WRITE, AclPermissionType.ALLOW)
        sasl_admin(bootstrap).create_acls([acl])[acl].result(TIMEOUT_S)
        # The token's subject is the principal the ACL names.
        results: list = []
        p = Producer({**oauth_conf(bootstrap, "principal=dana scope=kafka"), "message.timeout.ms": 20000})
        p.produce("tokens", b"t1", on_delivery=lambda err, _msg: results.append(err))
        p.flush(TIMEOUT_S)
        assert results == [None]
        # A token without the required scope: the RFC 7628 error challenge, then SASL_AUTHENTICATION_FAILED.
        errors = Errors()
        refused = Producer({**oauth_conf(bootstrap, "principal=dana scope=other"), "error_cb": errors,
                            "message.timeout.ms": 3000})
        refused.produce("tokens", b"never")
        refused.flush(10)
        wait_until(lambda: errors.authentication(), TIMEOUT_S, "no authentication error reported")
        assert "the token's scope lacks 'kafka'" in errors.authentication()[0].str()


def test_clients_re_authenticate_before_their_session_ends(request, tmp_path):
    """KIP-368: connections.max.reauth.ms=1500; librdkafka re-authenticates on the same connection each time and
    a producer writing for 6 s loses nothing."""
    import logging
    import time

    class Lines(logging.Handler):
        def __init__(self) -> None:
            super().__init__()
            self.lines: list[str] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.lines.append(record.getMessage())

    lines = Lines()
    logger = logging.getLogger(f"rdkafka-{uuid.uuid4().hex[:6]}")
    logger.addHandler(lines)
    logger.setLevel(logging.DEBUG)
    with running_fjord(request, tmp_path, sasl_overrides(**{"connections.max.reauth.ms": "1500"})) as b:
        create(b.bootstrap, "reauth")
        results: list = []
        p = Producer({**client_conf(b.bootstrap, "alice", "alice-secret"), "debug": "security", "logger": logger})
        end = time.monotonic() + 6
        while time.monotonic() < end:
            p.produce("reauth", b"r", on_delivery=lambda err, _msg: results.append(err))
            p.poll(0.05)
        p.flush(TIMEOUT_S)
        assert results and all(err is None for err in results)
        assert any("Received session lifetime 1500 ms from broker" in line for line in lines.lines)
        assert sum("Auth in state REAUTH" in line for line in lines.lines) >= 2
        assert "SASL session expired" not in b.log_text()


def test_aiokafka_and_kafka_python_log_in_with_scram(sasl_broker):
    """Two more SASL implementations, the Python ones: SCRAM-SHA-256 with kafka-python, SCRAM-SHA-512 with aiokafka."""
    import asyncio

    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from kafka import KafkaProducer

    bootstrap = sasl_broker.bootstrap
    create(bootstrap, "py-scram")
    futures = sasl_admin(bootstrap).alter_user_scram_credentials([
        UserScramCredentialUpsertion("olga", ScramCredentialInfo(mechanism, 4096), b"olga-secret")
        for mechanism in (ScramMechanism.SCRAM_SHA_256, ScramMechanism.SCRAM_SHA_512)])
    for future in futures.values():
        future.result(TIMEOUT_S)
    kp = KafkaProducer(bootstrap_servers=bootstrap, security_protocol="SASL_PLAINTEXT",
                       sasl_mechanism="SCRAM-SHA-256", sasl_plain_username="olga", sasl_plain_password="olga-secret")
    kp.send("py-scram", b"from kafka-python").get(TIMEOUT_S)
    kp.close()

    async def with_aiokafka() -> list[bytes]:
        login = {"bootstrap_servers": bootstrap, "security_protocol": "SASL_PLAINTEXT",
                 "sasl_mechanism": "SCRAM-SHA-512", "sasl_plain_username": "olga",
                 "sasl_plain_password": "olga-secret"}
        producer = AIOKafkaProducer(**login)
        await producer.start()
        try:
            await producer.send_and_wait("py-scram", b"from aiokafka")
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer("py-scram", auto_offset_reset="earliest", **login)
        await consumer.start()
        try:
            got: list[bytes] = []
            while len(got) < 2:
                batch = await asyncio.wait_for(consumer.getmany(timeout_ms=1000), TIMEOUT_S)
                for records in batch.values():
                    got += [r.value for r in records]
            return got
        finally:
            await consumer.stop()

    assert asyncio.run(with_aiokafka()) == [b"from kafka-python", b"from aiokafka"]


# MARK: Principals and ACLs


def test_the_authenticated_principal_is_what_acls_decide_on(request, tmp_path):
    overrides = sasl_overrides(**{"authorizer.class.name": STANDARD_AUTHORIZER, "super.users": "User:admin"})
    with running_fjord(request, tmp_path, overrides) as b:
        bootstrap = b.bootstrap
        create(bootstrap, "alice-topic")
        create(bootstrap, "other-topic")
        admin = sasl_admin(bootstrap)
        acls = [AclBinding(ResourceType.TOPIC, "alice-topic", ResourcePatternType.LITERAL, "User:alice", "*",
                           operation, AclPermissionType.ALLOW)
                for operation in (AclOperation.WRITE, AclOperation.DESCRIBE)]
        for future in admin.create_acls(acls).values():
            future.result(TIMEOUT_S)
        assert produce(bootstrap, "alice", "alice-secret", "alice-topic", [b"ok"]) == [None]
        refused = produce(bootstrap, "alice", "alice-secret", "other-topic", [b"no"])
        assert [e.code() for e in refused] == [KafkaError.TOPIC_AUTHORIZATION_FAILED]
        # The super user is not bound by ACLs.
        assert produce(bootstrap, "admin", "admin-secret", "other-topic", [b"su"]) == [None]


# MARK: The command line


def test_the_cli_logs_in_with_a_command_config(sasl_broker, tmp_path):
    """`fjord ... --command-config FILE` (Kafka tools' option) with security.protocol, sasl.mechanism and
    sasl.jaas.config: FjordClient authenticates with SCRAM-SHA-512 and PLAIN; a wrong password fails the command
    with the broker's message."""
    bootstrap = sasl_broker.bootstrap
    admin = sasl_admin(bootstrap)
    admin.alter_user_scram_credentials([UserScramCredentialUpsertion(
        "hana", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), b"hana-secret")])["hana"].result(TIMEOUT_S)

    def config(name: str, mechanism: str, module: str, user: str, password: str) -> str:
        path = tmp_path / name
        path.write_text("security.protocol=SASL_PLAINTEXT\n"
                        f"sasl.mechanism={mechanism}\n"
                        f"sasl.jaas.config=org.apache.kafka.common.security.{module} required "
                        f'username="{user}" password="{password}";\n')
        return str(path)

    scram = config("scram.properties", "SCRAM-SHA-512", "scram.ScramLoginModule", "hana", "hana-secret")
    plain = config("plain.properties", "PLAIN", "plain.PlainLoginModule", "admin", "admin-secret")
    wrong = config("wrong.properties", "SCRAM-SHA-512", "scram.ScramLoginModule", "hana", "nope")

    def fj(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([fjord_bin(), *args, "--bootstrap", bootstrap], input=input, capture_output=True,
                              text=True, timeout=60)

    done = fj("topic", "create", "cli-sasl", "--command-config", scram)
    assert done.returncode == 0, done.stderr
    done = fj("produce", "cli-sasl", "--command-config", plain, input="one\ntwo\n")
    assert done.returncode == 0, done.stderr
    done = fj("consume", "cli-sasl", "--count", "2", "--command-config", scram)
    assert (done.returncode, done.stdout.split()) == (0, ["one", "two"]), done.stderr
    done = fj("topic", "list", "--command-config", wrong)
    assert done.returncode != 0
    assert "invalid credentials with SASL mechanism SCRAM-SHA-512" in done.stderr, done.stderr


def test_acls_and_scram_users_are_managed_from_the_command_line(request, tmp_path):
    """`fjord user scram set|describe|delete` and `fjord acl add|list|remove` (kafka-acls.sh's options) as the super
    user; what they set decides what the new user may do, seen through the CLI's own SCRAM login."""
    import json

    overrides = sasl_overrides(**{"authorizer.class.name": STANDARD_AUTHORIZER, "super.users": "User:admin"})
    with running_fjord(request, tmp_path, overrides) as b:
        admin_config = tmp_path / "admin.properties"
        admin_config.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config="
                                "org.apache.kafka.common.security.plain.PlainLoginModule required "
                                'username="admin" password="admin-secret";\n')
        kai_config = tmp_path / "kai.properties"
        kai_config.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-256\nsasl.jaas.config="
                              "org.apache.kafka.common.security.scram.ScramLoginModule required "
                              'username="kai" password="kai-secret";\n')

        def fj(config, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
            return subprocess.run([fjord_bin(), *args, "--bootstrap", b.bootstrap, "--command-config", str(config)],
                                  input=input, capture_output=True, text=True, timeout=60)

        def ok(config, *args: str, input: str | None = None) -> str:
            done = fj(config, *args, input=input)
            assert done.returncode == 0, (args, done.stdout, done.stderr)
            return done.stdout

        ok(admin_config, "user", "scram", "set", "kai", "--mechanism", "SCRAM-SHA-256", "--iterations", "8192",
           input="kai-secret\n")
        described = json.loads(ok(admin_config, "user", "scram", "describe", "kai", "--format", "json"))
        assert described == {"users": [{"user": "kai", "credentials": [{"mechanism": "SCRAM-SHA-256",
                                                                         "iterations": 8192}]}]}
        ok(admin_config, "topic", "create", "kai-orders")
        ok(admin_config, "topic", "create", "other-orders")
        # Kai may write and describe the topics that start with "kai-", nothing else.
        ok(admin_config, "acl", "add", "--allow-principal", "User:kai", "--operation", "Write", "--operation",
           "Describe", "--topic", "kai-", "--resource-pattern-type", "prefixed")
        listed = json.loads(ok(admin_config, "acl", "list", "--principal", "User:kai", "--format", "json"))["acls"]
        assert sorted((a["name"], a["pattern_type"], a["operation"]) for a in listed) == \
            [("kai-", "PREFIXED", "DESCRIBE"), ("kai-", "PREFIXED", "WRITE")]
        ok(kai_config, "produce", "kai-orders", input="k1\n")
        refused = fj(kai_config, "produce", "other-orders", input="no\n")
        assert refused.returncode != 0
        ok(admin_config, "acl", "remove", "--topic", "kai-", "--resource-pattern-type", "prefixed",
           "--allow-principal", "User:kai", "--operation", "Write")
        assert fj(kai_config, "produce", "kai-orders", input="k2\n").returncode != 0
        assert ok(admin_config, "consume", "kai-orders", "--count", "1").split() == ["k1"]
        # The credential deleted: kai cannot log in at all.
        ok(admin_config, "user", "scram", "delete", "kai", "--mechanism", "SCRAM-SHA-256")
        gone = fj(kai_config, "topic", "list")
        assert gone.returncode != 0 and "invalid credentials" in gone.stderr, gone.stderr


# MARK: Format time


def test_storage_format_add_scram_bootstraps_a_credential(request, tmp_path):
    port, controller_port = free_port(), free_port()
    data = tmp_path / "data"
    config = tmp_path / "server.properties"
    config.write_text("\n".join([
        "process.roles=broker,controller", "node.id=1",
        f"listeners=SASL_PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "inter.broker.listener.name=PLAINTEXT", "controller.listener.names=CONTROLLER",
        f"controller.quorum.voters=1@127.0.0.1:{controller_port}", f"log.dirs={data}", "metrics.listener=",
        "sasl.enabled.mechanisms=SCRAM-SHA-256",
    ]) + "\n")
    # The inter-broker listener must exist: a PLAINTEXT one on another port.
    inter = free_port()
    text = config.read_text().replace(f"CONTROLLER://127.0.0.1:{controller_port}",
                                      f"CONTROLLER://127.0.0.1:{controller_port},PLAINTEXT://127.0.0.1:{inter}")
    config.write_text(text)
    cluster_id = subprocess.run([fjord_bin(), "storage", "random-uuid"], capture_output=True, text=True,
                                check=True).stdout.strip()
    bad = subprocess.run([fjord_bin(), "storage", "format", "-t", cluster_id, "-c", str(config),
                          "--add-scram", "SCRAM-SHA-256=[name=carol,password=c,iterations=100]"],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "iterations must be 4096 to 16384" in bad.stderr
    done = subprocess.run([fjord_bin(), "storage", "format", "-t", cluster_id, "-c", str(config),
                           "--add-scram", "SCRAM-SHA-256=[name=carol,password=carol-secret]"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    node = _start("fjord", [fjord_bin(), "broker", "--config", str(config)], port, data, tmp_path / "fjord.log")
    _track(request, node)
    try:
        wait_until(lambda: "ready" in node.log_text(), 60, lambda: node.log_text()[-2000:])
        bootstrap = f"127.0.0.1:{port}"
        admin = sasl_admin(bootstrap, "carol", "carol-secret", "SCRAM-SHA-256")
        admin.create_topics([NewTopic("carols", 1, 1)])["carols"].result(TIMEOUT_S)
        wait_for(lambda: produce(bootstrap, "carol", "carol-secret", "carols", [b"c1"], "SCRAM-SHA-256") == [None]
                 or None, TIMEOUT_S)
    finally:
        node.stop()
