"""Internal topics are the broker's (issue 11 item 5): only the group and transaction coordinators append to
`__consumer_offsets` and `__transaction_state`, and nothing but the metadata log writes `__cluster_metadata`.

A client's Produce there gets INVALID_TOPIC_EXCEPTION per partition (Kafka: "Cannot append to internal topic"),
DeleteRecords gets the same, DeleteTopics and CreatePartitions are refused, and records a client tries to inject
can never be replayed into group or transaction state at the next start."""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import NewPartitions

from conftest import fjord_bin, restart_broker
from datapath_clients import TIMEOUT_S, admin, create_topic, drop_admin_clients  # noqa: F401 (autouse fixture)
from test_hostile_data_path import parse_produce_v9_response, produce_v9, read_frame, record, record_batch

INVALID_TOPIC_EXCEPTION = 17
INVALID_REQUEST = 42


def kafka_string(s: str) -> bytes:
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def offset_commit_record(group: str, topic: str, partition: int, offset: int) -> tuple[bytes, bytes]:
    """An OffsetCommitKey (v1) and OffsetCommitValue (v3) as Kafka's group coordinator writes them."""
    key = struct.pack(">h", 1) + kafka_string(group) + kafka_string(topic) + struct.pack(">i", partition)
    value = struct.pack(">hqi", 3, offset, -1) + kafka_string("") + struct.pack(">q", 1_700_000_000_000)
    return key, value


def transaction_record(transactional_id: str, producer_id: int) -> tuple[bytes, bytes]:
    """A TransactionLogKey (v0) and an Ongoing TransactionLogValue (v0) on partition `injected-topic-0`."""
    key = struct.pack(">h", 0) + kafka_string(transactional_id)
    value = (struct.pack(">hqhib", 0, producer_id, 0, 60_000, 1)          # state 1: Ongoing
             + struct.pack(">i", 1) + kafka_string("injected-topic") + struct.pack(">ii", 1, 0)
             + struct.pack(">qq", 1_700_000_000_000, 1_700_000_000_000))
    return key, value


def produce_raw(broker, topic: str, partition: int, key: bytes, value: bytes) -> tuple[int, str | None]:
    """One Produce v9 with one record: (error code, error message) of the partition."""
    with socket.create_connection(("127.0.0.1", broker.port), timeout=TIMEOUT_S) as sock:
        batch = record_batch([value], records_blob=record(0, key, value))
        sock.sendall(produce_v9(7, topic, partition, batch))
        answer = parse_produce_v9_response(read_frame(sock))
    error, _base, _record_errors, message = answer[(topic, partition)]
    return error, message


def partition_count(bootstrap: str, topic: str) -> int:
    metadata = admin(bootstrap).list_topics(topic, timeout=TIMEOUT_S)
    return len(metadata.topics[topic].partitions)


def commit(bootstrap: str, group: str, topic: str, offset: int) -> None:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        c.commit(offsets=[TopicPartition(topic, 0, offset)], asynchronous=False)
    finally:
        c.close()


def committed(bootstrap: str, group: str, topic: str) -> int:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        return c.committed([TopicPartition(topic, 0)], timeout=TIMEOUT_S)[0].offset
    finally:
        c.close()


def transactions(broker) -> list[dict]:
    env = {**os.environ, "FJORD_BOOTSTRAP": broker.bootstrap}
    done = subprocess.run([fjord_bin(), "transaction", "list", "--format", "json"], capture_output=True, text=True,
                          env=env, timeout=TIMEOUT_S)
    assert done.returncode == 0, (done.stdout, done.stderr)
    return json.loads(done.stdout)["transactions"]


def test_clients_cannot_produce_to_internal_topics_and_injected_state_is_never_replayed(broker):
    b = broker.bootstrap
    create_topic(b, "orders", 1)
    commit(b, "real-group", "orders", 5)  # creates __consumer_offsets and one real commit
    groups = partition_count(b, "__consumer_offsets")

    # A real client's Produce: the delivery report carries INVALID_TOPIC_EXCEPTION (librdkafka: TOPIC_EXCEPTION).
    reports = []
    p = Producer({"bootstrap.servers": b, "retries": 0, "message.timeout.ms": 10000})
    key, value = offset_commit_record("victim", "orders", 0, 42)
    for partition in range(groups):
        p.produce("__consumer_offsets", value, key, partition=partition,
                  on_delivery=lambda err, _msg: reports.append(err))
    assert p.flush(TIMEOUT_S) == 0
    assert len(reports) == groups
    assert all(err is not None and err.code() == KafkaError.TOPIC_EXCEPTION for err in reports), reports

    # Raw Produce requests: every partition answers INVALID_TOPIC_EXCEPTION with Kafka's message, and so does the
    # metadata log's topic, which is not a topic a client can see at all.
    for partition in range(groups):
        error, message = produce_raw(broker, "__consumer_offsets", partition, key, value)
        assert (error, message) == (INVALID_TOPIC_EXCEPTION, "Cannot append to internal topic __consumer_offsets")
    key, value = transaction_record("injected-txn", 4242)
    error, message = produce_raw(broker, "__transaction_state", 0, key, value)
    assert (error, message) == (INVALID_TOPIC_EXCEPTION, "Cannot append to internal topic __transaction_state")
    error, message = produce_raw(broker, "__cluster_metadata", 0, b"k", b"v")
    assert (error, message) == (INVALID_TOPIC_EXCEPTION, "Cannot append to internal topic __cluster_metadata")

    # After a restart (state replayed from the logs) the victim group has no offsets, the real group keeps its own,
    # and no injected transaction exists.
    restart_broker(broker, hard=True)
    assert committed(b, "victim", "orders") < 0
    assert committed(b, "real-group", "orders") == 5
    assert all(t["transactional_id"] != "injected-txn" for t in transactions(broker))
    assert "__cluster_metadata" not in admin(b).list_topics(timeout=TIMEOUT_S).topics


def test_delete_records_delete_topics_and_create_partitions_on_internal_topics_are_refused(broker):
    b = broker.bootstrap
    create_topic(b, "orders", 1)
    commit(b, "real-group", "orders", 7)
    a = admin(b)
    groups = partition_count(b, "__consumer_offsets")

    futures = a.delete_records([TopicPartition("__consumer_offsets", 0, -1)])
    err = next(iter(futures.values())).exception(TIMEOUT_S)
    assert err is not None and err.args[0].code() == KafkaError.TOPIC_EXCEPTION, err

    err = a.delete_topics(["__consumer_offsets"], operation_timeout=10)["__consumer_offsets"].exception(TIMEOUT_S)
    assert err is not None and err.args[0].code() == KafkaError.INVALID_REQUEST, err

    futures = a.create_partitions([NewPartitions("__consumer_offsets", groups + 5)])
    err = futures["__consumer_offsets"].exception(TIMEOUT_S)
    assert err is not None and err.args[0].code() == KafkaError.INVALID_REQUEST, err

    # The metadata log's topic cannot be created by a client (Kafka: "Creation of internal topic ... is prohibited").
    from confluent_kafka.admin import NewTopic
    err = a.create_topics([NewTopic("__cluster_metadata", 1, 1)])["__cluster_metadata"].exception(TIMEOUT_S)
    assert err is not None and err.args[0].code() == KafkaError.INVALID_REQUEST, err

    # Everything still there: same partitions, the commit intact.
    assert partition_count(b, "__consumer_offsets") == groups
    assert committed(b, "real-group", "orders") == 7
