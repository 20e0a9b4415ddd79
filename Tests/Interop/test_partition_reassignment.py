"""Partition reassignment on three combined KRaft nodes (issue 13, item 5): `fjord partition reassign` (as
kafka-reassign-partitions.sh, over AlterPartitionReassignments and ListPartitionReassignments) and
`fjord cluster drain`.

- --generate proposes a plan that keeps each partition's replica count on the brokers named.
- --execute moves a partition to a new replica (the new one catches up, the old one is dropped: its log folder
  goes) and another from two replicas to one on a broker it was not on (its leader moves), while a producer keeps
  writing; --verify reports progress, then completion; every acknowledged record is there, at its offset, served by
  the new leaders.
- A move that cannot complete (its new replica's broker is down) shows as in progress, and --cancel puts the
  partition back on its replicas before the move.
- `fjord cluster drain 3 --wait` leaves broker 3 without any replica.
- `--execute --throttle RATE` holds a move's replication to RATE bytes/s (KIP-73: the leader and follower
  quotas, the topic's throttled replicas), and `--verify` clears the throttle once the move is complete.
- The official Java client's Admin (Tests/Interop/java/FjordJavaReassign.java) lists, refuses with Kafka's exception
  classes, moves a partition and watches the move until it completes."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType

from conftest import fjord_bin
from test_kraft_cluster import HEARTBEAT_MS, SESSION_MS
from test_java_client import CLIENT_JARS, client_jar_dir, jdk_tool
from test_kraft_quorum import STEP_S, Cluster
from waiting import wait_for, wait_until

TOPIC = "moving"


@pytest.fixture
def cluster(request, tmp_path):
    # Five quota windows of a second (a throttle lets about four seconds' worth through at once, not ten) and
    # replica fetches of at most 128 KiB (what one fetch the quota lets through may carry beyond the rate).
    c = Cluster(request, tmp_path, extra=[f"broker.session.timeout.ms={SESSION_MS}",
                                          f"broker.heartbeat.interval.ms={HEARTBEAT_MS}",
                                          "replica.lag.time.max.ms=3000", "replication.quota.window.num=5",
                                          "replica.fetch.max.bytes=131072"])
    try:
        yield c
    finally:
        c.stop()


def servers(cluster, skip: tuple[int, ...] = ()) -> str:
    return ",".join(f"127.0.0.1:{n.port}" for i, n in enumerate(cluster.nodes) if i + 1 not in skip)


def placement(cluster, topic: str = TOPIC, skip: tuple[int, ...] = ()) -> dict[int, tuple[list[int], list[int], int]]:
    """partition → (replicas, sorted ISR, leader), from the cluster's metadata."""
    metadata = AdminClient({"bootstrap.servers": servers(cluster, skip)}).list_topics(topic, timeout=10)
    return {p.id: (list(p.replicas), sorted(p.isrs), p.leader) for p in metadata.topics[topic].partitions.values()}


def fjord(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([fjord_bin(), *args], capture_output=True, text=True, timeout=120)


def reassign(cluster, *args: str, skip: tuple[int, ...] = ()) -> subprocess.CompletedProcess:
    return fjord("partition", "reassign", "--bootstrap", servers(cluster, skip), *args)


def plan_file(tmp_path: Path, name: str, moves: dict[int, list[int]]) -> str:
    path = tmp_path / name
    path.write_text(json.dumps({"version": 1, "partitions": [
        {"topic": TOPIC, "partition": p, "replicas": r} for p, r in sorted(moves.items())]}))
    return str(path)


class Writer(threading.Thread):
    """An idempotent acks=all producer writing numbered records round-robin to the partitions until stopped;
    records each acknowledgement as value → (partition, offset)."""

    def __init__(self, bootstrap: str, partitions: int):
        super().__init__(daemon=True)
        self.producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                                  "linger.ms": 5, "message.timeout.ms": 60_000})
        self.partitions = partitions
        self.acked: dict[int, tuple[int, int]] = {}
        self.errors: list[str] = []
        self.halt = threading.Event()

    def _delivered(self, err, message) -> None:
        if err is None:
            self.acked[int(message.value())] = (message.partition(), message.offset())
        else:
            self.errors.append(str(err))

    def run(self) -> None:
        n = 0
        while not self.halt.is_set():
            self.producer.produce(TOPIC, value=str(n).encode(), partition=n % self.partitions,
                                  on_delivery=self._delivered)
            self.producer.poll(0)
            n += 1
            time.sleep(0.005)
        self.producer.flush(60)

    def stop(self) -> None:
        self.halt.set()
        self.join(90)


def read_all(bootstrap: str, partitions: int, expected: int) -> dict[int, tuple[int, int]]:
    """value → (partition, offset) of every record, until `expected` came (or the step's deadline)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reassign-{time.monotonic_ns()}",
                         "enable.auto.commit": False})
    seen: dict[int, tuple[int, int]] = {}
    try:
        consumer.assign([TopicPartition(TOPIC, p, 0) for p in range(partitions)])
        deadline = time.monotonic() + STEP_S
        while len(seen) < expected and time.monotonic() < deadline:
            message = consumer.poll(0.3)
            if message is not None and not message.error():
                seen[int(message.value())] = (message.partition(), message.offset())
    finally:
        consumer.close()
    return seen


def partition_dirs(cluster, node_id: int) -> set[str]:
    """The node's log folders of the topic (a dropped replica's folder is renamed `…-delete`, removed later, as
    Kafka does: not counted)."""
    return {p.name for p in (cluster.tmp_path / f"node{node_id}" / "data").glob(f"{TOPIC}-*")
            if not p.name.endswith("-delete")}


def test_moves_complete_with_every_record_a_stuck_move_is_cancelled_and_a_broker_is_drained(cluster, tmp_path):
    admin = AdminClient({"bootstrap.servers": servers(cluster)})
    wait_until(lambda: len(admin.list_topics(timeout=10).brokers) == 3, STEP_S, "three brokers not registered")
    admin.create_topics([NewTopic(TOPIC, 2, replica_assignment=[[1, 2], [2, 3]])])[TOPIC].result(timeout=30)
    wait_until(lambda: all(len(isr) == 2 for _, isr, _ in placement(cluster).values()), STEP_S, "ISRs not full")

    # --generate: a plan over brokers 1 and 3 that keeps two replicas per partition.
    generated = reassign(cluster, "--generate", "--topics", TOPIC, "--brokers", "1,3")
    assert generated.returncode == 0, generated.stdout + generated.stderr
    current_text, proposed_text = generated.stdout.split("Proposed partition reassignment configuration")
    assert json.loads(current_text.split("\n", 1)[1])["partitions"] == [
        {"topic": TOPIC, "partition": 0, "replicas": [1, 2], "log_dirs": ["any", "any"]},
        {"topic": TOPIC, "partition": 1, "replicas": [2, 3], "log_dirs": ["any", "any"]}]
    proposed = json.loads(proposed_text.strip())["partitions"]
    assert [(e["partition"], sorted(e["replicas"])) for e in proposed] == [(0, [1, 3]), (1, [1, 3])]

    writer = Writer(servers(cluster), 2)
    writer.start()
    try:
        wait_until(lambda: len(writer.acked) >= 200, STEP_S, "the producer is stuck")
        # Partition 0: [1, 2] → [3, 1] (3 added, 2 dropped, 1 keeps leading); partition 1: [2, 3] → [1] (on a
        # broker it was not on: the leadership moves there).
        plan = plan_file(tmp_path, "move.json", {0: [3, 1], 1: [1]})
        started = reassign(cluster, "--plan", plan, "--execute")
        assert started.returncode == 0, started.stdout + started.stderr
        assert "Current partition replica assignment" in started.stdout
        assert "Successfully started partition reassignments for moving-0,moving-1" in started.stdout

        def verified() -> bool:
            done = reassign(cluster, "--plan", plan, "--verify")
            assert "Status of partition reassignment:" in done.stdout, done.stdout + done.stderr
            return done.returncode == 0 and "Reassignment of partition moving-1 is completed." in done.stdout
        wait_until(verified, STEP_S, lambda: reassign(cluster, "--plan", plan, "--verify").stdout)
        acked_during = len(writer.acked)
        wait_until(lambda: len(writer.acked) >= acked_during + 200, STEP_S, "the producer is stuck after the move")
    finally:
        writer.stop()
    assert writer.errors == [], writer.errors[:5]
    wait_until(lambda: placement(cluster) == {0: ([3, 1], [1, 3], 1), 1: ([1], [1], 1)}, STEP_S,
               lambda: f"placement {placement(cluster)}")
    # The dropped replicas' logs are gone; the new ones hold the partition.
    wait_until(lambda: partition_dirs(cluster, 2) == set(), STEP_S, lambda: f"node 2 keeps {partition_dirs(cluster, 2)}")
    assert partition_dirs(cluster, 3) == {f"{TOPIC}-0"}
    assert partition_dirs(cluster, 1) == {f"{TOPIC}-0", f"{TOPIC}-1"}
    seen = read_all(servers(cluster), 2, len(writer.acked))
    missing = [v for v in writer.acked if v not in seen]
    assert not missing, f"{len(missing)} acknowledged records missing, first {sorted(missing)[:10]}"
    # (librdkafka once reported a record of partition 0 delivered without an offset during the move — its report
    # for a batch it counts as persisted without an answer carrying one; the record was there. Only offsets the
    # client was given are compared.)
    moved = [(v, writer.acked[v], seen[v]) for v in writer.acked
             if writer.acked[v][1] is not None and seen[v] != writer.acked[v]]
    assert not moved, f"acknowledged offsets changed: {moved[:10]}"

    # A move that cannot complete: partition 1 to [1, 2] with broker 2 down stays in progress; --cancel reverts it.
    node2 = cluster.nodes[1]
    node2.proc.kill()
    node2.proc.wait()
    stuck = plan_file(tmp_path, "stuck.json", {1: [1, 2]})
    # Node 2 may have been the active controller: the request can time out while the others elect a new one, and is
    # repeated as an operator would (the same target again is the same reassignment).
    attempts: list[subprocess.CompletedProcess] = []

    def executed() -> bool:
        attempts.append(reassign(cluster, "--plan", stuck, "--execute", skip=(2,)))
        return attempts[-1].returncode == 0

    wait_until(executed, STEP_S, lambda: attempts[-1].stdout + attempts[-1].stderr)
    time.sleep(2)
    pending = reassign(cluster, "--plan", stuck, "--verify", skip=(2,))
    assert pending.returncode == 1 and "Reassignment of partition moving-1 is still in progress." in pending.stdout
    assert placement(cluster, skip=(2,))[1][0] == [1, 2]
    cancelled = reassign(cluster, "--plan", stuck, "--cancel", skip=(2,))
    assert cancelled.returncode == 0, cancelled.stdout + cancelled.stderr
    assert "Successfully cancelled partition reassignments for: moving-1" in cancelled.stdout
    wait_until(lambda: placement(cluster, skip=(2,))[1][0] == [1], STEP_S, "the cancelled move was not reverted")
    again = reassign(cluster, "--plan", stuck, "--verify", skip=(2,))
    assert again.returncode == 1 and "There is no active reassignment of partition moving-1" in again.stdout
    cluster.restart(1)

    # Drain broker 3: partition 0's replica there moves to broker 2, and broker 3 holds nothing afterwards.
    wait_until(lambda: len(admin.list_topics(timeout=10).brokers) == 3, STEP_S, "broker 2 not back")
    drained = fjord("cluster", "drain", "3", "--bootstrap", servers(cluster), "--wait", "--timeout", "60")
    assert drained.returncode == 0, drained.stdout + drained.stderr
    assert f"{TOPIC}-0: [3, 1] -> [2, 1]" in drained.stdout
    assert "Broker 3 holds no replicas." in drained.stdout
    metadata = AdminClient({"bootstrap.servers": servers(cluster)}).list_topics(timeout=10)
    assert not [f"{t.topic}-{p.id}" for t in metadata.topics.values() for p in t.partitions.values()
                if 3 in p.replicas]
    wait_until(lambda: partition_dirs(cluster, 3) == set(), STEP_S, "node 3 keeps its log folders")
    assert sorted(read_all(servers(cluster), 2, len(writer.acked))) == sorted(writer.acked)


def test_the_java_admin_moves_a_partition_and_sees_kafkas_errors(cluster, tmp_path):
    admin = AdminClient({"bootstrap.servers": servers(cluster)})
    wait_until(lambda: len(admin.list_topics(timeout=10).brokers) == 3, STEP_S, "three brokers not registered")
    admin.create_topics([NewTopic(TOPIC, 1, replica_assignment=[[1, 2]])])[TOPIC].result(timeout=30)
    wait_until(lambda: placement(cluster)[0][1] == [1, 2], STEP_S, "ISR not [1, 2]")
    writer = Writer(servers(cluster), 1)
    writer.start()
    wait_until(lambda: len(writer.acked) >= 300, STEP_S, "the producer is stuck")
    writer.stop()

    jars = [os.path.join(client_jar_dir(), j) for j in CLIENT_JARS]
    classes = tmp_path / "classes"
    source = Path(__file__).resolve().parent / "java" / "FjordJavaReassign.java"
    compiled = subprocess.run([jdk_tool("javac"), "-encoding", "UTF-8", "-d", str(classes), "-cp",
                               os.pathsep.join(jars), str(source)], capture_output=True, text=True, timeout=120)
    assert compiled.returncode == 0, f"javac failed:\n{compiled.stdout}\n{compiled.stderr}"
    done = subprocess.run([jdk_tool("java"), "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                           "-cp", os.pathsep.join([str(classes), *jars]), "FjordJavaReassign", servers(cluster),
                           TOPIC, "0", "3,2"], capture_output=True, text=True, timeout=120)
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0 and events and events[-1]["event"] == "done", \
        f"java exited {done.returncode}\n{done.stdout[-5000:]}\n{done.stderr[-5000:]}"
    by_event = {e["event"]: e for e in events}
    assert by_event["listed"]["count"] == 0
    assert by_event["cancel"]["error"] == "NoReassignmentInProgressException"
    assert by_event["invalid"]["error"] == "InvalidReplicaAssignmentException"
    for progress in (e for e in events if e["event"] == "progress"):
        assert progress == {"event": "progress", "replicas": [3, 2, 1], "adding": [3], "removing": [1]}, progress
    # Broker 1, the leader, left: the first in-sync replica of the target leads.
    described = by_event["described"]
    assert (described["replicas"], sorted(described["isr"]), described["leader"]) == ([3, 2], [2, 3], 3), described
    seen = read_all(servers(cluster), 1, len(writer.acked))
    assert all(v in seen and (o[1] is None or seen[v] == o) for v, o in writer.acked.items())


def test_a_throttled_move_keeps_to_its_rate_and_verify_clears_the_throttle(cluster, tmp_path):
    admin = AdminClient({"bootstrap.servers": servers(cluster)})
    wait_until(lambda: len(admin.list_topics(timeout=10).brokers) == 3, STEP_S, "three brokers not registered")
    admin.create_topics([NewTopic(TOPIC, 1, replica_assignment=[[1]])])[TOPIC].result(timeout=30)
    producer = Producer({"bootstrap.servers": servers(cluster), "acks": "1", "linger.ms": 20})
    value = b"x" * 1000
    for _ in range(3000):
        while True:
            try:
                producer.produce(TOPIC, value=value, partition=0)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    assert producer.flush(60) == 0
    # 3 MB at 150 kB/s: the first 600 kB (four seconds' worth) at once, then the rest at about the rate (a fetch
    # the quota lets through carries up to 128 KiB more): some 15 s in all.
    rate = 150_000

    plan = plan_file(tmp_path, "throttled.json", {0: [1, 2]})
    started_at = time.monotonic()
    started = reassign(cluster, "--plan", plan, "--execute", "--throttle", str(rate))
    assert started.returncode == 0, started.stdout + started.stderr
    assert f"The inter-broker throttle limit was set to {rate} B/s" in started.stdout
    configs = admin.describe_configs([ConfigResource(ResourceType.TOPIC, TOPIC)])
    topic_configs = list(configs.values())[0].result(timeout=30)
    assert topic_configs["leader.replication.throttled.replicas"].value == "0:1"
    assert topic_configs["follower.replication.throttled.replicas"].value == "0:2"
    # The rates are the two brokers' own dynamic configs (broker 3, not involved, has none).
    for broker, expected in ((1, str(rate)), (2, str(rate)), (3, str(2**63 - 1))):
        resource = ConfigResource(ResourceType.BROKER, str(broker))
        entries = list(admin.describe_configs([resource]).values())[0].result(timeout=30)
        assert entries["follower.replication.throttled.rate"].value == expected, broker

    done = None
    while time.monotonic() < started_at + 120:
        done = reassign(cluster, "--plan", plan, "--verify")
        if done.returncode == 0:
            break
        assert "Reassignment of partition moving-0 is still in progress." in done.stdout, done.stdout + done.stderr
        time.sleep(0.5)
    elapsed = time.monotonic() - started_at
    print(f"\nthrottled move of 3 MB at {rate} B/s: {elapsed:.1f} s")
    assert done is not None and done.returncode == 0, done and done.stdout + done.stderr
    # Unthrottled, 3 MB cross loopback in well under a second.
    assert elapsed >= 6, f"the throttled move took only {elapsed:.1f} s"
    assert "Clearing broker-level throttles on brokers 1,2,3" in done.stdout
    assert "Clearing topic-level throttles on topic moving" in done.stdout
    entries = list(admin.describe_configs([ConfigResource(ResourceType.BROKER, "1")]).values())[0].result(timeout=30)
    assert entries["leader.replication.throttled.rate"].value == str(2**63 - 1)
    topic_configs = list(admin.describe_configs([ConfigResource(ResourceType.TOPIC, TOPIC)]).values())[0] \
        .result(timeout=30)
    assert topic_configs["leader.replication.throttled.replicas"].value in ("", None)
    assert topic_configs["follower.replication.throttled.replicas"].value in ("", None)
    assert placement(cluster) == {0: ([1, 2], [1, 2], 1)}

