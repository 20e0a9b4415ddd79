"""Racks and fetching from the closest replica (KIP-392; issue 13 item 7) on three combined KRaft nodes with
`broker.rack` a, a, b and `replica.selector.class=org.apache.kafka.common.replica.RackAwareReplicaSelector`:

- DescribeCluster lists each broker's rack, and placement spreads each partition's replicas over both racks.
- A consumer with `client.rack=b` is sent by the leader (rack a) to the in-sync follower in rack b (the leader's
  Fetch answer names it as preferred read replica) and reads every record from it; one with `client.rack=a`
  stays on the leader, which is in its rack. Followers keep the producer state as leaders do, so a read_committed
  consumer in rack b reads from the follower too, and sees committed transactions only (an aborted one between
  them is skipped, by the follower's own transaction index). Which broker a consumer fetches from is read from
  librdkafka's statistics."""

from __future__ import annotations

import json
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from test_kraft_cluster import SESSION_MS, _ModuleRequest
from test_kraft_quorum import STEP_S, Cluster
from waiting import wait_until

RACKS = {1: "a", 2: "a", 3: "b"}
SELECTOR = "org.apache.kafka.common.replica.RackAwareReplicaSelector"
RECORDS = 200


class RackCluster(Cluster):
    def _format(self, i, cluster_id, extra):
        return super()._format(i, cluster_id, extra + [f"broker.rack={RACKS[i + 1]}"])


@pytest.fixture(scope="module")
def cluster(request, tmp_path_factory):
    c = RackCluster(_ModuleRequest(request), tmp_path_factory.mktemp("racks"),
                    extra=[f"broker.session.timeout.ms={SESSION_MS}", "broker.heartbeat.interval.ms=500",
                           f"replica.selector.class={SELECTOR}", "num.replica.fetchers=2"])
    try:
        yield c
    finally:
        c.stop()


def servers(cluster) -> str:
    return ",".join(f"127.0.0.1:{n.port}" for n in cluster.nodes)


def test_racks_are_listed_and_replicas_are_spread_over_them(cluster):
    admin = AdminClient({"bootstrap.servers": servers(cluster)})
    wait_until(lambda: len(admin.list_topics(timeout=10).brokers) == 3, STEP_S, "three brokers not registered")
    described = admin.describe_cluster(request_timeout=10).result(timeout=15)
    assert {n.id: n.rack for n in described.nodes} == RACKS
    admin.create_topics([NewTopic("spread-racks", 6, 2)])["spread-racks"].result(timeout=30)
    metadata = admin.list_topics("spread-racks", timeout=10)
    for partition in metadata.topics["spread-racks"].partitions.values():
        assert {RACKS[r] for r in partition.replicas} == {"a", "b"}, f"partition {partition.id}: {partition.replicas}"


def fetching_broker(cluster, topic: str, rack: str, isolation: str = "read_uncommitted",
                    count: int = RECORDS) -> tuple[list[str], set[int]]:
    """Reads the topic's partition 0 from the start as a consumer in `rack` until `count` values came, and a second
    more (so that extra ones show); the values and the brokers librdkafka's statistics name as the one it fetches
    the partition from."""
    brokers: set[int] = set()

    def on_stats(text: str) -> None:
        stats = json.loads(text)
        partition = stats.get("topics", {}).get(topic, {}).get("partitions", {}).get("0")
        if partition and partition.get("broker", -1) >= 0:
            brokers.add(partition["broker"])

    consumer = Consumer({"bootstrap.servers": servers(cluster), "group.id": f"racks-{time.monotonic_ns()}",
                         "client.rack": rack, "enable.auto.commit": False, "auto.offset.reset": "earliest",
                         "isolation.level": isolation, "statistics.interval.ms": 100, "stats_cb": on_stats})
    values: list[str] = []
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        deadline = time.monotonic() + STEP_S
        while len(values) < count and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and not message.error():
                values.append(message.value().decode())
        settle = time.monotonic() + 1
        while time.monotonic() < settle:
            message = consumer.poll(0.1)
            if message is not None and not message.error():
                values.append(message.value().decode())
    finally:
        consumer.close()
    return values, brokers


def test_a_consumer_reads_from_the_in_sync_replica_in_its_rack(cluster):
    topic = "closest"
    admin = AdminClient({"bootstrap.servers": servers(cluster)})
    admin.create_topics([NewTopic(topic, 1, replica_assignment=[[1, 2, 3]])])[topic].result(timeout=30)
    wait_until(lambda: sorted(admin.list_topics(topic, timeout=10).topics[topic].partitions[0].isrs) == [1, 2, 3],
               STEP_S, "ISR not [1, 2, 3]")
    producer = Producer({"bootstrap.servers": servers(cluster), "acks": "all"})
    for i in range(RECORDS):
        producer.produce(topic, value=f"v{i}".encode(), partition=0)
    assert producer.flush(30) == 0
    expected = [f"v{i}" for i in range(RECORDS)]

    values, brokers = fetching_broker(cluster, topic, "b")
    assert values == expected
    assert 3 in brokers, f"the consumer in rack b fetched from {brokers}, not the follower in its rack"

    values, brokers = fetching_broker(cluster, topic, "a")
    assert values == expected
    assert brokers == {1}, f"the consumer in the leader's rack fetched from {brokers}"

    # Transactions: committed, aborted, committed; then a read_committed consumer in rack b.
    transactional = Producer({"bootstrap.servers": servers(cluster), "transactional.id": "closest-tx"})
    transactional.init_transactions(30)
    for outcome, name in (("commit", "c1"), ("abort", "a1"), ("commit", "c2")):
        transactional.begin_transaction()
        for i in range(10):
            transactional.produce(topic, value=f"{name}-{i}".encode(), partition=0)
        if outcome == "commit":
            transactional.commit_transaction(30)
        else:
            transactional.abort_transaction(30)
    committed = expected + [f"c1-{i}" for i in range(10)] + [f"c2-{i}" for i in range(10)]
    values, brokers = fetching_broker(cluster, topic, "b", isolation="read_committed", count=len(committed))
    assert values == committed
    print("DEBUG", brokers, values[-25:]); assert 3 in brokers, f"the read_committed consumer in rack b fetched from {brokers}, not the follower"
