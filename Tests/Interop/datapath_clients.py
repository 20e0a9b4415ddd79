"""Data-path helpers shared by the produce/consume, admin, durability and hostile tests.

Consumer groups are not served yet, so every consumer here uses assign() with explicit
start offsets and never commits.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from dataclasses import dataclass

import pytest
from confluent_kafka import (OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer,
                             TopicPartition)
from confluent_kafka.admin import AdminClient, NewTopic

from waiting import GENEROUS_S

TIMEOUT_S = 20


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Rec:
    """One record as produced: what every consumer must hand back."""

    seq: int
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    timestamp: int


def make_records(n: int, ts_base: int, keys: int = 37, tag: str = "r") -> list[Rec]:
    """n keyed records with two headers each, values of varying size and content (compressible and not),
    CreateTime timestamps ts_base + seq."""
    out = []
    for i in range(n):
        key = f"key-{i % keys}".encode()
        # Mixed content: a repeated text prefix (compressible) and seq-dependent bytes (not).
        value = (f"{tag}-{i:06d}|".encode() + bytes((i * 7 + j) % 256 for j in range(i % 97))
                 + b"x" * (i % 300))
        headers = (("seq", str(i).encode()), ("bin", bytes([i % 256, 0, 255])))
        out.append(Rec(i, key, value, headers, ts_base + i))
    return out


def seq_of_value(value: bytes) -> int:
    """The seq encoded at the start of a value made by make_records."""
    return int(value.split(b"|", 1)[0].split(b"-")[-1])


_ADMINS: dict[str, AdminClient] = {}


@pytest.fixture(autouse=True)
def drop_admin_clients():
    """Import into a test module: forgets the cached AdminClients after each test (their broker is gone)."""
    yield
    _ADMINS.clear()


def admin(bootstrap: str) -> AdminClient:
    """One AdminClient per bootstrap, kept alive: a temporary AdminClient destroyed before its futures resolve
    fails them with _DESTROY."""
    if bootstrap not in _ADMINS:
        _ADMINS[bootstrap] = AdminClient({"bootstrap.servers": bootstrap, "client.id": "fjord-interop"})
    return _ADMINS[bootstrap]


def create_topic(bootstrap: str, name: str, partitions: int = 1, config: dict[str, str] | None = None) -> None:
    fs = admin(bootstrap).create_topics([NewTopic(name, partitions, 1, config=config or {})],
                                        operation_timeout=10, request_timeout=TIMEOUT_S)
    fs[name].result(timeout=TIMEOUT_S)
    wait_for_topic(bootstrap, name, partitions)


def wait_for_topic(bootstrap: str, name: str, partitions: int) -> None:
    a = admin(bootstrap)
    deadline = time.monotonic() + GENEROUS_S
    while True:
        md = a.list_topics(topic=name, timeout=TIMEOUT_S)
        t = md.topics.get(name)
        if t is not None and t.error is None and len(t.partitions) == partitions and all(
                p.leader == 1 for p in t.partitions.values()):
            return
        assert time.monotonic() < deadline, f"topic {name} not ready: {t and t.error} {t and t.partitions}"
        time.sleep(0.1)


class Delivery:
    """Collects confluent-kafka delivery reports in order."""

    def __init__(self):
        self.reports: list[tuple[int, int, int, KafkaError | None, float]] = []  # seq, partition, offset, err, t

    def callback(self, seq: int):
        def cb(err, msg):
            self.reports.append((seq, msg.partition(), msg.offset(), err, time.monotonic()))
        return cb

    def errors(self):
        return [(s, e) for s, _, _, e, _ in self.reports if e is not None]


def confluent_produce(bootstrap: str, topic: str, records: list[Rec], partition: int | None = None,
                      **conf) -> Delivery:
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, **conf})
    d = Delivery()
    for r in records:
        kwargs = {} if partition is None else {"partition": partition}
        while True:
            try:
                p.produce(topic, r.value, r.key, headers=list(r.headers), timestamp=r.timestamp,
                          on_delivery=d.callback(r.seq), **kwargs)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    left = p.flush(TIMEOUT_S * 3)
    assert left == 0, f"{left} records still in the producer queue after flush"
    assert len(d.reports) == len(records)
    return d


def confluent_consumer(bootstrap: str, **conf) -> Consumer:
    return Consumer({"bootstrap.servers": bootstrap, "group.id": "fjord-interop-unused",
                     "enable.auto.commit": False, "enable.auto.offset.store": False,
                     "auto.offset.reset": "earliest", **conf})


def confluent_consume(bootstrap: str, topic: str, partitions: int, count: int, start=OFFSET_BEGINNING,
                      timeout: float = TIMEOUT_S * 3, **conf) -> list:
    """Consume until `count` messages arrived (then 0.3 s more to catch extras) or the deadline."""
    c = confluent_consumer(bootstrap, **conf)
    try:
        c.assign([TopicPartition(topic, p, start) for p in range(partitions)])
        msgs = []
        deadline = time.monotonic() + timeout
        extra_until = None
        while time.monotonic() < deadline:
            for m in c.consume(num_messages=5000, timeout=0.3):
                assert m.error() is None, f"consumer error: {m.error()}"
                msgs.append(m)
            if len(msgs) >= count:
                if extra_until is None:
                    extra_until = time.monotonic() + 0.3
                elif time.monotonic() > extra_until:
                    break
        return msgs
    finally:
        c.close()


def check_consumed(records: list[Rec], got: list[tuple[int, int, bytes | None, bytes | None, list, int]],
                   ts_window: tuple[int, int] | None = None):
    """got: (partition, offset, key, value, headers, timestamp) per consumed record, in arrival order.

    Checks: exactly the produced records (bytes of key, value, headers, CreateTime timestamp), no duplicates,
    one partition per key, and per partition ascending offsets carrying ascending seq (production order).
    With ts_window the timestamps were set by the producer and must lie in that window."""
    by_seq = {r.seq: r for r in records}
    seen: dict[int, tuple[int, int]] = {}
    key_partition: dict[bytes, int] = {}
    last_in_partition: dict[int, tuple[int, int]] = {}
    for partition, offset, key, value, headers, ts in got:
        seq = seq_of_value(value)
        assert seq not in seen, f"seq {seq} delivered twice: {seen[seq]} and {(partition, offset)}"
        seen[seq] = (partition, offset)
        r = by_seq[seq]
        assert key == r.key, f"seq {seq}: key {key!r} != {r.key!r}"
        assert value == r.value, f"seq {seq}: value differs ({len(value)} vs {len(r.value)} bytes)"
        assert [(k, bytes(v)) for k, v in headers] == list(r.headers), f"seq {seq}: headers {headers!r}"
        if ts_window is None:
            assert ts == r.timestamp, f"seq {seq}: timestamp {ts} != {r.timestamp}"
        else:  # the producer stamped it (kcat): between the start and the end of the produce
            assert ts_window[0] <= ts <= ts_window[1], f"seq {seq}: timestamp {ts} outside {ts_window}"
        assert key_partition.setdefault(key, partition) == partition, f"key {key!r} in two partitions"
        if partition in last_in_partition:
            prev_off, prev_seq = last_in_partition[partition]
            assert offset > prev_off, f"partition {partition}: offset {offset} after {prev_off}"
            assert seq > prev_seq, f"partition {partition}: seq {seq} (offset {offset}) after seq {prev_seq}"
        last_in_partition[partition] = (offset, seq)
    missing = sorted(set(by_seq) - set(seen))
    assert not missing, f"{len(missing)} of {len(records)} records missing, first {missing[:10]}"
    return seen


def confluent_rows(msgs) -> list:
    rows = []
    for m in msgs:
        ts_type, ts = m.timestamp()
        from confluent_kafka import TIMESTAMP_CREATE_TIME
        assert ts_type == TIMESTAMP_CREATE_TIME, f"timestamp type {ts_type}"
        rows.append((m.partition(), m.offset(), m.key(), m.value(), m.headers() or [], ts))
    return rows


# ---- kafka-python -------------------------------------------------------------------------------------------

def kafka_python_produce(bootstrap: str, topic: str, records: list[Rec], **conf) -> list:
    from kafka import KafkaProducer

    p = KafkaProducer(bootstrap_servers=bootstrap, request_timeout_ms=TIMEOUT_S * 1000, **conf)
    try:
        futures = [p.send(topic, key=r.key, value=r.value, headers=list(r.headers), timestamp_ms=r.timestamp)
                   for r in records]
        p.flush(TIMEOUT_S * 3)
        return [f.get(timeout=TIMEOUT_S) for f in futures]
    finally:
        p.close(timeout=5)


def kafka_python_consume(bootstrap: str, topic: str, partitions: int, count: int) -> list:
    from kafka import KafkaConsumer
    from kafka.structs import TopicPartition as KTP

    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                      auto_offset_reset="earliest", request_timeout_ms=TIMEOUT_S * 1000 + 5000,
                      fetch_max_wait_ms=200)
    try:
        tps = [KTP(topic, p) for p in range(partitions)]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        rows = []
        deadline = time.monotonic() + TIMEOUT_S * 3
        while len(rows) < count and time.monotonic() < deadline:
            for tp, batch in c.poll(timeout_ms=500, max_records=5000).items():
                for m in batch:
                    assert m.timestamp_type == 0, f"timestamp type {m.timestamp_type}"
                    rows.append((m.partition, m.offset, m.key, m.value, list(m.headers), m.timestamp))
        return rows
    finally:
        c.close()


# ---- aiokafka -----------------------------------------------------------------------------------------------

def aiokafka_produce(bootstrap: str, topic: str, records: list[Rec], **conf) -> list:
    from aiokafka import AIOKafkaProducer

    async def run():
        p = AIOKafkaProducer(bootstrap_servers=bootstrap, request_timeout_ms=TIMEOUT_S * 1000, **conf)
        await asyncio.wait_for(p.start(), TIMEOUT_S)
        try:
            futs = [await p.send(topic, key=r.key, value=r.value, headers=list(r.headers),
                                 timestamp_ms=r.timestamp) for r in records]
            return [await asyncio.wait_for(f, TIMEOUT_S * 3) for f in futs]
        finally:
            await p.stop()

    return asyncio.run(run())


def aiokafka_consume(bootstrap: str, topic: str, partitions: int, count: int) -> list:
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition as ATP

    async def run():
        c = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             auto_offset_reset="earliest", request_timeout_ms=TIMEOUT_S * 1000 + 5000,
                             fetch_max_wait_ms=200)
        await asyncio.wait_for(c.start(), TIMEOUT_S)
        try:
            tps = [ATP(topic, p) for p in range(partitions)]
            c.assign(tps)
            await c.seek_to_beginning(*tps)
            rows = []
            deadline = time.monotonic() + TIMEOUT_S * 3
            while len(rows) < count and time.monotonic() < deadline:
                for tp, batch in (await c.getmany(timeout_ms=500, max_records=5000)).items():
                    for m in batch:
                        assert m.timestamp_type == 0, f"timestamp type {m.timestamp_type}"
                        rows.append((m.partition, m.offset, m.key, m.value, list(m.headers), m.timestamp))
            return rows
        finally:
            await c.stop()

    return asyncio.run(run())


# ---- kcat ---------------------------------------------------------------------------------------------------

def kcat_produce(bootstrap: str, topic: str, records: list[Rec], codec: str = "none", extra: list[str] = ()) -> None:
    """kcat -P: one record per line as key<TAB>value; kcat cannot set per-record headers or timestamps
    from stdin, so records must have no tab/newline in keys or values (use make_text_records)."""
    lines = b"".join(r.key + b"\t" + r.value + b"\n" for r in records)
    done = subprocess.run(["kcat", "-b", bootstrap, "-P", "-t", topic, "-K", "\t", "-z", codec,
                           "-X", "linger.ms=5", *extra],
                          input=lines, capture_output=True, timeout=TIMEOUT_S * 3)
    assert done.returncode == 0, f"kcat -P exited {done.returncode}: {done.stderr.decode(errors='replace')}"


def kcat_consume(bootstrap: str, topic: str, extra: list[str] = ()) -> list[dict]:
    """kcat -C -o beginning -e -J: every record of every partition, as kcat's JSON envelopes."""
    done = subprocess.run(["kcat", "-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-J",
                           "-m", str(TIMEOUT_S), *extra],
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT_S * 3)
    assert done.returncode == 0, f"kcat -C exited {done.returncode}: {done.stderr.decode(errors='replace')}"
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def make_text_records(n: int, ts_base: int, tag: str = "t", headers: bool = True) -> list[Rec]:
    """Records kcat can print as JSON: printable ASCII keys, values and headers."""
    return [Rec(i, f"key-{i % 13}".encode(), f"{tag}-{i:06d}|payload {'abc' * (i % 40)}".encode(),
                (("seq", str(i).encode()), ("src", tag.encode())) if headers else (), ts_base + i)
            for i in range(n)]


def kcat_rows(envelopes: list[dict]) -> list:
    """kcat JSON envelopes as check_consumed rows."""
    rows = []
    for e in envelopes:
        assert e.get("tstype") == "create", e
        h = e.get("headers") or []
        headers = [(h[i], h[i + 1].encode()) for i in range(0, len(h), 2)]
        rows.append((e["partition"], e["offset"], e["key"].encode() if e["key"] is not None else None,
                     e["payload"].encode() if e["payload"] is not None else None, headers, e["ts"]))
    return rows
