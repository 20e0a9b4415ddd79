"""confluent-kafka helpers shared by the security tests (test_sasl.py, test_tls.py): each takes the client's whole
configuration (bootstrap and security properties), so one helper serves PLAIN, SCRAM, OAUTHBEARER, SSL and SASL_SSL."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from waiting import wait_until

TIMEOUT_S = 30


class Errors:
    """librdkafka's error callback: what the client was told, e.g. a refused authentication."""

    def __init__(self) -> None:
        self.seen: list[KafkaError] = []

    def __call__(self, error: KafkaError) -> None:
        self.seen.append(error)

    def authentication(self) -> list[KafkaError]:
        return [e for e in self.seen if e.code() == KafkaError._AUTHENTICATION]


_ADMINS: dict[str, AdminClient] = {}


@pytest.fixture(autouse=True)
def drop_secured_admins():
    """Import into a test module to drop its admin clients after each test."""
    yield
    _ADMINS.clear()


def admin(conf: dict) -> AdminClient:
    """One AdminClient per configuration, kept alive: a temporary one destroyed before its futures resolve fails
    them."""
    key = repr(sorted(conf.items()))
    if key not in _ADMINS:
        _ADMINS[key] = AdminClient(conf)
    return _ADMINS[key]


def create(conf: dict, topic: str) -> None:
    admin(conf).create_topics([NewTopic(topic, 1, 1)])[topic].result(TIMEOUT_S)
    wait_until(lambda: topic in admin(conf).list_topics(timeout=10).topics, TIMEOUT_S)


def produce(conf: dict, topic: str, values: list[bytes]) -> list:
    """Produces `values`; the delivery reports' errors (None each when all were written)."""
    results: list = []
    p = Producer({"message.timeout.ms": 15000, **conf})
    for value in values:
        p.produce(topic, value, on_delivery=lambda err, _msg: results.append(err))
    p.flush(TIMEOUT_S)
    return results


def consume(conf: dict, topic: str, count: int) -> list[bytes]:
    """`count` values of partition 0 from the start."""
    c = Consumer({**conf, "group.id": f"g-{uuid.uuid4().hex[:8]}", "auto.offset.reset": "earliest"})
    c.assign([TopicPartition(topic, 0, 0)])
    got: list[bytes] = []
    try:
        def more():
            msg = c.poll(0.5)
            if msg is not None and msg.error() is None:
                got.append(msg.value())
            return len(got) >= count
        wait_until(more, TIMEOUT_S, lambda: f"read {len(got)} of {count}")
    finally:
        c.close()
    return got
