"""Partition replication on three combined KRaft nodes (issue 13, item 1): followers pull each partition from its
leader as a replica (Fetch v15 ReplicaState), append the batches as the leader wrote them, and the leader's high
watermark — what consumers may read — is the smallest log end offset of the ISR. So a record a consumer has read
from the leader is on every ISR member: when the leader is killed (SIGKILL) and the controller moves leadership to
another member of the ISR, the new leader serves exactly the same records, at the same offsets, and takes new ones;
the old leader, restarted, follows the new leader and catches up (its log ends where the leader's does).

acks=all is answered only once the high watermark passed the batch (Kafka's DelayedProduce): the leader is killed
right after the last acknowledgement, and nothing acknowledged is missing on the new leader.

A follower that stops fetching (SIGSTOP) while its broker stays registered leaves the ISR after
`replica.lag.time.max.ms` by the leader's AlterPartition (the high watermark then moves on without it), and joins it
again once it has caught up; killed and restarted after DeleteRecords moved the leader's log start past everything
it had, it restarts its log there (OFFSET_OUT_OF_RANGE, then ListOffsets to the leader as replica); while the ISR is below the topic's min.insync.replicas an acks=all produce is refused
with NOT_ENOUGH_REPLICAS.

Not yet proven here (issue 13 continues): NOT_ENOUGH_REPLICAS_AFTER_APPEND, elections of a preferred leader,
unclean elections, reassignment."""

from __future__ import annotations

import signal
import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic,
                                  ResourceType)

from test_kraft_cluster import ShortSessionCluster, _ModuleRequest, partition_leaders
from test_kraft_quorum import STEP_S, Cluster
from waiting import wait_for, wait_until

TOPIC = "replicated"
RECORDS = 300


@pytest.fixture(scope="module")
def cluster(request, tmp_path_factory):
    c = ShortSessionCluster(_ModuleRequest(request), tmp_path_factory.mktemp("replication"))
    try:
        yield c
    finally:
        c.stop()


def bootstrap(cluster, skip: int | None = None) -> str:
    return ",".join(f"127.0.0.1:{n.port}" for i, n in enumerate(cluster.nodes) if i + 1 != skip)


def produce(servers: str, values: list[str]) -> None:
    producer = Producer({"bootstrap.servers": servers, "acks": "all", "linger.ms": 5, "enable.idempotence": True})
    failures: list = []
    for v in values:
        producer.produce(TOPIC, value=v.encode(), partition=0,
                         on_delivery=lambda err, _m: failures.append(err) if err else None)
        producer.poll(0)
    assert producer.flush(60) == 0, "records still undelivered"
    assert failures == [], failures


def consume_all(servers: str, expected: int) -> list[tuple[int, str]]:
    """Reads partition 0 from the start until `expected` records came (or the deadline); (offset, value) pairs."""
    consumer = Consumer({"bootstrap.servers": servers, "group.id": f"replication-{time.monotonic_ns()}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    seen: list[tuple[int, str]] = []
    try:
        consumer.assign([TopicPartition(TOPIC, 0, 0)])
        deadline = time.monotonic() + STEP_S
        while len(seen) < expected and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            seen.append((message.offset(), message.value().decode()))
    finally:
        consumer.close()
    return seen


def high_watermark(servers: str, topic: str = TOPIC) -> int:
    consumer = Consumer({"bootstrap.servers": servers, "group.id": "replication-offsets"})
    try:
        return consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
    finally:
        consumer.close()


def test_a_killed_leaders_records_are_served_by_the_new_leader_and_it_catches_up_when_back(cluster):
    admin = AdminClient({"bootstrap.servers": bootstrap(cluster)})
    wait_until(lambda: len(admin.list_topics(timeout=10).brokers) == 3, STEP_S, "three brokers not registered")
    admin.create_topics([NewTopic(TOPIC, 1, replica_assignment=[[1, 2, 3]])])[TOPIC].result(timeout=30)
    wait_until(lambda: partition_leaders(bootstrap(cluster), TOPIC).get(0, (-1,))[0] == 1, STEP_S,
               "broker 1 does not lead the partition")

    first = [f"before-{i}" for i in range(RECORDS)]
    # acks=all: each batch is acknowledged only once the whole ISR has it, so the leader may die right after.
    produce(bootstrap(cluster), first)
    # Every replica, leader and followers, checkpoints the high watermark it knows (every 5 s by default), so a
    # restart starts from it: here all three know the whole topic is committed.
    checkpoints = [cluster.tmp_path / f"node{i}" / "data" / "replication-offset-checkpoint" for i in (1, 2, 3)]
    wait_until(lambda: all(c.exists() and f"{TOPIC} 0 {RECORDS}" in c.read_text().splitlines() for c in checkpoints),
               STEP_S, lambda: [c.read_text() if c.exists() else None for c in checkpoints])

    leader = cluster.nodes[0]
    leader.proc.kill()
    leader.proc.wait()
    survivors = bootstrap(cluster, skip=1)
    new_leader = wait_for(lambda: (lambda l: l if l in (2, 3) else None)(
        partition_leaders(survivors, TOPIC).get(0, (-1,))[0]), STEP_S, "no new leader from the ISR")
    # The new leader's high watermark reaches what the old one acknowledged once its follower fetched from it.
    wait_until(lambda: high_watermark(survivors) == RECORDS, STEP_S,
               lambda: f"high watermark {high_watermark(survivors)} on the new leader {new_leader}")
    assert consume_all(survivors, RECORDS) == list(enumerate(first))

    second = [f"after-{i}" for i in range(RECORDS)]
    produce(survivors, second)
    everything = list(enumerate(first + second))
    assert consume_all(survivors, 2 * RECORDS) == everything

    # The old leader comes back as a follower of the new one and catches up: stop the new leader too, and the
    # partition (once led by the restarted broker or the third) still serves everything.
    cluster.nodes[0] = cluster._spawn(0, append=True)
    cluster.nodes[0].wait_until_ready(STEP_S)
    time.sleep(3)  # a few fetch rounds
    victim = cluster.nodes[new_leader - 1]
    victim.proc.kill()
    victim.proc.wait()
    rest = bootstrap(cluster, skip=new_leader)
    wait_for(lambda: (lambda l: l if l not in (-1, new_leader) else None)(
        partition_leaders(rest, TOPIC).get(0, (-1,))[0]), STEP_S, "no leader after the second kill")
    assert consume_all(rest, 2 * RECORDS) == everything


LAG_MS = 2000
ISR_TOPIC = "isr-lag"


@pytest.fixture(scope="module")
def lagging_cluster(request, tmp_path_factory):
    # A follower is dropped from the ISR after LAG_MS without catching up, well before its broker's session (10 s)
    # would fence it: the leader's AlterPartition, not the controller's fencing, shrinks the ISR here.
    c = Cluster(_ModuleRequest(request), tmp_path_factory.mktemp("replication-lag"),
                extra=[f"replica.lag.time.max.ms={LAG_MS}", "broker.session.timeout.ms=10000",
                       "broker.heartbeat.interval.ms=500"])
    try:
        yield c
    finally:
        c.stop()


def isr(servers: str, topic: str) -> list[int]:
    metadata = AdminClient({"bootstrap.servers": servers}).list_topics(topic, timeout=10)
    return sorted(metadata.topics[topic].partitions[0].isrs)


def test_a_stalled_follower_leaves_the_isr_and_rejoins_once_caught_up(lagging_cluster):
    cluster = lagging_cluster
    servers = bootstrap(cluster)
    admin = AdminClient({"bootstrap.servers": servers})
    wait_until(lambda: len(admin.list_topics(timeout=10).brokers) == 3, STEP_S, "three brokers not registered")
    admin.create_topics([NewTopic(ISR_TOPIC, 1, replica_assignment=[[1, 2, 3]])])[ISR_TOPIC].result(timeout=30)
    wait_until(lambda: isr(servers, ISR_TOPIC) == [1, 2, 3], STEP_S, "ISR not [1, 2, 3]")

    # Broker 3 stops fetching (SIGSTOP: it stays registered for its whole 10 s session). Records produced now
    # cannot reach it; within about LAG_MS plus one check the leader proposes the ISR without it, the controller
    # writes it, and the high watermark moves on without broker 3.
    stalled = cluster.nodes[2]
    stalled.proc.send_signal(signal.SIGSTOP)
    try:
        producer = Producer({"bootstrap.servers": bootstrap(cluster, skip=3), "acks": "1"})
        for i in range(50):
            producer.produce(ISR_TOPIC, value=f"lag-{i}".encode(), partition=0)
        assert producer.flush(30) == 0
        live = bootstrap(cluster, skip=3)
        wait_until(lambda: isr(live, ISR_TOPIC) == [1, 2], STEP_S, lambda: f"ISR {isr(live, ISR_TOPIC)}")
        assert 3 in AdminClient({"bootstrap.servers": live}).list_topics(timeout=10).brokers, \
            "broker 3 was fenced: the ISR shrank by fencing, not by the leader"
        wait_until(lambda: high_watermark(live, ISR_TOPIC) == 50, STEP_S, "the high watermark waits for broker 3")
        # The topic asks for 3 in-sync replicas: with two, acks=all is refused before anything is written.
        config_admin = AdminClient({"bootstrap.servers": live})  # kept until the answer
        config_admin.incremental_alter_configs([ConfigResource(
            ResourceType.TOPIC, ISR_TOPIC, incremental_configs=[
                ConfigEntry("min.insync.replicas", "3", incremental_operation=AlterConfigOpType.SET)])])[
            ConfigResource(ResourceType.TOPIC, ISR_TOPIC)].result(timeout=30)
        errors: list = []
        strict = Producer({"bootstrap.servers": live, "acks": "all", "retries": 0, "message.timeout.ms": 10_000})
        strict.produce(ISR_TOPIC, value=b"refused", partition=0, on_delivery=lambda err, _m: errors.append(err))
        strict.flush(30)
        assert errors and errors[0] is not None and errors[0].code() == KafkaError.NOT_ENOUGH_REPLICAS, errors
        assert high_watermark(live, ISR_TOPIC) == 50
    finally:
        stalled.proc.send_signal(signal.SIGCONT)
    # Back, it fetches what it missed and joins the ISR again.
    wait_until(lambda: isr(servers, ISR_TOPIC) == [1, 2, 3], STEP_S, lambda: f"ISR {isr(servers, ISR_TOPIC)}")

    # Killed, it misses records that DeleteRecords then removes from the leader: restarted, its fetch is out of
    # range; it asks the leader for its offsets (ListOffsets as replica), restarts its log at the leader's log start
    # and joins the ISR again.
    stalled.proc.kill()
    stalled.proc.wait()
    live = bootstrap(cluster, skip=3)
    # Back to one required in-sync replica: with min.insync.replicas 3 the high watermark would wait (KIP-966).
    relax = AdminClient({"bootstrap.servers": live})
    relax.incremental_alter_configs([ConfigResource(ResourceType.TOPIC, ISR_TOPIC, incremental_configs=[
        ConfigEntry("min.insync.replicas", "1", incremental_operation=AlterConfigOpType.SET)])])[
        ConfigResource(ResourceType.TOPIC, ISR_TOPIC)].result(timeout=30)
    producer = Producer({"bootstrap.servers": live, "acks": "1"})
    for i in range(50):
        producer.produce(ISR_TOPIC, value=f"gone-{i}".encode(), partition=0)
    assert producer.flush(30) == 0
    wait_until(lambda: high_watermark(live, ISR_TOPIC) == 100, STEP_S, "the high watermark waits for broker 3")
    trim = AdminClient({"bootstrap.servers": live})
    deleted = trim.delete_records([TopicPartition(ISR_TOPIC, 0, 100)])[TopicPartition(ISR_TOPIC, 0)]
    assert deleted.result(timeout=30).low_watermark == 100
    cluster.nodes[2] = cluster._spawn(2, append=True)
    cluster.nodes[2].wait_until_ready(STEP_S)
    wait_until(lambda: isr(servers, ISR_TOPIC) == [1, 2, 3], STEP_S, lambda: f"ISR {isr(servers, ISR_TOPIC)}")
    assert "follower reset to the leader's offsets" in cluster.nodes[2].log_path.read_text(errors="replace")
