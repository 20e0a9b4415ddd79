"""Leader elections on three combined KRaft nodes (issue 13, item 4): preferred and unclean elections asked for with
`fjord partition elect-leaders` (ElectLeaders, as kafka-leader-election.sh), the controller's own balancing
(`auto.leader.rebalance.enable`, `leader.imbalance.check.interval.seconds`) and `unclean.leader.election.enable`.

- A partition whose preferred leader was killed is led by another ISR member; restarted, the preferred replica
  catches up and rejoins the ISR but does not lead until asked (balancing off): a preferred election moves the
  leadership back, with every acknowledged record still there; asked again it needs no election.
- With balancing on, the leadership goes back to the restarted preferred replica by itself.
- A partition whose whole ISR is dead stays without a leader while an out-of-sync replica is alive: a preferred
  election cannot help; an unclean election (asked for, or by the controller once the topic turns
  `unclean.leader.election.enable` on) makes the live replica leader, and the records only the dead leader had are
  lost — the documented trade-off. When the old leader comes back it follows the new one and truncates what it
  alone had (KIP-320): led by it again, the partition serves no record of that lost suffix.
- The official Java client (java/FjordJavaFailover.java) keeps producing (idempotent, acks=all) and consuming while
  the partition's leader is killed and restarted (issue 13, item 9): no error ever reaches the application, and
  every acknowledged record is read exactly once, at the offset of its acknowledgement, in the order sent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic, ResourceType

from conftest import fjord_bin
from test_kraft_cluster import HEARTBEAT_MS, SESSION_MS, _ModuleRequest, partition_leaders
from test_java_client import CLIENT_JARS, client_jar_dir, jdk_tool
from test_kraft_quorum import STEP_S, Cluster
from waiting import wait_for, wait_until

SESSIONS = [f"broker.session.timeout.ms={SESSION_MS}", f"broker.heartbeat.interval.ms={HEARTBEAT_MS}",
            "replica.lag.time.max.ms=3000"]


@pytest.fixture(scope="module")
def manual(request, tmp_path_factory):
    """Balancing off, unclean runs every second: only what the tests ask for (and topic configs) moves leaders."""
    c = Cluster(_ModuleRequest(request), tmp_path_factory.mktemp("elections-manual"),
                extra=SESSIONS + ["auto.leader.rebalance.enable=false", "unclean.leader.election.interval.ms=1000",
                                  "num.replica.fetchers=3"])
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def balancing(request, tmp_path_factory):
    c = Cluster(_ModuleRequest(request), tmp_path_factory.mktemp("elections-balancing"),
                extra=SESSIONS + ["leader.imbalance.check.interval.seconds=1"])
    try:
        yield c
    finally:
        c.stop()


def servers(cluster, skip: tuple[int, ...] = ()) -> str:
    return ",".join(f"127.0.0.1:{n.port}" for i, n in enumerate(cluster.nodes) if i + 1 not in skip)


def leader(cluster, topic: str, skip: tuple[int, ...] = ()) -> int:
    return partition_leaders(servers(cluster, skip), topic).get(0, (-1,))[0]


def isr(cluster, topic: str, skip: tuple[int, ...] = ()) -> list[int]:
    metadata = AdminClient({"bootstrap.servers": servers(cluster, skip)}).list_topics(topic, timeout=10)
    return sorted(metadata.topics[topic].partitions[0].isrs)


def produce(bootstrap: str, topic: str, values: list[str]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5, "enable.idempotence": True})
    failures: list = []
    for v in values:
        producer.produce(topic, value=v.encode(), partition=0,
                         on_delivery=lambda err, _m: failures.append(err) if err else None)
        producer.poll(0)
    assert producer.flush(60) == 0, "records still undelivered"
    assert failures == [], failures


def consume(bootstrap: str, topic: str, expected: int) -> list[str]:
    """Partition 0 from the start until `expected` values came, then a short quiet period (so extra records show)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"elections-{time.monotonic_ns()}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    seen: list[str] = []
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        deadline = time.monotonic() + STEP_S
        quiet_until = None
        while time.monotonic() < deadline:
            message = consumer.poll(0.3)
            if message is not None and not message.error():
                seen.append(message.value().decode())
            if len(seen) >= expected:
                quiet_until = quiet_until or time.monotonic() + 1.5
                if time.monotonic() > quiet_until:
                    break
    finally:
        consumer.close()
    return seen


def elect(cluster, *args: str, skip: tuple[int, ...] = ()) -> subprocess.CompletedProcess:
    return subprocess.run([fjord_bin(), "partition", "elect-leaders", "--bootstrap", servers(cluster, skip), *args],
                          capture_output=True, text=True, timeout=60)


def kill(cluster, node_id: int) -> None:
    node = cluster.nodes[node_id - 1]
    node.proc.kill()
    node.proc.wait()


def create(cluster, topic: str, replicas: list[int]) -> None:
    admin = AdminClient({"bootstrap.servers": servers(cluster)})
    wait_until(lambda: len(admin.list_topics(timeout=10).brokers) == 3, STEP_S, "three brokers not registered")
    admin.create_topics([NewTopic(topic, 1, replica_assignment=[replicas])])[topic].result(timeout=30)
    wait_until(lambda: isr(cluster, topic) == sorted(replicas), STEP_S, f"{topic}: ISR not {sorted(replicas)}")


def test_a_preferred_election_moves_the_leadership_back_to_the_restarted_preferred_replica(manual):
    topic = "elect-preferred"
    create(manual, topic, [1, 2, 3])
    assert leader(manual, topic) == 1
    records = [f"r-{i}" for i in range(100)]
    produce(servers(manual), topic, records)

    kill(manual, 1)
    moved = wait_for(lambda: (lambda l: l if l in (2, 3) else None)(leader(manual, topic, skip=(1,))), STEP_S,
                     "no leader from the ISR after the preferred leader died")
    manual.restart(0)
    wait_until(lambda: isr(manual, topic) == [1, 2, 3], STEP_S, lambda: f"ISR {isr(manual, topic)}")
    # Balancing is off: broker 1 is back in the ISR but does not lead until asked.
    time.sleep(2)
    assert leader(manual, topic) == moved

    done = elect(manual, "--election-type", "preferred", "--topic", topic, "--partition", "0")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Successfully completed leader election (PREFERRED) for partitions {topic}-0" in done.stdout
    wait_until(lambda: leader(manual, topic) == 1, STEP_S, "broker 1 does not lead after the election")
    assert consume(servers(manual), topic, len(records)) == records

    again = elect(manual, "--election-type", "PREFERRED", "--all-topic-partitions")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{topic}-0" not in again.stdout  # every partition: the ones needing no election are not listed
    named = elect(manual, "--election-type", "preferred", "--topic", topic, "--partition", "0")
    assert named.returncode == 0 and f"Valid replica already elected for partitions {topic}-0" in named.stdout


def test_an_unclean_election_loses_only_what_the_dead_isr_had_and_the_old_leader_truncates_it(manual, tmp_path):
    # Two topics on [1, 2]: one elected unclean by the tool, one by the controller once its config allows it.
    topics = ["dirty-tool", "dirty-config"]
    for topic in topics:
        create(manual, topic, [1, 2])
        assert leader(manual, topic) == 1
        produce(servers(manual), topic, [f"kept-{i}" for i in range(20)])

    # Broker 2 stops (SIGSTOP): it leaves the ISRs (lag or session), and broker 1 alone acknowledges more records.
    # Then broker 1, the whole ISR, dies, and broker 2 resumes out of sync: with two of the three controllers down
    # for that moment the quorum pauses, then 2 and 3 go on and fence broker 1 after its session.
    stalled = manual.nodes[1]
    stalled.proc.send_signal(signal.SIGSTOP)
    try:
        for topic in topics:
            wait_until(lambda: isr(manual, topic, skip=(2,)) == [1], STEP_S, f"{topic}: broker 2 still in the ISR")
            produce(servers(manual, skip=(2,)), topic, [f"lost-{i}" for i in range(10)])
        kill(manual, 1)
    finally:
        stalled.proc.send_signal(signal.SIGCONT)
    for topic in topics:
        wait_until(lambda: leader(manual, topic, skip=(1,)) == -1, STEP_S, f"{topic} has a leader")
    time.sleep(2.5)  # a few of the controller's unclean runs: the topics do not allow it
    assert [leader(manual, t, skip=(1,)) for t in topics] == [-1, -1]

    refused = elect(manual, "--election-type", "preferred", "--topic", "dirty-tool", "--partition", "0", skip=(1,))
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "PREFERRED_LEADER_NOT_AVAILABLE" in refused.stdout
    plan = tmp_path / "partitions.json"
    plan.write_text('{"partitions": [{"topic": "dirty-tool", "partition": 0}]}')
    done = elect(manual, "--election-type", "unclean", "--path-to-json-file", str(plan), skip=(1,))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Successfully completed leader election (UNCLEAN) for partitions dirty-tool-0" in done.stdout

    config = AdminClient({"bootstrap.servers": servers(manual, skip=(1,))})
    resource = ConfigResource(ResourceType.TOPIC, "dirty-config", incremental_configs=[
        ConfigEntry("unclean.leader.election.enable", "true", incremental_operation=AlterConfigOpType.SET)])
    config.incremental_alter_configs([resource])[ConfigResource(ResourceType.TOPIC, "dirty-config")].result(timeout=30)
    for topic in topics:
        wait_until(lambda: leader(manual, topic, skip=(1,)) == 2, STEP_S, f"{topic}: broker 2 does not lead")
        kept = [f"kept-{i}" for i in range(20)]
        assert consume(servers(manual, skip=(1,)), topic, len(kept)) == kept
        produce(servers(manual, skip=(1,)), topic, [f"after-{i}" for i in range(10)])

    # Broker 1 comes back: it follows broker 2, truncates its "lost-" suffix and rejoins the ISR. Broker 2 killed,
    # broker 1 leads from the ISR and serves exactly broker 2's history.
    manual.restart(0)
    for topic in topics:
        wait_until(lambda: isr(manual, topic) == [1, 2], STEP_S, lambda: f"{topic}: ISR {isr(manual, topic)}")
    kill(manual, 2)
    expected = [f"kept-{i}" for i in range(20)] + [f"after-{i}" for i in range(10)]
    for topic in topics:
        wait_until(lambda: leader(manual, topic, skip=(2,)) == 1, STEP_S, f"{topic}: broker 1 does not lead")
        assert consume(servers(manual, skip=(2,)), topic, len(expected)) == expected
    manual.restart(1)


def test_balancing_gives_the_leadership_back_to_the_preferred_replica_by_itself(balancing):
    topic = "balanced"
    create(balancing, topic, [1, 2, 3])
    assert leader(balancing, topic) == 1
    kill(balancing, 1)
    wait_until(lambda: leader(balancing, topic, skip=(1,)) in (2, 3), STEP_S, "no new leader")
    balancing.restart(0)
    # No request: the active controller's balancing run (every second here) elects broker 1 once it is in the ISR.
    wait_until(lambda: leader(balancing, topic) == 1, STEP_S,
               lambda: f"leader {leader(balancing, topic)}, ISR {isr(balancing, topic)}")
    logs = "".join(node.log_path.read_text(errors="replace") for node in balancing.nodes)
    assert "preferred leader balancing" in logs


JAVA_FAILOVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "java", "FjordJavaFailover.java")


def test_the_java_client_produces_and_consumes_through_a_leader_kill(manual, tmp_path):
    topic = "java-failover"
    create(manual, topic, [1, 2, 3])
    jars = [os.path.join(client_jar_dir(), j) for j in CLIENT_JARS]
    classes = tmp_path / "classes"
    compiled = subprocess.run([jdk_tool("javac"), "-encoding", "UTF-8", "-d", str(classes), "-cp",
                               os.pathsep.join(jars), JAVA_FAILOVER], capture_output=True, text=True, timeout=120)
    assert compiled.returncode == 0, f"javac failed:\n{compiled.stdout}\n{compiled.stderr}"
    stop_file = tmp_path / "stop"
    java = subprocess.Popen([jdk_tool("java"), "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                             "-cp", os.pathsep.join([str(classes), *jars]), "FjordJavaFailover", servers(manual), topic,
                             str(stop_file)], stdout=subprocess.PIPE, stderr=open(tmp_path / "java.err", "wb"),
                            text=True)
    events: list[dict] = []

    def collect() -> None:
        for line in java.stdout:
            if line.startswith("{"):
                events.append(json.loads(line))

    reader = threading.Thread(target=collect, daemon=True)
    reader.start()

    def acked() -> int:
        return sum(1 for e in list(events) if e["event"] == "acked")

    def java_state() -> str:
        counts: dict[str, int] = {}
        for e in list(events):
            counts[e["event"]] = counts.get(e["event"], 0) + 1
        return f"java events {counts}, exit {java.poll()}, stderr: {(tmp_path / 'java.err').read_text()[-3000:]}"

    try:
        wait_until(lambda: acked() >= 200, STEP_S, lambda: f"the Java producer did not start: {java_state()}")
        victim = leader(manual, topic)
        kill(manual, victim)
        before = acked()
        wait_until(lambda: leader(manual, topic, skip=(victim,)) not in (-1, victim), STEP_S, "no new leader")
        wait_until(lambda: acked() >= before + 200, STEP_S,
                   lambda: f"the Java producer made no progress on the new leader: {java_state()}")
        manual.restart(victim - 1)
        wait_until(lambda: isr(manual, topic) == [1, 2, 3], STEP_S, lambda: f"ISR {isr(manual, topic)}")
        stop_file.write_text("stop")
        java.wait(timeout=150)
    finally:
        if java.poll() is None:
            java.kill()
            java.wait()
    reader.join(10)
    assert java.returncode == 0 and events and events[-1]["event"] == "done", java_state()
    assert [e for e in events if e["event"] in ("failed", "consumer-error")] == [], java_state()
    acks = {e["n"]: e["offset"] for e in events if e["event"] == "acked"}
    reads = [(e["n"], e["offset"]) for e in events if e["event"] == "record"]
    # Every record sent was acknowledged (nothing failed), each is read once where its acknowledgement said, and the
    # partition holds them in the order sent.
    assert sorted(acks) == list(range(len(acks))), "acknowledged numbers are not 0..n-1"
    assert len(reads) == len({n for n, _ in reads}), "a record was read twice"
    assert dict(reads) == acks
    assert [n for n, _ in reads] == sorted(n for n, _ in reads)
