"""A minimal blocking Kafka client for the metadata benchmarks: exactly the requests they time (ApiVersions v0,
Metadata v4, CreateTopics v4, DeleteTopics v3 — all non-flexible versions, so no tagged fields), one request in
flight per connection, and no threads between the clock and the socket (a librdkafka client answers through its own
threads and queues, which adds its own scheduling delay to a sub-millisecond measurement).
"""

from __future__ import annotations

import socket
import struct

API_VERSIONS, METADATA, CREATE_TOPICS, DELETE_TOPICS = 18, 3, 19, 20
NOT_CONTROLLER = 41
TOPIC_ALREADY_EXISTS = 36
MAX_RESPONSE = 64 << 20  # a size prefix beyond this is a broken stream, not a response to buffer


def string(value: str) -> bytes:
    data = value.encode()
    return struct.pack(">h", len(data)) + data


class Reader:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def take(self, fmt: str):
        values = struct.unpack_from(fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return values[0] if len(values) == 1 else values

    def string(self) -> str | None:
        length = self.take(">h")
        if length < 0:
            return None
        value = self.data[self.at:self.at + length].decode()
        self.at += length
        return value

    def int32_array(self) -> list[int]:
        count = self.take(">i")
        return [self.take(">i") for _ in range(max(0, count))]


class Connection:
    """One TCP connection to a broker listener (TCP_NODELAY), requests answered in order."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 30):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.correlation = 0

    def close(self) -> None:
        self.sock.close()

    def send(self, api_key: int, version: int, body: bytes) -> None:
        self.correlation += 1
        message = struct.pack(">hhi", api_key, version, self.correlation) + string("fjord-metadata-bench") + body
        self.sock.sendall(struct.pack(">i", len(message)) + message)

    def receive(self) -> Reader:
        size = struct.unpack(">i", self._exactly(4))[0]
        if not 4 <= size <= MAX_RESPONSE:
            raise ConnectionError(f"response size {size} out of bounds")
        data = self._exactly(size)
        correlation = struct.unpack_from(">i", data)[0]
        if correlation != self.correlation:
            raise ConnectionError(f"correlation id {correlation}, expected {self.correlation}")
        reader = Reader(data)
        reader.at = 4
        return reader

    def request(self, api_key: int, version: int, body: bytes) -> Reader:
        self.send(api_key, version, body)
        return self.receive()

    def _exactly(self, n: int) -> bytes:
        chunks, left = [], n
        while left:
            chunk = self.sock.recv(min(left, 1 << 20))
            if not chunk:
                raise ConnectionError("connection closed")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    # Requests.

    def api_versions(self) -> None:
        self.request(API_VERSIONS, 0, b"")

    @staticmethod
    def metadata_body(topics: list[str] | None) -> bytes:
        names = struct.pack(">i", -1) if topics is None else struct.pack(">i", len(topics)) + b"".join(
            string(t) for t in topics)
        return names + b"\x00"  # allow_auto_topic_creation = false

    @staticmethod
    def parse_metadata(reader: Reader) -> dict[str, tuple[int, list[int]]]:
        """topic name → (error code, the leader of each partition)."""
        reader.take(">i")  # throttle
        for _ in range(reader.take(">i")):
            reader.take(">i")
            reader.string()
            reader.take(">i")
            reader.string()
        reader.string()  # cluster id
        reader.take(">i")  # controller id
        topics = {}
        for _ in range(reader.take(">i")):
            error = reader.take(">h")
            name = reader.string()
            reader.take(">b")
            leaders = []
            for _ in range(reader.take(">i")):
                reader.take(">h")
                reader.take(">i")
                leaders.append(reader.take(">i"))
                reader.int32_array()
                reader.int32_array()
            topics[name] = (error, leaders)
        return topics

    def metadata(self, topics: list[str] | None) -> dict[str, tuple[int, list[int]]]:
        return self.parse_metadata(self.request(METADATA, 4, self.metadata_body(topics)))

    def create_topics(self, names: list[str], partitions: int, timeout_ms: int = 60_000) -> dict[str, int]:
        """topic name → error code (replication factor 1, placement by the controller)."""
        body = struct.pack(">i", len(names))
        for name in names:
            body += string(name) + struct.pack(">ihii", partitions, 1, 0, 0)
        body += struct.pack(">ib", timeout_ms, 0)
        reader = self.request(CREATE_TOPICS, 4, body)
        reader.take(">i")
        results = {}
        for _ in range(reader.take(">i")):
            name = reader.string()
            results[name] = reader.take(">h")
            reader.string()
        return results

    def delete_topics(self, names: list[str], timeout_ms: int = 60_000) -> dict[str, int]:
        body = struct.pack(">i", len(names)) + b"".join(string(n) for n in names) + struct.pack(">i", timeout_ms)
        reader = self.request(DELETE_TOPICS, 3, body)
        reader.take(">i")
        results = {}
        for _ in range(reader.take(">i")):
            name = reader.string()
            results[name] = reader.take(">h")
        return results
