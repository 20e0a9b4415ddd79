"""Hostile and odd group requests (issue 5 item 9) on raw sockets against a real fjord process.

Each case gets Kafka's error code in a well-formed answer and the broker keeps serving: JoinGroup with an enormous
protocol metadata blob (INVALID_REQUEST beyond the 1 MiB per-member bound) or thousands of protocols (accepted
while under the bound), SyncGroup with assignments for members that do not exist (ignored, as Kafka does),
commits for unknown topics and partitions (UNKNOWN_TOPIC_OR_PARTITION), group ids that are empty
(INVALID_GROUP_ID) or as long as a wire string can be (accepted, and their offsets survive a restart).
"""

from __future__ import annotations

import socket
import struct
import time

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import restart_broker, running_fjord
from waiting import GENEROUS_S

NONE, UNKNOWN_TOPIC_OR_PARTITION, COORDINATOR_NOT_AVAILABLE = 0, 3, 15
INVALID_GROUP_ID, INVALID_REQUEST, MEMBER_ID_REQUIRED = 24, 42, 79


@pytest.fixture
def gbroker(request, tmp_path):
    with running_fjord(request, tmp_path, {"group.initial.rebalance.delay.ms": "0", "offsets.topic.num.partitions": "3"}) as b:
        yield b


# Encoding (non-flexible versions only: int16-length strings, int32-length bytes and arrays).

def s(value: str | None) -> bytes:
    if value is None:
        return struct.pack(">h", -1)
    raw = value.encode()
    return struct.pack(">h", len(raw)) + raw


def b(value: bytes) -> bytes:
    return struct.pack(">i", len(value)) + value


def array(items: list[bytes]) -> bytes:
    return struct.pack(">i", len(items)) + b"".join(items)


class Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, fmt: str):
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return value

    def string(self) -> str | None:
        n = self.take(">h")
        if n < 0:
            return None
        self.pos += n
        return self.data[self.pos - n:self.pos].decode()

    def bytes(self) -> bytes:
        n = self.take(">i")
        self.pos += max(n, 0)
        return self.data[self.pos - max(n, 0):self.pos]


class Conn:
    """One raw connection; `call` sends a request (header v1) and returns the response body as a Reader."""

    def __init__(self, bootstrap: str):
        host, port = bootstrap.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=GENEROUS_S)
        self.correlation = 0

    def call(self, api_key: int, version: int, body: bytes) -> Reader:
        self.correlation += 1
        request = struct.pack(">hhi", api_key, version, self.correlation) + s("hostile") + body
        self.sock.sendall(struct.pack(">i", len(request)) + request)
        size = struct.unpack(">i", self.recv(4))[0]
        response = Reader(self.recv(size))
        assert response.take(">i") == self.correlation
        return response

    def recv(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            assert chunk, "broker closed the connection"
            buf += chunk
        return buf

    def find_coordinator(self, group: str) -> None:
        """FindCoordinator v1 until the coordinator exists (the first call creates __consumer_offsets)."""
        deadline = time.monotonic() + GENEROUS_S
        while True:
            r = self.call(10, 1, s(group) + struct.pack(">b", 0))
            r.take(">i")
            error = r.take(">h")
            if error == NONE:
                return
            assert error == COORDINATOR_NOT_AVAILABLE and time.monotonic() < deadline, f"FindCoordinator error {error}"
            time.sleep(0.2)

    def join(self, group: str, protocols: list[tuple[str, bytes]], member: str = "") -> dict:
        """JoinGroup v5."""
        body = (s(group) + struct.pack(">ii", 10_000, 10_000) + s(member) + s(None) + s("consumer")
                + array([s(name) + b(meta) for name, meta in protocols]))
        r = self.call(11, 5, body)
        r.take(">i")
        answer = {"error": r.take(">h"), "generation": r.take(">i"), "protocol": r.string(), "leader": r.string(),
                  "member": r.string()}
        answer["members"] = [(r.string(), r.string(), r.bytes()) for _ in range(r.take(">i"))]
        return answer

    def join_new(self, group: str, protocols: list[tuple[str, bytes]]) -> dict:
        first = self.join(group, protocols)
        assert first["error"] == MEMBER_ID_REQUIRED, first
        return self.join(group, protocols, member=first["member"])

    def sync(self, group: str, generation: int, member: str, assignments: list[tuple[str, bytes]]) -> tuple[int, bytes]:
        """SyncGroup v3."""
        body = s(group) + struct.pack(">i", generation) + s(member) + s(None) + array([s(m) + b(a) for m, a in assignments])
        r = self.call(14, 3, body)
        r.take(">i")
        return r.take(">h"), r.bytes()

    def commit(self, group: str, offsets: dict[str, dict[int, int]]) -> dict[tuple[str, int], int]:
        """A simple OffsetCommit v2 (generation -1); returns the error per partition."""
        topics = [s(t) + array([struct.pack(">iq", p, o) + s(None) for p, o in parts.items()]) for t, parts in offsets.items()]
        r = self.call(8, 2, s(group) + struct.pack(">i", -1) + s("") + struct.pack(">q", -1) + array(topics))
        errors = {}
        for _ in range(r.take(">i")):
            topic = r.string()
            for _ in range(r.take(">i")):
                partition = r.take(">i")
                errors[(topic, partition)] = r.take(">h")
        return errors

    def fetch(self, group: str, topic: str, partition: int) -> tuple[int, int]:
        """OffsetFetch v1 of one partition: (offset, error)."""
        r = self.call(9, 1, s(group) + array([s(topic) + array([struct.pack(">i", partition)])]))
        assert r.take(">i") == 1
        r.string()
        assert r.take(">i") == 1
        r.take(">i")
        offset = r.take(">q")
        r.string()
        return offset, r.take(">h")

    def close(self) -> None:
        self.sock.close()


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])[name].result(15)


def test_enormous_protocol_metadata_is_refused(gbroker):
    conn = Conn(gbroker.bootstrap)
    conn.find_coordinator("big")
    refused = conn.join("big", [("range", b"x" * (2 << 20))])
    assert refused["error"] == INVALID_REQUEST
    heavy = conn.join("big", [(f"p{i}", b"y" * 300) for i in range(5000)])
    assert heavy["error"] == INVALID_REQUEST
    # The same connection still serves, and a normal member still forms the group.
    joined = conn.join_new("big", [("range", b"small")])
    assert joined["error"] == NONE and joined["leader"] == joined["member"]
    assert [m[2] for m in joined["members"]] == [b"small"]
    conn.close()
    assert gbroker.alive()


def test_thousands_of_protocols_under_the_bound_work(gbroker):
    conn = Conn(gbroker.bootstrap)
    conn.find_coordinator("many")
    joined = conn.join_new("many", [(f"p{i}", b"m") for i in range(5000)])
    assert joined["error"] == NONE
    assert joined["protocol"] == "p0"
    conn.close()


def test_sync_assignments_for_unknown_members_are_ignored(gbroker):
    conn = Conn(gbroker.bootstrap)
    conn.find_coordinator("ghosts")
    joined = conn.join_new("ghosts", [("range", b"m")])
    assignments = [(f"ghost-{i}", b"x" * 100) for i in range(3000)] + [(joined["member"], b"mine")]
    error, assignment = conn.sync("ghosts", joined["generation"], joined["member"], assignments)
    assert (error, assignment) == (NONE, b"mine")
    # A sync from a member that does not exist is answered UNKNOWN_MEMBER_ID.
    assert conn.sync("ghosts", joined["generation"], "ghost-1", [])[0] == 25
    conn.close()


def test_commits_for_unknown_topics_and_partitions(gbroker):
    create_topic(gbroker.bootstrap, "known", 2)
    conn = Conn(gbroker.bootstrap)
    conn.find_coordinator("committer")
    errors = conn.commit("committer", {"known": {0: 5, 7: 1}, "no-such-topic": {0: 3}})
    assert errors == {("known", 0): NONE, ("known", 7): UNKNOWN_TOPIC_OR_PARTITION,
                      ("no-such-topic", 0): UNKNOWN_TOPIC_OR_PARTITION}
    assert conn.fetch("committer", "known", 0) == (5, NONE)
    assert conn.fetch("committer", "no-such-topic", 0)[0] == -1
    conn.close()


def test_group_ids_of_extreme_length(gbroker):
    create_topic(gbroker.bootstrap, "t", 1)
    longest = "g" * 32767
    conn = Conn(gbroker.bootstrap)
    conn.find_coordinator(longest)
    assert conn.join("", [("range", b"m")])["error"] == INVALID_GROUP_ID
    assert conn.commit("", {"t": {0: 1}}) == {("t", 0): INVALID_GROUP_ID}
    assert conn.join(longest, [("range", b"m")])["error"] == MEMBER_ID_REQUIRED
    assert conn.commit(longest, {"t": {0: 42}}) == {("t", 0): NONE}
    conn.close()
    # The 32 KiB group id is a record key in __consumer_offsets; it replays after a restart.
    restart_broker(gbroker)
    conn = Conn(gbroker.bootstrap)
    conn.find_coordinator(longest)
    assert conn.fetch(longest, "t", 0) == (42, NONE)
    conn.close()
