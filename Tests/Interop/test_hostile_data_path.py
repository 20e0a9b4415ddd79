"""Hostile input on the data path (raw sockets): each bad request gets Kafka's answer or closes only its own
connection; a client connected before keeps working, new clients work, and the broker's memory stays bounded.

The Produce v9 requests are built by hand (request header v2 + flexible body, record batch v2 with CRC-32C),
so the batch can lie about its lengths or carry a wrong CRC while the request itself is well-formed.
"""

from __future__ import annotations

import os
import random
import socket
import struct
import time

import pytest
from confluent_kafka import Producer, TopicPartition

from test_hostile_input import closed_by_peer, recv_exactly
from datapath_clients import (drop_admin_clients,  # noqa: F401 (autouse fixture)
                              TIMEOUT_S, confluent_consume, confluent_consumer, create_topic, now_ms)

CORRUPT_MESSAGE = 2
UNSUPPORTED_VERSION = 35
INVALID_RECORD = 87
UNKNOWN_SERVER_ERROR = -1  # what Kafka answers when decompression itself fails
# A broker closes a hostile connection as soon as it reads the bytes; one that waits for a bogus frame never does.
# The bound only has to tell those apart, so it leaves a loaded machine plenty of room.
CLOSE_TIMEOUT_S = 30.0
RSS_LIMIT_KIB = 200 * 1024


# ---- encoding ----------------------------------------------------------------------------------------------------

def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def uvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def varint(n: int) -> bytes:
    return uvarint((n << 1) ^ (n >> 63))


def read_uvarint(buf: bytes, pos: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def record(offset_delta: int, key: bytes, value: bytes) -> bytes:
    body = (b"\x00" + varint(offset_delta) + varint(offset_delta) + varint(len(key)) + key + varint(len(value))
            + value + varint(0))
    return varint(len(body)) + body


def record_batch(values: list[bytes], *, count: int | None = None, length_delta: int = 0, bad_crc: bool = False,
                 records_blob: bytes | None = None, last_offset_delta: int | None = None) -> bytes:
    """A record batch v2 (no compression, no producer id). `count` overrides the record count,
    `length_delta` is added to batchLength, `bad_crc` flips the CRC, `records_blob` replaces the records,
    `last_offset_delta` overrides lastOffsetDelta."""
    ts = now_ms()
    recs = records_blob if records_blob is not None else b"".join(
        record(i, f"k{i}".encode(), v) for i, v in enumerate(values))
    n = len(values) if count is None else count
    lod = max(len(values) - 1, 0) if last_offset_delta is None else last_offset_delta
    after_crc = struct.pack(">hiqqqhii", 0, lod, ts, ts, -1, -1, -1, n) + recs
    crc = crc32c(after_crc) ^ (0xFFFFFFFF if bad_crc else 0)
    after_length = struct.pack(">ibI", -1, 2, crc) + after_crc
    return struct.pack(">qi", 0, len(after_length) + length_delta) + after_length


def gzip_batch(values: list[bytes], *, count: int | None = None, payload: bytes | None = None) -> bytes:
    """A gzip-compressed record batch v2 with a correct CRC; `payload` replaces the compressed records,
    `count` overrides the record count (lastOffsetDelta stays count - 1, so the header is self-consistent)."""
    import gzip

    ts = now_ms()
    recs = payload if payload is not None else gzip.compress(
        b"".join(record(i, f"k{i}".encode(), v) for i, v in enumerate(values)))
    n = len(values) if count is None else count
    after_crc = struct.pack(">hiqqqhii", 1, n - 1, ts, ts, -1, -1, -1, n) + recs
    after_length = struct.pack(">ibI", -1, 2, crc32c(after_crc)) + after_crc
    return struct.pack(">qi", 0, len(after_length)) + after_length


def compact_string(s: str) -> bytes:
    b = s.encode()
    return uvarint(len(b) + 1) + b


def produce_v9(correlation_id: int, topic: str, partition: int, records: bytes, acks: int = -1) -> bytes:
    header = struct.pack(">hhi", 0, 9, correlation_id) + struct.pack(">h", 6) + b"hostil" + b"\x00"
    body = (b"\x00"                                   # transactional_id: null
            + struct.pack(">hi", acks, 5000)
            + uvarint(2) + compact_string(topic)      # 1 topic
            + uvarint(2) + struct.pack(">i", partition) + uvarint(len(records) + 1) + records + b"\x00"
            + b"\x00"                                 # topic tagged fields
            + b"\x00")                                # request tagged fields
    frame = header + body
    return struct.pack(">i", len(frame)) + frame


def parse_produce_v9_response(frame: bytes) -> dict:
    """{partition: (error_code, base_offset, record_errors, error_message)} of the single topic."""
    corr = struct.unpack_from(">i", frame)[0]
    pos = 4
    _, pos = read_uvarint(frame, pos)  # header tagged fields (none expected; count)
    n_topics, pos = read_uvarint(frame, pos)
    out = {"correlation_id": corr}
    for _ in range(n_topics - 1):
        ln, pos = read_uvarint(frame, pos)
        name = frame[pos:pos + ln - 1].decode()
        pos += ln - 1
        n_parts, pos = read_uvarint(frame, pos)
        for _ in range(n_parts - 1):
            index, error, base_offset, _append_time, _start = struct.unpack_from(">ihqqq", frame, pos)
            pos += 4 + 2 + 24
            n_rec_errors, pos = read_uvarint(frame, pos)
            rec_errors = []
            for _ in range(n_rec_errors - 1):
                batch_index = struct.unpack_from(">i", frame, pos)[0]
                pos += 4
                ln, pos = read_uvarint(frame, pos)
                msg = None if ln == 0 else frame[pos:pos + ln - 1].decode()
                pos += max(ln - 1, 0)
                tags, pos = read_uvarint(frame, pos)
                assert tags == 0
                rec_errors.append((batch_index, msg))
            ln, pos = read_uvarint(frame, pos)
            message = None if ln == 0 else frame[pos:pos + ln - 1].decode()
            pos += max(ln - 1, 0)
            # tagged fields of the partition (v10+ may carry current_leader; v9 none)
            tags, pos = read_uvarint(frame, pos)
            assert tags == 0, f"unexpected tagged fields in a v9 partition response: {tags}"
            out[(name, index)] = (error, base_offset, rec_errors, message)
        tags, pos = read_uvarint(frame, pos)
        assert tags == 0
    throttle = struct.unpack_from(">i", frame, pos)[0]
    assert throttle >= 0
    return out


# ---- sockets -------------------------------------------------------------------------------------------------------

def read_frame(sock: socket.socket) -> bytes:
    sock.settimeout(TIMEOUT_S)
    (size,) = struct.unpack(">i", recv_exactly(sock, 4))
    assert 0 < size < 1 << 20, f"implausible response size {size}"
    return recv_exactly(sock, size)


def connect(broker) -> socket.socket:
    return socket.create_connection(("127.0.0.1", broker.port), timeout=TIMEOUT_S)


def api_versions(sock: socket.socket, correlation_id: int, version: int = 0) -> tuple[int, int]:
    request = struct.pack(">hhih", 18, version, correlation_id, 6) + b"hostil"
    sock.sendall(struct.pack(">i", len(request)) + request)
    frame = read_frame(sock)
    corr, error = struct.unpack_from(">ih", frame)
    return corr, error


def rss_kib(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def high_watermark(bootstrap: str, topic: str) -> tuple[int, int]:
    c = confluent_consumer(bootstrap)
    try:
        return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=TIMEOUT_S)
    finally:
        c.close()


def round_trip_works(broker, topic: str, tag: str) -> None:
    p = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all"})
    errs = []
    p.produce(topic, tag.encode(), partition=0, on_delivery=lambda e, m: errs.append(e))
    assert p.flush(TIMEOUT_S) == 0 and errs == [None], errs
    _, hw = high_watermark(broker.bootstrap, topic)
    msgs = confluent_consume(broker.bootstrap, topic, 1, hw)
    assert msgs and msgs[-1].value() == tag.encode(), [m.value() for m in msgs[-3:]]


# ---- tests ---------------------------------------------------------------------------------------------------------

def test_produce_batches_that_lie_get_kafka_errors(broker):
    """Well-formed Produce v9 requests whose record batch is bad: the partition answers CORRUPT_MESSAGE (or
    INVALID_RECORD for a record-level lie), nothing bad is stored, and the same connection keeps working."""
    topic = "lies"
    create_topic(broker.bootstrap, topic, 1)
    sock = connect(broker)
    try:
        # Sanity: the hand-built encoder is right: a good batch is accepted at offset 0.
        sock.sendall(produce_v9(1, topic, 0, record_batch([b"good-0", b"good-1"])))
        r = parse_produce_v9_response(read_frame(sock))
        assert r["correlation_id"] == 1 and r[(topic, 0)][:2] == (0, 0), r

        good = [b"v" * 40, b"w" * 40]
        cases = {
            "batchLength beyond the bytes": (record_batch(good, length_delta=+1000), {CORRUPT_MESSAGE}),
            "batchLength short of the bytes": (record_batch(good, length_delta=-10), {CORRUPT_MESSAGE}),
            "batchLength negative": (record_batch(good, length_delta=-10_000), {CORRUPT_MESSAGE}),
            "bad CRC": (record_batch(good, bad_crc=True), {CORRUPT_MESSAGE}),
            "truncated batch (header only)": (record_batch(good)[:40], {CORRUPT_MESSAGE}),
            # The CRC is right, but the batch says 5 records and holds 2 (too low: see the test below).
            "record count too high": (record_batch(good, count=5), {CORRUPT_MESSAGE, INVALID_RECORD}),
            "lastOffsetDelta below the count": (record_batch(good, last_offset_delta=0), {CORRUPT_MESSAGE, INVALID_RECORD}),
            "lastOffsetDelta negative": (record_batch(good, last_offset_delta=-1), {CORRUPT_MESSAGE, INVALID_RECORD}),
            # A record whose own length varint lies: see test_produce_batch_records_must_match_the_header.
        }
        corr = 10
        for name, (batch, allowed) in cases.items():
            corr += 1
            sock.sendall(produce_v9(corr, topic, 0, batch))
            try:
                r = parse_produce_v9_response(read_frame(sock))
            except (ConnectionError, socket.timeout, TimeoutError) as e:
                pytest.fail(f"{name}: no Produce response, the connection was dropped ({e}); Kafka answers "
                            f"CORRUPT_MESSAGE for a malformed batch in a well-formed request")
            assert r["correlation_id"] == corr
            error = r[(topic, 0)][0]
            assert error in allowed, f"{name}: error {error}, expected one of {allowed}: {r}"
        # Nothing of the bad batches was stored: only the two good records.
        assert high_watermark(broker.bootstrap, topic) == (0, 2)
        # The connection still works.
        sock.sendall(produce_v9(99, topic, 0, record_batch([b"after"])))
        r = parse_produce_v9_response(read_frame(sock))
        assert r[(topic, 0)][:2] == (0, 2), r
    finally:
        sock.close()
    msgs = confluent_consume(broker.bootstrap, topic, 1, 3)
    assert [m.value() for m in msgs] == [b"good-0", b"good-1", b"after"]
    assert broker.alive()


@pytest.mark.parametrize("case", [
    "gzip payload is not gzip",
    "gzip count below the records",
    "gzip record length lies",
    "record length lies",
    # 3 records, recordCount 1, lastOffsetDelta 2: stored, it would make kafka-python fail every fetch of the
    # partition with CorruptRecordError '22 unconsumed bytes after all records consumed' (a poison batch).
    "count below the records",
    # 2 records, recordCount 2, lastOffsetDelta 5: stored, the high watermark would jump by 6.
    "lastOffsetDelta above the count",
    # no records, recordCount 0, lastOffsetDelta 1: stored, the high watermark would move by 2.
    "empty batch with an offset range",
])
def test_produce_batch_records_must_match_the_header(broker, case):
    """A batch whose declared record count or offset range does not match the records it carries, or whose
    records' own lengths lie, is rejected (INVALID_RECORD, or CORRUPT_MESSAGE), nothing is stored, and every
    client can still read the partition past it."""
    topic = "counts"
    create_topic(broker.bootstrap, topic, 1)
    import gzip

    batch = {
        "gzip payload is not gzip": gzip_batch([b"v", b"w"], payload=b"\x1f\x8b" + b"\x00" * 50),
        "gzip count below the records": gzip_batch([b"x1", b"x2", b"x3"], count=1),
        "gzip record length lies": gzip_batch([b"v", b"w"], payload=gzip.compress(
            varint(10_000) + record(0, b"k", b"v")[1:] + record(1, b"k", b"w"))),
        "record length lies": record_batch([b"v", b"w"], records_blob=varint(10_000) + record(0, b"k", b"v")[1:]
                                           + record(1, b"k", b"w")),
        "count below the records": record_batch([b"x1", b"x2", b"x3"], count=1),
        "lastOffsetDelta above the count": record_batch([b"x1", b"x2"], last_offset_delta=5),
        "empty batch with an offset range": record_batch([b"x1", b"x2"], count=0, records_blob=b""),
    }[case]
    sock = connect(broker)
    try:
        sock.sendall(produce_v9(1, topic, 0, record_batch([b"first"])))
        assert parse_produce_v9_response(read_frame(sock))[(topic, 0)][:2] == (0, 0)
        sock.sendall(produce_v9(2, topic, 0, batch))
        r = parse_produce_v9_response(read_frame(sock))
        sock.sendall(produce_v9(3, topic, 0, record_batch([b"last"])))
        parse_produce_v9_response(read_frame(sock))
    finally:
        sock.close()
    from datapath_clients import kafka_python_consume

    allowed = {INVALID_RECORD, CORRUPT_MESSAGE} | ({UNKNOWN_SERVER_ERROR} if case.startswith("gzip") else set())
    assert r[(topic, 0)][0] in allowed, f"{case}: {r}"
    assert high_watermark(broker.bootstrap, topic) == (0, 2)
    rows = kafka_python_consume(broker.bootstrap, topic, 1, 2)
    assert [row[3] for row in rows] == [b"first", b"last"]
    msgs = confluent_consume(broker.bootstrap, topic, 1, 2)
    assert [m.value() for m in msgs] == [b"first", b"last"]


def test_produce_to_unknown_partition_and_acks0_bad_batch(broker):
    """UNKNOWN_TOPIC_OR_PARTITION for a partition that does not exist; acks=0 with a bad batch sends no
    response (Kafka closes the connection for an acks=0 error, or ignores it) and stores nothing."""
    topic = "quiet"
    create_topic(broker.bootstrap, topic, 1)
    sock = connect(broker)
    try:
        sock.sendall(produce_v9(1, topic, 7, record_batch([b"x"])))
        r = parse_produce_v9_response(read_frame(sock))
        assert r[(topic, 7)][0] == 3, r  # UNKNOWN_TOPIC_OR_PARTITION
    finally:
        sock.close()
    sock = connect(broker)
    try:
        sock.sendall(produce_v9(2, topic, 0, record_batch([b"x"], bad_crc=True), acks=0))
        # Either no answer at all (connection open) or a close; never a Produce response.
        sock.settimeout(1.0)
        try:
            data = sock.recv(100)
            assert data == b"", f"acks=0 produce got a response: {data!r}"
        except (socket.timeout, TimeoutError, ConnectionResetError):
            pass
    finally:
        sock.close()
    assert high_watermark(broker.bootstrap, topic) == (0, 0)


def header_v2(api_key: int, version: int, corr: int) -> bytes:
    return struct.pack(">hhih", api_key, version, corr, 6) + b"hostil" + b"\x00"


def frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


HOSTILE = {
    "frame shorter than a header": frame(b"\x00\x00\x00"),
    "header cut inside client id": frame(struct.pack(">hhih", 0, 9, 1, 50) + b"abc"),
    "produce body truncated": produce_v9(1, "victim", 0, record_batch([b"a" * 100]))[:60],  # then EOF
    "produce records length beyond frame": (lambda f: struct.pack(">i", len(f) - 4) + f[4:])(
        produce_v9(1, "victim", 0, b"")[:-4] + uvarint(1_000_000) + b"\x00\x00\x00"),
    "random bytes after a valid produce header": frame(header_v2(0, 9, 1) + random.Random(3).randbytes(3000)),
    "random bytes after a valid fetch header": frame(header_v2(1, 12, 1) + random.Random(4).randbytes(3000)),
    "random bytes after a valid metadata header": frame(header_v2(3, 12, 1) + random.Random(5).randbytes(500)),
    "unknown api key 999": frame(struct.pack(">hhih", 999, 0, 1, 0)),
    "unknown api key -1": frame(struct.pack(">hhih", -1, 0, 1, 0)),
    "unknown api key 32767": frame(struct.pack(">hhih", 32767, 0, 1, 0) + b"\x00" * 20),
    "consumer-group api (JoinGroup) not served": frame(header_v2(11, 9, 1) + b"\x00" * 40),
    "produce v99": frame(struct.pack(">hhih", 0, 99, 1, 0) + b"\x00" * 20),
    "produce v2 (below v3)": frame(struct.pack(">hhih", 0, 2, 1, 0) + b"\x00" * 20),
    "fetch v3 (below v4)": frame(struct.pack(">hhih", 1, 3, 1, 0) + b"\x00" * 20),
    "fetch v-1": frame(struct.pack(">hhih", 1, -1, 1, 0) + b"\x00" * 20),
    "length prefix 2 GiB - 1": b"\x7f\xff\xff\xff" + b"\x00" * 100,
    "length prefix 0": b"\x00\x00\x00\x00",
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_request_closes_only_its_connection(broker, case):
    topic = "victim"
    create_topic(broker.bootstrap, topic, 1)
    before = connect(broker)  # a raw client connected before, idle during the attack
    try:
        assert api_versions(before, 1) == (1, 0)
        bad = connect(broker)
        try:
            try:
                bad.sendall(HOSTILE[case])
                if case == "produce body truncated":
                    bad.shutdown(socket.SHUT_WR)
            except (ConnectionResetError, BrokenPipeError):
                pass
            if case != "produce body truncated":
                assert closed_by_peer(bad, CLOSE_TIMEOUT_S), f"{case}: the broker kept the connection open"
            else:
                # A frame cut by EOF: the broker sees the half-close and must drop the partial frame.
                assert closed_by_peer(bad, CLOSE_TIMEOUT_S), f"{case}: no close after EOF mid-frame"
        finally:
            bad.close()
        assert broker.alive(), f"broker exited {broker.proc.returncode}"
        assert api_versions(before, 2) == (2, 0)
    finally:
        before.close()
    round_trip_works(broker, topic, f"after {case}")
    assert high_watermark(broker.bootstrap, topic) == (0, 1), "a hostile request appended something"


def test_api_versions_unsupported_version_answers_v0(broker):
    """ApiVersions of an unknown version: Kafka answers in v0 with UNSUPPORTED_VERSION and ApiVersions' own
    version range, and keeps the connection."""
    sock = connect(broker)
    try:
        # ApiVersions v3+ uses request header v2 (tagged fields after the client id), and Kafka parses the
        # header of an unknown higher version the same way.
        request = struct.pack(">hhih", 18, 99, 7, 6) + b"hostil" + b"\x00"
        sock.sendall(struct.pack(">i", len(request)) + request)
        f = read_frame(sock)
        corr, error, n = struct.unpack_from(">ihi", f)
        assert (corr, error) == (7, UNSUPPORTED_VERSION)
        keys = {struct.unpack_from(">hhh", f, 10 + 6 * i)[0]: struct.unpack_from(">hhh", f, 10 + 6 * i)[1:]
                for i in range(n)}
        # Kafka lists (at least) ApiVersions' own range so the client can retry with a version it has.
        assert 18 in keys and keys[18][0] == 0 and keys[18][1] >= 3, keys
        assert api_versions(sock, 8) == (8, 0)
    finally:
        sock.close()


def test_memory_stays_bounded_under_hostile_traffic(broker):
    """Many connections each announce a 99 MiB frame (under socket.request.max.bytes) and send only 64 KiB,
    others send 2 GiB prefixes and garbage; the broker must not allocate what the prefixes promise. RSS stays
    under 200 MiB, and a normal client works throughout."""
    topic = "victim"
    create_topic(broker.bootstrap, topic, 1)
    round_trip_works(broker, topic, "before")
    rss_start = rss_kib(broker.proc.pid)
    partial = []
    try:
        for i in range(40):
            s = connect(broker)
            s.sendall(struct.pack(">i", 99 << 20) + header_v2(0, 9, i) + b"\x00" * 65536)
            partial.append(s)
        for i in range(200):
            s = connect(broker)
            try:
                s.sendall(random.choice([b"\x7f\xff\xff\xff", b"\x80\x00\x00\x00"]) + random.Random(i).randbytes(2000))
                s.sendall(frame(header_v2(0, 9, i) + random.Random(i).randbytes(5000)))
            except (ConnectionResetError, BrokenPipeError):
                pass
            finally:
                s.close()
        time.sleep(0.5)
        rss_peak = rss_kib(broker.proc.pid)
        round_trip_works(broker, topic, "during")
        assert broker.alive()
        assert rss_peak < RSS_LIMIT_KIB, (f"RSS {rss_peak // 1024} MiB (started at {rss_start // 1024} MiB) with 40 "
                                          f"connections holding partial 99 MiB frames")
    finally:
        for s in partial:
            s.close()
    time.sleep(0.5)
    round_trip_works(broker, topic, "after")
    rss_end = rss_kib(broker.proc.pid)
    print(f"RSS KiB: start {rss_start}, with 40 partial 99 MiB frames {rss_peak}, after {rss_end}")
    assert rss_end < RSS_LIMIT_KIB, f"RSS {rss_end // 1024} MiB after the hostile traffic"
