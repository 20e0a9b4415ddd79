"""Real clients against a 3-node KRaft cluster (issue 12 item 9): each client bootstraps from ONE broker that is not
the active controller and must follow every partition's leader to its own broker.

On three combined nodes (`Cluster` of test_kraft_quorum.py), each client gets a topic of 6 partitions with
replication factor 1, created through a non-controller broker (forwarded to the active controller); Metadata through
every node must show the same leaders, two partitions on each of the three brokers. Then confluent-kafka,
kafka-python, aiokafka, the Java client (Tests/Interop/java/FjordJavaCluster.java) and FjordClient (the `fjord
produce` / `fjord consume` commands) each produce keyed records to every partition and read them all back with
assign(): per partition, exactly the records sent there, in order, at offsets 0, 1, 2, ... FjordClient lets its
partitioner place the keys (Kafka's murmur2, recomputed here), the others name the partition.

Also through a non-controller broker: a topic auto-created by a producer's Metadata request (the broker sends
CreateTopics to the active controller, as Kafka's AutoTopicCreationManager does, and answers from its own image once
the topic is replayed there), and an admin round with confluent's AdminClient (create with a config, describe
configs, alter a config, create partitions, delete), each change visible through every node.

Not here: consumer groups and transactions whose coordinator is on another broker (their own tests), leadership
moving under a client (needs partition replication, the next issue). One cluster serves the whole module."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, ConfigSource,
                                   NewPartitions, NewTopic)

from conftest import fjord_bin
from test_java_client import CLIENT_JARS, client_jar_dir, jdk_tool
from test_kraft_cluster import _ModuleRequest
from test_kraft_quorum import STEP_S, Cluster
from waiting import wait_for, wait_until

PARTITIONS = 6
RECORDS = 60  # ten per partition
CLIENTS = ("confluent", "kafka-python", "aiokafka", "java", "fjordclient")
CLIENT_S = 90  # one client's produce and read-back, JVM start and javac included, on a loaded machine
JAVA_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "java", "FjordJavaCluster.java")


@pytest.fixture(scope="module")
def cluster(request, tmp_path_factory):
    c = Cluster(_ModuleRequest(request), tmp_path_factory.mktemp("cluster-clients"))
    try:
        yield c
    finally:
        _ADMINS.clear()
        c.stop()


@pytest.fixture(scope="module")
def entry(cluster) -> str:
    """The client listener of a node that is not the active controller: every client's only bootstrap broker."""
    leader, _ = wait_for(cluster.leader, STEP_S, lambda: f"no agreed leader: {[cluster.role(i) for i in range(3)]}")
    return cluster.nodes[(leader + 1) % 3].bootstrap


_ADMINS: dict[str, AdminClient] = {}


def admin_at(bootstrap: str) -> AdminClient:
    """One AdminClient per broker for the module, kept alive: one destroyed before its futures resolve fails them
    with _DESTROY."""
    if bootstrap not in _ADMINS:
        _ADMINS[bootstrap] = AdminClient({"bootstrap.servers": bootstrap, "client.id": "fjord-cluster-clients"})
    return _ADMINS[bootstrap]


def leaders(bootstrap: str, topic: str) -> dict[int, int] | None:
    """partition → leader as `bootstrap` answers Metadata, or None while the topic is not there whole."""
    described = admin_at(bootstrap).list_topics(topic, timeout=10).topics.get(topic)
    if described is None or described.error is not None:
        return None
    return {p.id: p.leader for p in described.partitions.values()}


@pytest.fixture(scope="module")
def topics(cluster, entry) -> dict[str, str]:
    """client → its topic, created through `entry` in one CreateTopics; every node agrees on the leaders, which are
    on all three brokers."""
    names = {client: f"spread-{client}" for client in CLIENTS}
    futures = admin_at(entry).create_topics([NewTopic(n, PARTITIONS, 1) for n in names.values()],
                                               operation_timeout=20, request_timeout=30)
    for name, future in futures.items():
        future.result(timeout=40)

    def agreed():
        views = [{n: leaders(node.bootstrap, n) for n in names.values()} for node in cluster.nodes]
        whole = all(v is not None and len(v) == PARTITIONS and min(v.values()) >= 1
                    for view in views for v in view.values())
        return views[0] if whole and views[0] == views[1] == views[2] else None

    view = wait_for(agreed, STEP_S, "the nodes do not agree on the topics' leaders")
    for name, by_partition in view.items():
        counts = {broker: list(by_partition.values()).count(broker) for broker in (1, 2, 3)}
        assert counts == {1: 2, 2: 2, 3: 2}, f"{name}: leaders {by_partition}"
    return names


def expected_rows(client: str, partition_of) -> dict[int, list[tuple[int, str, str]]]:
    """partition → [(offset, key, value)] that a read-back must return exactly."""
    rows: dict[int, list[tuple[int, str, str]]] = {p: [] for p in range(PARTITIONS)}
    for i in range(RECORDS):
        key = f"k{i}"
        p = partition_of(i, key)
        rows[p].append((len(rows[p]), key, f"{client}-{i}"))
    return rows


def by_partition(rows) -> dict[int, list[tuple[int, str, str]]]:
    """(partition, offset, key, value) rows → partition → [(offset, key, value)] by offset."""
    out: dict[int, list[tuple[int, str, str]]] = {p: [] for p in range(PARTITIONS)}
    for partition, offset, key, value in rows:
        out[partition].append((offset, key, value))
    return {p: sorted(r) for p, r in out.items()}


def text(data: bytes | str | None) -> str | None:
    return data.decode() if isinstance(data, bytes) else data


# ---------------------------------------------------------------------------------------------- each client


def run_confluent(bootstrap: str, topic: str) -> list:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all",
                         "enable.idempotence": True})
    failures = []
    for i in range(RECORDS):
        producer.produce(topic, key=f"k{i}", value=f"confluent-{i}", partition=i % PARTITIONS,
                         on_delivery=lambda err, _msg: failures.append(err) if err else None)
        producer.poll(0)
    assert producer.flush(CLIENT_S / 2) == 0, "records still undelivered"
    assert failures == []
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused-assign-only",
                         "enable.auto.commit": False})
    rows = []
    try:
        consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
        deadline = time.monotonic() + CLIENT_S / 2
        while len(rows) < RECORDS and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            rows.append((message.partition(), message.offset(), text(message.key()), text(message.value())))
    finally:
        consumer.close()
    return rows


def run_kafka_python(bootstrap: str, topic: str) -> list:
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.structs import TopicPartition as KTP

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, request_timeout_ms=20_000)
    try:
        futures = [producer.send(topic, key=f"k{i}".encode(), value=f"kafka-python-{i}".encode(),
                                 partition=i % PARTITIONS) for i in range(RECORDS)]
        producer.flush(CLIENT_S / 2)
        for future in futures:
            future.get(timeout=20)
    finally:
        producer.close(timeout=5)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             auto_offset_reset="earliest", fetch_max_wait_ms=200, request_timeout_ms=30_000)
    rows = []
    try:
        tps = [KTP(topic, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        deadline = time.monotonic() + CLIENT_S / 2
        while len(rows) < RECORDS and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                rows.extend((m.partition, m.offset, text(m.key), text(m.value)) for m in batch)
    finally:
        consumer.close()
    return rows


def run_aiokafka(bootstrap: str, topic: str) -> list:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.structs import TopicPartition as ATP

    async def run():
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, request_timeout_ms=20_000)
        await asyncio.wait_for(producer.start(), 30)
        try:
            futures = [await producer.send(topic, key=f"k{i}".encode(), value=f"aiokafka-{i}".encode(),
                                           partition=i % PARTITIONS) for i in range(RECORDS)]
            for future in futures:
                await asyncio.wait_for(future, 30)
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                    auto_offset_reset="earliest", fetch_max_wait_ms=200, request_timeout_ms=30_000)
        await asyncio.wait_for(consumer.start(), 30)
        rows = []
        try:
            tps = [ATP(topic, p) for p in range(PARTITIONS)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            deadline = time.monotonic() + CLIENT_S / 2
            while len(rows) < RECORDS and time.monotonic() < deadline:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    rows.extend((m.partition, m.offset, text(m.key), text(m.value)) for m in batch)
        finally:
            await consumer.stop()
        return rows

    return asyncio.run(run())


def run_java(bootstrap: str, topic: str, classes: str) -> list:
    jars = [os.path.join(client_jar_dir(), j) for j in CLIENT_JARS]
    done = subprocess.run([jdk_tool("java"), "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                           "-cp", os.pathsep.join([classes, *jars]), "FjordJavaCluster", bootstrap, topic,
                           str(PARTITIONS), str(RECORDS)], capture_output=True, text=True, timeout=CLIENT_S)
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0 and events and events[-1]["event"] == "done", \
        f"java exited {done.returncode}\n{done.stdout[-5000:]}\n{done.stderr[-5000:]}"
    # The client's own metadata, through the one bootstrap broker, names a leader for every partition.
    assert sorted(e["partition"] for e in events if e["event"] == "leader" and e["leader"] >= 1) == \
        list(range(PARTITIONS)), events
    assert len([e for e in events if e["event"] == "sent"]) == RECORDS
    return [(e["partition"], e["offset"], e["key"], e["value"]) for e in events if e["event"] == "record"]


def run_fjordclient(bootstrap: str, topic: str, tmp_path) -> list:
    lines = tmp_path / "fjord-records.txt"
    lines.write_text("".join(f"k{i}:fjordclient-{i}\n" for i in range(RECORDS)))
    produced = subprocess.run([fjord_bin(), "produce", topic, "--bootstrap", bootstrap, "--key-separator", ":",
                               "--file", str(lines)], capture_output=True, text=True, timeout=CLIENT_S / 2)
    assert produced.returncode == 0, produced
    consumed = subprocess.run([fjord_bin(), "consume", topic, "--bootstrap", bootstrap, "--count", str(RECORDS),
                               "--format", "json", "--idle-timeout", "20"],
                              capture_output=True, text=True, timeout=CLIENT_S / 2)
    assert consumed.returncode == 0, consumed
    records = [json.loads(line) for line in consumed.stdout.splitlines() if line.strip()]
    return [(r["partition"], r["offset"], r["key"], r["value"]) for r in records]


def murmur2_partition(_i: int, key: str) -> int:
    """Kafka's default partitioner for a keyed record: toPositive(murmur2(key)) % partitions."""
    from kafka.partitioner.default import murmur2

    return (murmur2(key.encode()) & 0x7FFFFFFF) % PARTITIONS


@pytest.fixture(scope="module")
def java_classes(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("java-cluster-classes")
    jars = [os.path.join(client_jar_dir(), j) for j in CLIENT_JARS]
    done = subprocess.run([jdk_tool("javac"), "-encoding", "UTF-8", "-d", str(out), "-cp", os.pathsep.join(jars),
                           JAVA_SOURCE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"javac failed:\n{done.stdout}\n{done.stderr}"
    return str(out)


@pytest.mark.parametrize("client", CLIENTS)
def test_client_produces_and_reads_every_partition_across_brokers(client, cluster, entry, topics, request,
                                                                   tmp_path):
    # Flow: 1. the client, bootstrapped from one non-controller broker, produces 60 keyed records over the six
    # partitions (two on each broker); 2. it reads them back with assign() from offset 0; 3. per partition: exactly
    # the records sent there, in order, at offsets 0..n-1.
    topic = topics[client]
    started = time.monotonic()
    if client == "confluent":
        rows = run_confluent(entry, topic)
    elif client == "kafka-python":
        rows = run_kafka_python(entry, topic)
    elif client == "aiokafka":
        rows = run_aiokafka(entry, topic)
    elif client == "java":
        rows = run_java(entry, topic, request.getfixturevalue("java_classes"))
    else:
        rows = run_fjordclient(entry, topic, tmp_path)
    placement = murmur2_partition if client == "fjordclient" else (lambda i, _key: i % PARTITIONS)
    expected = expected_rows(client, placement)
    assert all(expected.values()), f"the keys do not cover every partition: {expected}"
    assert by_partition(rows) == expected
    assert time.monotonic() - started < 2 * CLIENT_S


# ---------------------------------------------------------------------------------------------- metadata changes


def test_a_producer_auto_creates_a_topic_through_a_non_controller(cluster, entry):
    # Flow: 1. a producer bootstrapped from a non-controller broker sends to an unknown topic: its Metadata request
    # makes that broker send CreateTopics to the active controller; 2. the records are delivered; 3. every node
    # lists the topic with num.partitions (1) partitions.
    name = "auto-created-via-broker"
    producer = Producer({"bootstrap.servers": entry, "acks": "all", "message.timeout.ms": 30_000})
    failures = []
    for i in range(10):
        producer.produce(name, key=f"k{i}", value=f"auto-{i}",
                         on_delivery=lambda err, _msg: failures.append(err) if err else None)
    assert producer.flush(40) == 0, "records still undelivered"
    assert failures == []
    wait_until(lambda: all((leaders(n.bootstrap, name) or {}).keys() == {0} for n in cluster.nodes), STEP_S,
               lambda: f"{[leaders(n.bootstrap, name) for n in cluster.nodes]}")
    consumer = Consumer({"bootstrap.servers": entry, "group.id": "unused-assign-only", "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(name, 0, 0)])
        values = []
        deadline = time.monotonic() + 30
        while len(values) < 10 and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                values.append(message.value().decode())
    finally:
        consumer.close()
    assert values == [f"auto-{i}" for i in range(10)]


def test_admin_round_through_a_non_controller(cluster, entry):
    # Flow: through a non-controller broker: 1. create a topic with retention.ms; 2. DescribeConfigs shows it as a
    # dynamic topic config; 3. IncrementalAlterConfigs sets cleanup.policy, seen through every node; 4.
    # CreatePartitions 2 → 5, every node lists 5 partitions with leaders; 5. DeleteTopics, gone from every node.
    name = "admin-round"
    admin = admin_at(entry)
    admin.create_topics([NewTopic(name, 2, 1, config={"retention.ms": "3600000"})],
                        operation_timeout=20, request_timeout=30)[name].result(timeout=40)
    resource = ConfigResource(ConfigResource.Type.TOPIC, name)

    def config_everywhere(key: str, value: str) -> bool:
        for node in cluster.nodes:
            try:
                entries = admin_at(node.bootstrap).describe_configs([resource])[resource].result(timeout=20)
            except KafkaException:
                return False  # a node that has not replayed the new topic yet answers UNKNOWN_TOPIC_OR_PARTITION
            if entries[key].value != value or entries[key].source != ConfigSource.DYNAMIC_TOPIC_CONFIG.value:
                return False
        return True

    wait_until(lambda: config_everywhere("retention.ms", "3600000"), STEP_S, "retention.ms not described")
    altered = ConfigResource(ConfigResource.Type.TOPIC, name, incremental_configs=[
        ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.SET)])
    admin.incremental_alter_configs([altered])[altered].result(timeout=30)
    wait_until(lambda: config_everywhere("cleanup.policy", "compact"), STEP_S, "cleanup.policy not altered")

    admin.create_partitions([NewPartitions(name, 5)], operation_timeout=20, request_timeout=30)[name].result(timeout=40)
    wait_until(lambda: all((lambda v: v is not None and len(v) == 5 and min(v.values()) >= 1)(
        leaders(n.bootstrap, name)) for n in cluster.nodes), STEP_S,
        lambda: f"{[leaders(n.bootstrap, name) for n in cluster.nodes]}")

    admin.delete_topics([name], operation_timeout=20, request_timeout=30)[name].result(timeout=40)
    wait_until(lambda: all(name not in admin_at(n.bootstrap).list_topics(timeout=10).topics
                           for n in cluster.nodes), STEP_S, "the topic is still listed")
