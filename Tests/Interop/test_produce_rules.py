"""Produce rules a topic's configuration imposes: timestamp bounds (INVALID_TIMESTAMP), min.insync.replicas for
acks=all (NOT_ENOUGH_REPLICAS), and the topic's compression.type (the broker recompresses, consumers see the same
records)."""

from __future__ import annotations

import struct
from pathlib import Path

from confluent_kafka import KafkaError, Producer

from datapath_clients import TIMEOUT_S, confluent_consume, create_topic, now_ms


# retries=0: the broker's first answer is the delivery report. message.timeout.ms only bounds a send the broker never
# answers; a short one would turn a slow answer on a loaded machine into a client-side timeout error.
def produce_one(bootstrap: str, topic: str, value: bytes, **conf) -> KafkaError | None:
    errors = []
    p = Producer({"bootstrap.servers": bootstrap, "retries": 0, "message.timeout.ms": 60000, **conf})
    p.produce(topic, value, on_delivery=lambda err, _msg: errors.append(err))
    assert p.flush(TIMEOUT_S) == 0
    return errors[0]


def produce_at(bootstrap: str, topic: str, value: bytes, timestamp: int) -> KafkaError | None:
    errors = []
    p = Producer({"bootstrap.servers": bootstrap, "retries": 0, "message.timeout.ms": 60000})
    p.produce(topic, value, timestamp=timestamp, on_delivery=lambda err, _msg: errors.append(err))
    assert p.flush(TIMEOUT_S) == 0
    return errors[0]


def test_create_time_outside_the_topic_bounds_is_invalid_timestamp(broker):
    b = broker.bootstrap
    create_topic(b, "bounded", 1, {"message.timestamp.before.max.ms": "60000", "message.timestamp.after.max.ms": "60000"})
    assert produce_at(b, "bounded", b"now", now_ms()) is None
    old = produce_at(b, "bounded", b"old", now_ms() - 3_600_000)
    assert old is not None and old.code() == KafkaError.INVALID_TIMESTAMP, old
    future = produce_at(b, "bounded", b"future", now_ms() + 3_600_000)
    assert future is not None and future.code() == KafkaError.INVALID_TIMESTAMP, future
    # Only the record within the bounds was stored.
    assert [m.value() for m in confluent_consume(b, "bounded", 1, 1)] == [b"now"]


def test_min_insync_replicas_above_the_replication_factor_is_capped_by_it(broker):
    # Kafka 3.7+ (KAFKA-15583): the ISR is checked against min(min.insync.replicas, replication factor), so on one
    # broker a topic asking for 2 still takes acks=all. (NOT_ENOUGH_REPLICAS with real replicas: test_replication.py.)
    b = broker.bootstrap
    create_topic(b, "needs-two", 1, {"min.insync.replicas": "2"})
    assert produce_one(b, "needs-two", b"x", acks="all") is None
    assert produce_one(b, "needs-two", b"y", acks="1") is None


def test_topic_compression_type_recompresses_what_producers_send(broker):
    b = broker.bootstrap
    create_topic(b, "gzipped", 1, {"compression.type": "gzip"})
    values = [f"value-{i}-".encode() * 20 for i in range(50)]
    p = Producer({"bootstrap.servers": b, "compression.type": "none", "linger.ms": 20})
    for value in values:
        p.produce("gzipped", value, key=b"k")
    assert p.flush(TIMEOUT_S) == 0
    # The stored batches carry gzip (attributes bits 0-2 = 1) although the producer sent them uncompressed.
    log = Path(broker.data_dir) / "gzipped-0" / "00000000000000000000.log"
    data = log.read_bytes()
    position, codecs = 0, set()
    while position + 61 <= len(data):
        batch_length = struct.unpack_from(">i", data, position + 8)[0]
        codecs.add(struct.unpack_from(">h", data, position + 21)[0] & 0x7)
        position += 12 + batch_length
    assert codecs == {1}, codecs
    assert [m.value() for m in confluent_consume(b, "gzipped", 1, len(values))] == values
