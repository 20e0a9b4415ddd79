"""Consumer groups against a real Fjord broker: the classic protocol through librdkafka (confluent-kafka),
kafka-python and aiokafka; eager and cooperative rebalancing, static membership, committed offsets that
survive a restart, and the group admin APIs.

Every broker here runs with group.initial.rebalance.delay.ms=0 and a low group.min.session.timeout.ms so a
test finishes in seconds."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import _track, restart_broker, start_fjord

GROUP_OVERRIDES = {
    "group.initial.rebalance.delay.ms": "0",
    "group.min.session.timeout.ms": "1000",
    "offsets.topic.num.partitions": "5",
}


@pytest.fixture
def gbroker(request, tmp_path):
    b = start_fjord(tmp_path, overrides=GROUP_OVERRIDES)
    _track(request, b)
    try:
        yield b
    finally:
        b.stop()


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    futures[name].result(15)


def produce(bootstrap: str, topic: str, count: int, partitions: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(count):
        producer.produce(topic, value=f"v{i}".encode(), key=f"k{i}".encode(), partition=i % partitions)
    assert producer.flush(15) == 0


def consumer(bootstrap: str, group: str, **extra) -> Consumer:
    config = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
        "enable.auto.commit": False,
        **extra,
    }
    return Consumer(config)


def poll_until(consumers, predicate, timeout: float = 20.0, on_message=None) -> None:
    """Polls every consumer in turn until `predicate()` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for c in consumers:
            msg = c.poll(0.05)
            if msg is not None and not msg.error() and on_message:
                on_message(c, msg)
        if predicate():
            return
    raise AssertionError("condition not reached in time")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_single_consumer_reads_and_commits(gbroker):
    topic, group = unique("t"), unique("g")
    create_topic(gbroker.bootstrap, topic, 3)
    produce(gbroker.bootstrap, topic, 30, 3)
    c = consumer(gbroker.bootstrap, group)
    c.subscribe([topic])
    seen = []
    poll_until([c], lambda: len(seen) >= 30, on_message=lambda _c, m: seen.append(m.value()))
    assert sorted(seen) == sorted(f"v{i}".encode() for i in range(30))
    c.commit(asynchronous=False)
    committed = c.committed([TopicPartition(topic, p) for p in range(3)], timeout=10)
    assert [tp.offset for tp in committed] == [10, 10, 10]
    c.close()
