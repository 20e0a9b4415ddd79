"""Group and transaction coordinators on another broker than the partition leaders, in a KRaft cluster of three
combined nodes (issue 12 items 5 and 9): each coordinator serves the `__consumer_offsets` / `__transaction_state`
partitions it leads, loads them when it becomes their leader and unloads them when it stops.

The data topic's partitions are placed (manual assignment) on two brokers; the group id and transactional id are
picked so that FindCoordinator names the third. Then: a confluent-kafka group of two members consumes everything
produced and commits, and a restarted consumer resumes from the committed offsets; a transactional producer commits
one transaction (with the group's offsets sent to it) and aborts another, and a read_committed consumer sees only the
committed records (the coordinator's markers go to the leaders with WriteTxnMarkers). The coordinator's broker is
killed with SIGKILL: once fenced, FindCoordinator answers COORDINATOR_NOT_AVAILABLE for both keys (replication factor
1: the partitions have no leader). After it restarts and leads them again, the group resumes from its committed
offsets and InitProducerId for the transactional id returns the same producer id with the epoch bumped (the state
was loaded from the log), and a new confluent-kafka producer with that id runs a transaction.

The Java client does the same (group of two, commit and abort, read_committed) in the same layout on a topic of its
own (Tests/Interop/java/FjordClusterCoordinators.java, compiled against FjordJavaScenarios' helpers).

One cluster (test_kraft_cluster's `ShortSessionCluster`: 3 s broker sessions) serves the module."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import NewTopic

from test_groups_hostile import Conn, s
from test_kraft_cluster import SESSION_MS, ShortSessionCluster, _ModuleRequest, fresh_admin, quorum_leader_id
from test_java_client import java_classpath, jdk_tool  # noqa: F401 - java_classpath: the session's fixture
from test_kraft_quorum import STEP_S
from waiting import wait_for, wait_until

NONE, COORDINATOR_NOT_AVAILABLE = 0, 15
INTERNAL_PARTITIONS = 6
TOPIC = "coordinated"
PARTITIONS = 4
EXTRA = [
    f"offsets.topic.num.partitions={INTERNAL_PARTITIONS}",
    "offsets.topic.replication.factor=1",
    f"transaction.state.log.num.partitions={INTERNAL_PARTITIONS}",
    "transaction.state.log.replication.factor=1",
    "transaction.state.log.min.isr=1",
    "group.initial.rebalance.delay.ms=0",
]


@pytest.fixture(scope="module")
def cluster(request, tmp_path_factory):
    c = ShortSessionCluster(_ModuleRequest(request), tmp_path_factory.mktemp("coordinators"), extra=EXTRA)
    try:
        yield c
    finally:
        c.stop()


def java_hash(text: str) -> int:
    """Java's String.hashCode over UTF-16 code units, as a signed 32-bit integer."""
    h = 0
    for unit in struct.unpack(f">{len(text.encode('utf-16-be')) // 2}H", text.encode("utf-16-be")):
        h = (h * 31 + unit) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def placement(key: str) -> int:
    """Kafka's `Utils.abs(key.hashCode()) % partitions`."""
    h = java_hash(key)
    return (0 if h == -(1 << 31) else abs(h)) % INTERNAL_PARTITIONS


def find_coordinator(bootstrap: str, key: str, key_type: int) -> tuple[int, int]:
    """FindCoordinator v1: (error code, node id)."""
    conn = Conn(bootstrap)
    try:
        r = conn.call(10, 1, s(key) + struct.pack(">b", key_type))
        r.take(">i")
        error = r.take(">h")
        r.string()
        return error, r.take(">i")
    finally:
        conn.close()


def init_producer_id(bootstrap: str, transactional_id: str) -> tuple[int, int, int]:
    """InitProducerId v1 for a transactional id: (error code, producer id, epoch)."""
    conn = Conn(bootstrap)
    try:
        r = conn.call(22, 1, s(transactional_id) + struct.pack(">i", 60_000))
        r.take(">i")
        return r.take(">h"), r.take(">q"), r.take(">h")
    finally:
        conn.close()


def internal_leaders(cluster, topic: str) -> dict[int, int]:
    metadata = fresh_admin(cluster.nodes[0].bootstrap).list_topics(topic, timeout=10)
    return {p.id: p.leader for p in metadata.topics[topic].partitions.values()}


def ensure_internal_topics(cluster) -> None:
    """The first FindCoordinator of each key type creates its topic. It is sent to a node that is not the active
    controller, which asks the controller to create it (CreateTopics on the controller listener); then every
    partition of both topics must get a leader."""
    leader = wait_for(lambda: quorum_leader_id(cluster), STEP_S, "no quorum leader")
    asker = cluster.nodes[next(i for i in range(3) if i + 1 != leader)]

    def ready(topic: str, key_type: int) -> bool:
        find_coordinator(asker.bootstrap, "probe", key_type)
        try:
            leaders = internal_leaders(cluster, topic)
        except KafkaException:
            return False
        return len(leaders) == INTERNAL_PARTITIONS and all(leader > 0 for leader in leaders.values())
    wait_until(lambda: ready("__consumer_offsets", 0), STEP_S, "__consumer_offsets was not created")
    wait_until(lambda: ready("__transaction_state", 1), STEP_S, "__transaction_state was not created")


def pick_key(prefix: str, leaders: dict[int, int], coordinator: int) -> str:
    return next(f"{prefix}-{i}" for i in range(10_000) if leaders[placement(f"{prefix}-{i}")] == coordinator)


class Layout:
    """Which broker coordinates, the other two that lead the data, and the keys placed on the coordinator."""

    def __init__(self, cluster):
        ensure_internal_topics(cluster)
        offsets = internal_leaders(cluster, "__consumer_offsets")
        states = internal_leaders(cluster, "__transaction_state")
        self.coordinator = next(b for b in (3, 2, 1) if b in offsets.values() and b in states.values())
        self.index = self.coordinator - 1
        self.data_brokers = [b for b in (1, 2, 3) if b != self.coordinator]
        self.group = pick_key("group", offsets, self.coordinator)
        self.transactional_id = pick_key("txn", states, self.coordinator)
        self.survivor = cluster.nodes[self.data_brokers[0] - 1]


@pytest.fixture(scope="module")
def layout(cluster):
    layout = Layout(cluster)
    assignment = [[layout.data_brokers[p % 2]] for p in range(PARTITIONS)]
    admin = fresh_admin(layout.survivor.bootstrap)  # kept alive until the creation is answered
    admin.create_topics([NewTopic(TOPIC, PARTITIONS, replica_assignment=assignment)],
                        operation_timeout=15)[TOPIC].result(timeout=20)
    wait_until(lambda: set(internal_leaders(cluster, TOPIC).values()) == set(layout.data_brokers), STEP_S,
               "the data topic's partitions did not get their leaders")
    return layout


def produce(bootstrap: str, values: list[str]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all"})
    failures = []
    for i, value in enumerate(values):
        producer.produce(TOPIC, value=value.encode(), partition=i % PARTITIONS,
                         on_delivery=lambda err, _m: failures.append(err) if err else None)
    assert producer.flush(30) == 0 and failures == []


def group_consumer(bootstrap: str, group: str, **extra) -> Consumer:
    return Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                     "auto.offset.reset": "earliest", "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
                     **extra})


def consume_in_group(consumers: list[Consumer], count: int, timeout: float = 40) -> list[list[str]]:
    """Polls every consumer in turn until `count` values came in all together; commits each one's progress."""
    got: list[list[str]] = [[] for _ in consumers]
    deadline = time.monotonic() + timeout
    while sum(map(len, got)) < count and time.monotonic() < deadline:
        for i, consumer in enumerate(consumers):
            message = consumer.poll(0.2)
            if message is not None and not message.error():
                got[i].append(message.value().decode())
                consumer.commit(message=message, asynchronous=False)
    return got


def test_the_coordinators_are_on_a_broker_that_leads_no_data(cluster, layout):
    for node in cluster.nodes:
        assert find_coordinator(node.bootstrap, layout.group, 0) == (NONE, layout.coordinator), node.name
        assert find_coordinator(node.bootstrap, layout.transactional_id, 1) == (NONE, layout.coordinator), node.name
    assert layout.coordinator not in internal_leaders(cluster, TOPIC).values()


def test_a_group_of_two_consumes_everything_and_a_restart_resumes_from_its_commits(cluster, layout):
    members = [group_consumer(node.bootstrap, layout.group) for node in cluster.nodes[:2]]
    try:
        for member in members:
            member.subscribe([TOPIC])

        def both_assigned() -> bool:
            for member in members:
                member.poll(0.1)
            return all(member.assignment() for member in members)
        wait_until(both_assigned, STEP_S, "the two members were not both assigned partitions")
        produce(layout.survivor.bootstrap, [f"a{i}" for i in range(200)])
        got = consume_in_group(members, 200)
        assert all(got), "a member consumed nothing"
        assert sorted(v for values in got for v in values) == sorted(f"a{i}" for i in range(200))
    finally:
        for member in members:
            member.close()
    produce(layout.survivor.bootstrap, [f"b{i}" for i in range(40)])
    resumed = group_consumer(cluster.nodes[2].bootstrap, layout.group)
    try:
        resumed.subscribe([TOPIC])
        got = consume_in_group([resumed], 40)
        assert sorted(got[0]) == sorted(f"b{i}" for i in range(40)), "did not resume from the committed offsets"
        assert resumed.poll(2) is None, "read past what was produced"
    finally:
        resumed.close()


def read_committed(bootstrap: str) -> list[str]:
    """Every value a read_committed consumer sees in the whole topic, up to the end of each partition."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "reader", "isolation.level": "read_committed",
                         "enable.partition.eof": True, "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)])
        values, at_end = [], set()
        deadline = time.monotonic() + 40
        while len(at_end) < PARTITIONS and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                at_end.add(message.partition())
                continue
            at_end.discard(message.partition())
            values.append(message.value().decode())
        assert len(at_end) == PARTITIONS, "a partition's end was not reached (its last stable offset stuck?)"
        return values
    finally:
        consumer.close()


def committed_offsets(bootstrap: str, group: str) -> dict[int, int]:
    """The group's committed offsets as its coordinator answers OffsetFetch (retried while it loads)."""
    consumer = group_consumer(bootstrap, group)
    try:
        def fetch():
            try:
                return {tp.partition: tp.offset for tp in consumer.committed(
                    [TopicPartition(TOPIC, p) for p in range(PARTITIONS)], timeout=10)}
            except KafkaException:
                return None
        return wait_for(fetch, STEP_S, "OffsetFetch kept failing")
    finally:
        consumer.close()


def test_a_transaction_commits_and_another_aborts(cluster, layout):
    committed = committed_offsets(layout.survivor.bootstrap, layout.group)
    assert all(offset > 0 for offset in committed.values()), committed
    metadata_source = group_consumer(cluster.nodes[0].bootstrap, layout.group)
    producer = Producer({"bootstrap.servers": layout.survivor.bootstrap,
                         "transactional.id": layout.transactional_id, "linger.ms": 5})
    try:
        group_metadata = metadata_source.consumer_group_metadata()
        producer.init_transactions(30)
        producer.begin_transaction()
        for i in range(20):
            producer.produce(TOPIC, value=f"c{i}".encode(), partition=i % PARTITIONS)
        # Offsets committed in the transaction go to the group's coordinator and wait there for the marker.
        producer.send_offsets_to_transaction([TopicPartition(TOPIC, 0, committed[0] + 5)], group_metadata, 30)
        producer.commit_transaction(30)
        producer.begin_transaction()
        for i in range(20):
            producer.produce(TOPIC, value=f"x{i}".encode(), partition=i % PARTITIONS)
        producer.send_offsets_to_transaction([TopicPartition(TOPIC, 1, committed[1] + 100)], group_metadata, 30)
        producer.flush(30)
        producer.abort_transaction(30)
    finally:
        metadata_source.close()
    values = read_committed(cluster.nodes[2].bootstrap)
    assert sorted(v for v in values if v[0] in "cx") == sorted(f"c{i}" for i in range(20))
    assert len(values) == 200 + 40 + 20
    after = committed_offsets(layout.survivor.bootstrap, layout.group)
    assert after == {**committed, 0: committed[0] + 5}, "the committed transaction's offset is not the group's"


def consume_from(bootstrap: str, offsets: dict[int, int]) -> set[tuple[int, int]]:
    """(partition, offset) of every record a read_committed consumer reads from `offsets` to each partition's end."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "reader", "enable.partition.eof": True,
                         "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(TOPIC, p, o) for p, o in offsets.items()])
        seen, at_end = set(), set()
        deadline = time.monotonic() + 40
        while len(at_end) < PARTITIONS and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                at_end.add(message.partition())
                continue
            at_end.discard(message.partition())
            seen.add((message.partition(), message.offset()))
        assert len(at_end) == PARTITIONS, "a partition's end was not reached"
        return seen
    finally:
        consumer.close()


def test_the_coordinators_broker_killed_and_restarted_loads_the_state_again(cluster, layout):
    committed = committed_offsets(layout.survivor.bootstrap, layout.group)
    before = init_producer_id(cluster.nodes[layout.index].bootstrap, layout.transactional_id)
    assert before[0] == NONE, before
    victim = cluster.nodes[layout.index]
    victim.proc.kill()
    victim.proc.wait()
    # Fenced after its session: both keys' partitions have no leader, so no coordinator is available.
    wait_until(lambda: find_coordinator(layout.survivor.bootstrap, layout.group, 0)[0] == COORDINATOR_NOT_AVAILABLE,
               SESSION_MS / 1000 + 15, "FindCoordinator for the group still names a coordinator")
    for node in cluster.nodes:
        if node is not victim:
            assert find_coordinator(node.bootstrap, layout.group, 0)[0] == COORDINATOR_NOT_AVAILABLE, node.name
            assert find_coordinator(node.bootstrap, layout.transactional_id, 1)[0] == COORDINATOR_NOT_AVAILABLE
    produce(layout.survivor.bootstrap, [f"d{i}" for i in range(30)])

    cluster.restart(layout.index)
    wait_until(lambda: find_coordinator(layout.survivor.bootstrap, layout.group, 0) == (NONE, layout.coordinator)
               and find_coordinator(layout.survivor.bootstrap, layout.transactional_id, 1)
               == (NONE, layout.coordinator), STEP_S, "the restarted broker does not coordinate again")
    # Loaded from the log: the same committed offsets; the same producer id with its epoch bumped (InitProducerId
    # is retried while the partition loads).
    assert committed_offsets(layout.survivor.bootstrap, layout.group) == committed
    after = wait_for(lambda: (lambda r: r if r[0] == NONE else None)(
        init_producer_id(cluster.nodes[layout.index].bootstrap, layout.transactional_id)), STEP_S,
        "InitProducerId kept failing after the restart")
    assert after[1] == before[1] and after[2] == before[2] + 1, (before, after)

    # The group resumes exactly where it committed: what it reads is what a reader from those offsets reads.
    expected = consume_from(layout.survivor.bootstrap, committed)
    assert len(expected) >= 30
    resumed = group_consumer(layout.survivor.bootstrap, layout.group)
    try:
        resumed.subscribe([TOPIC])
        seen: set[tuple[int, int]] = set()
        deadline = time.monotonic() + 40
        while len(seen) < len(expected) and time.monotonic() < deadline:
            message = resumed.poll(0.2)
            if message is not None and not message.error():
                seen.add((message.partition(), message.offset()))
        assert seen == expected, "the group did not resume from its committed offsets"
    finally:
        resumed.close()

    # A new producer with the id initializes (fencing the epoch above) and commits.
    producer = Producer({"bootstrap.servers": layout.survivor.bootstrap,
                         "transactional.id": layout.transactional_id})
    producer.init_transactions(30)
    producer.begin_transaction()
    producer.produce(TOPIC, value=b"e0", partition=1)
    producer.commit_transaction(30)
    assert "e0" in read_committed(layout.survivor.bootstrap)


JAVA_SOURCE = Path(__file__).resolve().parent / "java" / "FjordClusterCoordinators.java"
JAVA_TOPIC = "coordinated-java"


@pytest.fixture(scope="module")
def coordinators_classpath(java_classpath, tmp_path_factory) -> str:  # noqa: F811 - the imported fixture
    out = tmp_path_factory.mktemp("java-coordinators")
    proc = subprocess.run([jdk_tool("javac"), "-encoding", "UTF-8", "-d", str(out), "-cp", java_classpath,
                           str(JAVA_SOURCE)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"javac failed:\n{proc.stdout}\n{proc.stderr}"
    return os.pathsep.join([str(out), java_classpath])


def test_the_java_client_in_the_same_layout(cluster, layout, coordinators_classpath):
    offsets = internal_leaders(cluster, "__consumer_offsets")
    states = internal_leaders(cluster, "__transaction_state")
    group = pick_key("jgroup", offsets, layout.coordinator)
    transactional_id = pick_key("jtxn", states, layout.coordinator)
    admin = fresh_admin(layout.survivor.bootstrap)
    assignment = [[layout.data_brokers[p % 2]] for p in range(PARTITIONS)]
    admin.create_topics([NewTopic(JAVA_TOPIC, PARTITIONS, replica_assignment=assignment)],
                        operation_timeout=15)[JAVA_TOPIC].result(timeout=20)
    wait_until(lambda: set(internal_leaders(cluster, JAVA_TOPIC).values()) == set(layout.data_brokers), STEP_S,
               "the Java topic's partitions did not get their leaders")
    count = 100
    argv = [jdk_tool("java"), "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", coordinators_classpath,
            "FjordClusterCoordinators", layout.survivor.bootstrap, JAVA_TOPIC, str(PARTITIONS), group,
            transactional_id, str(count)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert proc.returncode == 0 and events and events[-1]["event"] == "done", \
        f"exit {proc.returncode}\n{proc.stdout[-5000:]}\n{proc.stderr[-5000:]}"
    by_name = {e["event"]: e for e in events}
    assert by_name["assigned"]["a"] > 0 and by_name["assigned"]["b"] > 0
    consumed = by_name["group_consumed"]["a"] + by_name["group_consumed"]["b"]
    assert sorted(consumed) == sorted(f"j{i}" for i in range(count))
    values = by_name["read_committed"]["values"]
    assert sorted(values) == sorted([f"j{i}" for i in range(count)] + [f"jc{i}" for i in range(10)])
