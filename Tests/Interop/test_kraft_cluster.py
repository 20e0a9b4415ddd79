"""Three combined KRaft nodes as one cluster of brokers (issue 12 items 4, 5, 8): every node registers with the active
controller and heartbeats, so DescribeCluster and Metadata from any node list all three brokers; a topic's partitions
are placed over the registered brokers, so a 6-partition topic has leaders on all three and each node serves its own;
confluent-kafka bootstrapped to one node produces 300 records across every partition and reads exactly them back
(following each partition's leader to its node); a broker killed with SIGKILL is fenced once its session times out
(`broker.session.timeout.ms=3000` here) and its partitions are reported without a leader (LEADER_NOT_AVAILABLE, the
replication issue will move them), and when it restarts it is unfenced and leads them again; a broker stopped with
SIGTERM makes a controlled shutdown: its leaderships are moved (here: dropped) before it exits.

The cluster comes from test_kraft_quorum.py's `Cluster`, with short broker sessions added to each node's
configuration. One cluster serves the whole module (bounded to about two minutes)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from test_kraft_quorum import ROLE, STEP_S, Cluster
from waiting import wait_for, wait_until

SESSION_MS = 3000
HEARTBEAT_MS = 500
TOPIC = "spread"
PARTITIONS = 6
RECORDS = 300


class ShortSessionCluster(Cluster):
    """`Cluster` whose nodes fence a silent broker after `SESSION_MS`."""

    def _spawn(self, i: int, append: bool = False):
        config: Path = self.configs[i]
        text = config.read_text()
        if "broker.session.timeout.ms" not in text:
            config.write_text(text + f"broker.session.timeout.ms={SESSION_MS}\n"
                              f"broker.heartbeat.interval.ms={HEARTBEAT_MS}\n")
        return super()._spawn(i, append)


class _ModuleRequest:
    """What `Cluster` needs of a pytest request (somewhere to list its processes for failure reports)."""

    def __init__(self, request: pytest.FixtureRequest):
        self.node = request.node


@pytest.fixture(scope="module")
def cluster(request, tmp_path_factory):
    c = ShortSessionCluster(_ModuleRequest(request), tmp_path_factory.mktemp("kraft-cluster"))
    try:
        yield c
    finally:
        c.stop()


def fresh_admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap, "client.id": "fjord-kraft-cluster"})


def partition_leaders(bootstrap: str, topic: str) -> dict[int, tuple[int, KafkaError | None]]:
    """partition → (leader, error) as `bootstrap` reports it."""
    metadata = fresh_admin(bootstrap).list_topics(topic, timeout=10)
    return {p.id: (p.leader, p.error) for p in metadata.topics[topic].partitions.values()}


def quorum_leader_id(cluster: Cluster) -> int | None:
    """Node id of the quorum's leader, from the latest role line with the highest epoch in any node's whole log
    (`Cluster.leader` reads only what a node logged since its last restart, which may be nothing yet)."""
    lines = [m for node in cluster.nodes for m in ROLE.findall(node.log_text()) if m[2]]
    if not lines:
        return None
    _, _, leader = max(lines, key=lambda m: int(m[1]))
    return int(leader)


def test_every_node_lists_the_three_brokers(cluster):
    for node in cluster.nodes:
        admin = fresh_admin(node.bootstrap)
        described = admin.describe_cluster(request_timeout=10).result(timeout=15)
        assert sorted(n.id for n in described.nodes) == [1, 2, 3], f"DescribeCluster through {node.name}"
        ports = {n.id: n.port for n in described.nodes}
        assert ports == {i + 1: cluster.ports[i] for i in range(3)}, "each broker at its own client listener"
        assert sorted(admin.list_topics(timeout=10).brokers) == [1, 2, 3], f"Metadata through {node.name}"


def test_partitions_are_spread_and_clients_follow_their_leaders(cluster):
    admin = fresh_admin(cluster.nodes[0].bootstrap)
    admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)], operation_timeout=15)[TOPIC].result(timeout=20)
    # Every node replays the placement: the same leaders through each.
    leaders = wait_for(lambda: {i: partition_leaders(n.bootstrap, TOPIC) for i, n in enumerate(cluster.nodes)}
                       if all(len(partition_leaders(n.bootstrap, TOPIC)) == PARTITIONS for n in cluster.nodes)
                       else None, STEP_S, "the topic did not reach every node")
    assert leaders[0] == leaders[1] == leaders[2]
    assert {leader for leader, _ in leaders[0].values()} == {1, 2, 3}, f"leaders {leaders[0]}"

    producer = Producer({"bootstrap.servers": cluster.nodes[0].bootstrap, "linger.ms": 5, "acks": "all"})
    failures = []
    for i in range(RECORDS):
        producer.produce(TOPIC, key=str(i).encode(), value=f"v{i}".encode(), partition=i % PARTITIONS,
                         on_delivery=lambda err, _msg: failures.append(err) if err else None)
        producer.poll(0)
    assert producer.flush(30) == 0, "records still undelivered"
    assert failures == []

    consumer = Consumer({"bootstrap.servers": cluster.nodes[1].bootstrap, "group.id": "kraft-cluster",
                         "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)])
        seen: dict[int, list[str]] = {p: [] for p in range(PARTITIONS)}
        deadline = time.monotonic() + 30
        while sum(map(len, seen.values())) < RECORDS and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            seen[message.partition()].append(message.value().decode())
    finally:
        consumer.close()
    expected = {p: [f"v{i}" for i in range(RECORDS) if i % PARTITIONS == p] for p in range(PARTITIONS)}
    assert seen == expected


def test_a_killed_broker_is_fenced_then_leads_again_after_restart(cluster):
    leaders = partition_leaders(cluster.nodes[0].bootstrap, TOPIC)
    # Kill a broker that is not the active controller, so the quorum keeps its leader and only fencing is timed.
    quorum_leader, _ = wait_for(cluster.leader, STEP_S, "no agreed quorum leader")
    victim = next(i for i in range(3) if i != quorum_leader)
    victim_id = victim + 1
    led = sorted(p for p, (leader, _) in leaders.items() if leader == victim_id)
    assert led, f"broker {victim_id} leads nothing: {leaders}"
    survivor = cluster.nodes[quorum_leader]
    cluster.nodes[victim].proc.kill()
    cluster.nodes[victim].proc.wait()
    killed_at = time.monotonic()

    def fenced():
        now = partition_leaders(survivor.bootstrap, TOPIC)
        brokers = sorted(fresh_admin(survivor.bootstrap).list_topics(timeout=10).brokers)
        return brokers == sorted({1, 2, 3} - {victim_id}) and all(now[p][0] == -1 for p in led) and now

    now = wait_for(fenced, SESSION_MS / 1000 + 10, lambda: f"broker {victim_id} not fenced")
    # Its last heartbeat left at most one interval before the kill: fencing came no sooner than a session after it.
    earliest = (SESSION_MS - HEARTBEAT_MS) / 1000 - 0.2
    assert time.monotonic() - killed_at >= earliest, "fenced before its session could expire"
    for p in led:
        assert now[p][1] is not None and now[p][1].code() == KafkaError.LEADER_NOT_AVAILABLE, now[p]
    # The other brokers' partitions keep their leaders.
    assert all(now[p][0] == leader for p, (leader, _) in leaders.items() if p not in led)

    cluster.restart(victim)
    wait_until(lambda: all(partition_leaders(survivor.bootstrap, TOPIC)[p][0] == victim_id for p in led), STEP_S,
               lambda: f"broker {victim_id} does not lead {led} again: {partition_leaders(survivor.bootstrap, TOPIC)}")
    assert sorted(fresh_admin(cluster.nodes[victim].bootstrap).list_topics(timeout=10).brokers) == [1, 2, 3]


def test_a_stopped_broker_hands_its_partitions_back_before_it_exits(cluster):
    # Controlled shutdown: on SIGTERM the broker asks the controller to move its leaderships (with replication factor
    # 1 they become leaderless) and exits only once allowed, so the survivors report it at once, not a session later.
    leader = wait_for(lambda: quorum_leader_id(cluster), STEP_S, "no quorum leader") - 1
    victim = next(i for i in range(3) if i != leader)
    victim_id = victim + 1
    survivor = cluster.nodes[leader]
    led = sorted(p for p, (leader, _) in partition_leaders(survivor.bootstrap, TOPIC).items() if leader == victim_id)
    assert led, f"broker {victim_id} leads nothing"
    assert cluster.nodes[victim].stop() == 0
    stopped_at = time.monotonic()
    log = cluster.nodes[victim].log_text().split("--- restart ---")[-1]
    assert "controlled shutdown" in log and "timed out waiting for the controller" not in log, log[-2000:]
    now = partition_leaders(survivor.bootstrap, TOPIC)
    assert time.monotonic() - stopped_at < SESSION_MS / 1000, "too slow to tell apart from a session expiry"
    assert all(now[p][0] == -1 for p in led), f"{led} still led after the controlled shutdown: {now}"

    cluster.restart(victim)
    wait_until(lambda: all(partition_leaders(survivor.bootstrap, TOPIC)[p][0] == victim_id for p in led), STEP_S,
               lambda: f"broker {victim_id} does not lead {led} again")
