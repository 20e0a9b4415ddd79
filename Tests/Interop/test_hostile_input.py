"""Garbage on one connection closes that connection only.

Each case opens its own connection and sends hostile bytes; the broker must
close it (EOF or reset) within a few seconds without allocating what a bogus
length prefix asks for, stay alive, and keep serving a client connected
before the garbage (idle during it) and new clients after it.

The random cases use FJORD_HOSTILE_SEED (default 7); the seed is printed.
"""

import os
import random
import socket
import struct
import time

import pytest
from confluent_kafka.admin import AdminClient

from interop_clients import TIMEOUT_S, confluent_metadata

SEED = int(os.environ.get("FJORD_HOSTILE_SEED", "7"))
# A broker closes a hostile connection as soon as it reads the bytes; one that waits for a bogus frame never does.
# The bound only has to tell those apart, so it leaves a loaded machine plenty of room.
CLOSE_TIMEOUT_S = 30.0
MAX_SANE_REQUEST = 100 * 1024 * 1024  # Kafka's socket.request.max.bytes default


def random_stream() -> bytes:
    """4 KiB of random bytes; the first four are the (bogus) length prefix."""
    data = random.Random(SEED).randbytes(4096)
    (length,) = struct.unpack(">i", data[:4])
    assert length < 0 or length > MAX_SANE_REQUEST, (
        f"seed {SEED} gives a plausible length prefix {length}; a broker may wait "
        "for the rest of that frame, so pick another FJORD_HOSTILE_SEED")
    return data


def random_frame() -> bytes:
    """A complete frame (correct length prefix) whose header and body are random."""
    body = random.Random(SEED).randbytes(4092)
    (api_key,) = struct.unpack(">h", body[:2])
    assert not 0 <= api_key < 1000, f"seed {SEED} gives a real-looking api key {api_key}"
    return struct.pack(">i", len(body)) + body


CASES = {
    "random-4KiB": random_stream,
    "random-frame": random_frame,
    "length-0x7fffffff": lambda: b"\x7f\xff\xff\xff",
    "length-negative-1": lambda: b"\xff\xff\xff\xff",
}


def api_versions_v0(sock: socket.socket, correlation_id: int) -> None:
    """Send ApiVersions v0 on a raw connection and check the response header and error."""
    client_id = b"fjord-hostile"
    request = struct.pack(">hhih", 18, 0, correlation_id, len(client_id)) + client_id
    sock.sendall(struct.pack(">i", len(request)) + request)
    sock.settimeout(TIMEOUT_S)
    (size,) = struct.unpack(">i", recv_exactly(sock, 4))
    assert 6 <= size < 1 << 20, f"implausible ApiVersions response size {size}"
    response = recv_exactly(sock, size)
    corr, error = struct.unpack_from(">ih", response)
    assert corr == correlation_id
    assert error == 0, f"ApiVersions v0 error code {error}"


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def closed_by_peer(sock: socket.socket, timeout: float) -> bool:
    """True once the peer closes (EOF or reset); bytes it sends first are ignored."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            if not sock.recv(65536):
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except (socket.timeout, TimeoutError):
            return False
    return False


def check_metadata(admin: AdminClient, broker) -> None:
    md = admin.list_topics(timeout=TIMEOUT_S)
    assert {b.id: (b.host, b.port) for b in md.brokers.values()} == {1: ("127.0.0.1", broker.port)}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_bytes_close_only_their_connection(broker, case):
    print(f"FJORD_HOSTILE_SEED={SEED}")
    payload = CASES[case]()

    # Before: a client that stays connected, and an idle raw connection.
    admin = AdminClient({"bootstrap.servers": broker.bootstrap, "client.id": "fjord-interop"})
    check_metadata(admin, broker)
    idle = socket.create_connection(("127.0.0.1", broker.port), timeout=TIMEOUT_S)
    bad = socket.create_connection(("127.0.0.1", broker.port), timeout=TIMEOUT_S)
    try:
        api_versions_v0(idle, correlation_id=1)

        try:
            bad.sendall(payload)
        except (ConnectionResetError, BrokenPipeError):
            pass  # closed while we were still writing: fine

        # During: the hostile connection may still be open.
        check_metadata(admin, broker)

        assert closed_by_peer(bad, CLOSE_TIMEOUT_S), (
            f"{case}: broker kept the connection open {CLOSE_TIMEOUT_S}s after "
            f"{len(payload)} hostile bytes")
        assert broker.alive(), f"broker exited with {broker.proc.returncode}"

        # After: the idle connection, the old client and a new client all work.
        api_versions_v0(idle, correlation_id=2)
        check_metadata(admin, broker)
        brokers, cluster_id = confluent_metadata(broker.bootstrap)
        assert brokers == {1: ("127.0.0.1", broker.port)} and cluster_id
        assert broker.alive()
    finally:
        bad.close()
        idle.close()
