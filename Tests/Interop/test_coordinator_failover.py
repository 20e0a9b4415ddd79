"""A group coordinator moves with its partition's leader and loses no committed offset (issue 13, items 6 and 8):
three combined KRaft nodes with `offsets.topic.replication.factor=3`, so `__consumer_offsets` is replicated like any
topic and a coordinator's offset commit is answered only once every in-sync replica has it. The coordinator's
broker is killed (SIGKILL) right after a consumer committed; the partition's new leader loads the group from its
own replica and answers for it, with the committed offset, and a consumer of the group resumes exactly there."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from test_kraft_cluster import ShortSessionCluster, _ModuleRequest
from test_kraft_quorum import STEP_S
from waiting import wait_for, wait_until

TOPIC = "orders"
GROUP = "failover-group"


@pytest.fixture(scope="module")
def cluster(request, tmp_path_factory):
    c = ShortSessionCluster(_ModuleRequest(request), tmp_path_factory.mktemp("coordinator-failover"),
                            extra=["offsets.topic.replication.factor=3", "offsets.topic.num.partitions=3"])
    try:
        yield c
    finally:
        c.stop()


def servers(cluster, skip: int | None = None) -> str:
    return ",".join(f"127.0.0.1:{n.port}" for i, n in enumerate(cluster.nodes) if i + 1 != skip)


def committed(bootstrap: str) -> int | None:
    """The group's committed offset of partition 0, as its coordinator answers (None while it cannot)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        result = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(GROUP)])[GROUP].result(timeout=10)
    except Exception:  # noqa: BLE001 - COORDINATOR_NOT_AVAILABLE / NOT_COORDINATOR while the group moves
        return None
    offsets = {tp.partition: tp.offset for tp in result.topic_partitions if tp.topic == TOPIC}
    return offsets.get(0)


def test_a_killed_coordinators_group_is_served_by_the_new_leader_with_every_committed_offset(cluster):
    admin = AdminClient({"bootstrap.servers": servers(cluster)})
    wait_until(lambda: len(admin.list_topics(timeout=10).brokers) == 3, STEP_S, "three brokers not registered")
    admin.create_topics([NewTopic(TOPIC, 1, 3)])[TOPIC].result(timeout=30)
    producer = Producer({"bootstrap.servers": servers(cluster), "acks": "all"})
    for i in range(100):
        producer.produce(TOPIC, value=f"r{i}".encode(), partition=0)
    assert producer.flush(30) == 0

    consumer = Consumer({"bootstrap.servers": servers(cluster), "group.id": GROUP, "enable.auto.commit": False,
                         "auto.offset.reset": "earliest"})
    try:
        consumer.assign([TopicPartition(TOPIC, 0, 0)])
        read = 0
        deadline = time.monotonic() + STEP_S
        while read < 50 and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                read += 1
        assert read == 50
        consumer.commit(offsets=[TopicPartition(TOPIC, 0, 50)], asynchronous=False)
    finally:
        consumer.close()
    assert committed(servers(cluster)) == 50

    coordinator = admin.describe_consumer_groups([GROUP])[GROUP].result(timeout=10).coordinator.id
    offsets_topic = admin.list_topics("__consumer_offsets", timeout=10).topics["__consumer_offsets"]
    assert all(len(p.replicas) == 3 for p in offsets_topic.partitions.values()), "the offsets topic is not replicated"
    victim = cluster.nodes[coordinator - 1]
    victim.proc.kill()
    victim.proc.wait()

    survivors = servers(cluster, skip=coordinator)
    # The partition's new leader loads the group and answers with what was committed before the kill.
    assert wait_for(lambda: committed(survivors), STEP_S, "no coordinator answered after the kill") == 50
    resumed = Consumer({"bootstrap.servers": survivors, "group.id": GROUP, "enable.auto.commit": False,
                        "auto.offset.reset": "earliest"})
    try:
        resumed.subscribe([TOPIC])
        first = None
        deadline = time.monotonic() + STEP_S
        while first is None and time.monotonic() < deadline:
            message = resumed.poll(0.5)
            if message is not None and not message.error():
                first = (message.offset(), message.value().decode())
        assert first == (50, "r50"), f"the group resumed at {first}"
    finally:
        resumed.close()
    survivor_admin = AdminClient({"bootstrap.servers": survivors})  # kept until the answer
    new_coordinator = survivor_admin.describe_consumer_groups([GROUP])[GROUP].result(timeout=10).coordinator.id
    assert new_coordinator != coordinator
    cluster.nodes[coordinator - 1] = cluster._spawn(coordinator - 1, append=True)
    cluster.nodes[coordinator - 1].wait_until_ready(STEP_S)
