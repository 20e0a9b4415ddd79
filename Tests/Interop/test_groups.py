"""Consumer groups against a real Fjord broker: the classic protocol through librdkafka (confluent-kafka),
kafka-python and aiokafka; eager and cooperative rebalancing, static membership, committed offsets that
survive a restart, and the group admin APIs.

Every broker here runs with group.initial.rebalance.delay.ms=0 and a low group.min.session.timeout.ms so a
test finishes in seconds."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import restart_broker, running_fjord
from waiting import GENEROUS_S, wait_until

GROUP_OVERRIDES = {
    "group.initial.rebalance.delay.ms": "0",
    "group.min.session.timeout.ms": "1000",
    "offsets.topic.num.partitions": "5",
}


@pytest.fixture
def gbroker(request, tmp_path):
    with running_fjord(request, tmp_path, GROUP_OVERRIDES) as b:
        yield b


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    futures[name].result(GENEROUS_S)


def produce(bootstrap: str, topic: str, count: int, partitions: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(count):
        producer.produce(topic, value=f"v{i}".encode(), key=f"k{i}".encode(), partition=i % partitions)
    assert producer.flush(GENEROUS_S) == 0


def consumer(bootstrap: str, group: str, **extra) -> Consumer:
    config = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
        "enable.auto.commit": False,
        **extra,
    }
    return Consumer(config)


def poll_until(consumers, predicate, timeout: float = GENEROUS_S, on_message=None) -> None:
    """Polls every consumer in turn until `predicate()` holds. Rebalances take seconds, and many more on a loaded
    machine: the deadline is generous, and only a failing test waits for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for c in consumers:
            msg = c.poll(0.05)
            if msg is not None and not msg.error() and on_message:
                on_message(c, msg)
        if predicate():
            return
    raise AssertionError("condition not reached in time")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_single_consumer_reads_and_commits(gbroker):
    topic, group = unique("t"), unique("g")
    create_topic(gbroker.bootstrap, topic, 3)
    produce(gbroker.bootstrap, topic, 30, 3)
    c = consumer(gbroker.bootstrap, group)
    c.subscribe([topic])
    seen = []
    poll_until([c], lambda: len(seen) >= 30, on_message=lambda _c, m: seen.append(m.value()))
    assert sorted(seen) == sorted(f"v{i}".encode() for i in range(30))
    c.commit(asynchronous=False)
    committed = c.committed([TopicPartition(topic, p) for p in range(3)], timeout=10)
    assert [tp.offset for tp in committed] == [10, 10, 10]
    c.close()



class Tracker:
    """Assignment callbacks of one consumer, and what it read."""

    def __init__(self, name: str, cooperative: bool = False):
        self.name = name
        self.cooperative = cooperative
        self.assigned: list[list[tuple[str, int]]] = []
        self.revoked: list[list[tuple[str, int]]] = []
        self.owned: set[tuple[str, int]] = set()
        self.messages: list[tuple[int, int]] = []

    def on_assign(self, consumer, partitions):
        parts = [(p.topic, p.partition) for p in partitions]
        self.assigned.append(parts)
        if self.cooperative:
            self.owned |= set(parts)
        else:
            self.owned = set(parts)

    def on_revoke(self, consumer, partitions):
        parts = [(p.topic, p.partition) for p in partitions]
        self.revoked.append(parts)
        self.owned -= set(parts)

    def on_message(self, _consumer, msg):
        self.messages.append((msg.partition(), msg.offset()))


def subscribe(c: Consumer, topic: str, tracker: Tracker) -> None:
    c.subscribe([topic], on_assign=tracker.on_assign, on_revoke=tracker.on_revoke)


def exclusive_cover(trackers, topic: str, partitions: int) -> bool:
    """Every partition owned by exactly one member."""
    owned = [tp for t in trackers for tp in t.owned]
    return sorted(owned) == [(topic, p) for p in range(partitions)]


@pytest.mark.parametrize("assignor", ["range", "roundrobin"])
def test_eager_group_splits_partitions(gbroker, assignor):
    topic, group = unique("t"), unique("g")
    create_topic(gbroker.bootstrap, topic, 6)
    produce(gbroker.bootstrap, topic, 60, 6)
    trackers = [Tracker(f"c{i}") for i in range(3)]
    consumers = [consumer(gbroker.bootstrap, group, **{"partition.assignment.strategy": assignor}) for _ in trackers]
    subscribe(consumers[0], topic, trackers[0])
    poll_until(consumers[:1], lambda: exclusive_cover(trackers[:1], topic, 6))
    for c, t in zip(consumers[1:], trackers[1:]):
        subscribe(c, topic, t)

    def on_message(c, msg):
        trackers[consumers.index(c)].on_message(c, msg)

    poll_until(consumers, lambda: exclusive_cover(trackers, topic, 6) and all(len(t.owned) == 2 for t in trackers),
               on_message=on_message)
    # Eager: the first member revoked everything before the rebalance that brought the others in.
    assert trackers[0].revoked and set(trackers[0].revoked[0]) == {(topic, p) for p in range(6)}
    for c in consumers:
        c.close()


def test_cooperative_sticky_revokes_only_moved_partitions(gbroker):
    topic, group = unique("t"), unique("g")
    create_topic(gbroker.bootstrap, topic, 6)
    extra = {"partition.assignment.strategy": "cooperative-sticky"}
    trackers = [Tracker(f"c{i}", cooperative=True) for i in range(3)]
    consumers = [consumer(gbroker.bootstrap, group, **extra) for _ in trackers]
    subscribe(consumers[0], topic, trackers[0])
    subscribe(consumers[1], topic, trackers[1])
    poll_until(consumers[:2], lambda: exclusive_cover(trackers[:2], topic, 6) and all(len(t.owned) == 3 for t in trackers[:2]))
    before = [set(t.owned) for t in trackers[:2]]
    revoked_before = [len(t.revoked) for t in trackers[:2]]
    subscribe(consumers[2], topic, trackers[2])
    poll_until(consumers, lambda: exclusive_cover(trackers, topic, 6) and all(len(t.owned) == 2 for t in trackers))
    for i in range(2):
        revoked = {tp for r in trackers[i].revoked[revoked_before[i]:] for tp in r}
        # Only partitions that moved to the new member were revoked; the kept ones never were.
        assert revoked == before[i] - trackers[i].owned
        assert trackers[i].owned <= before[i]
    assert trackers[2].owned == (before[0] | before[1]) - trackers[0].owned - trackers[1].owned
    for c in consumers:
        c.close()


def test_member_leaving_hands_partitions_over(gbroker):
    topic, group = unique("t"), unique("g")
    create_topic(gbroker.bootstrap, topic, 4)
    trackers = [Tracker("a"), Tracker("b")]
    consumers = [consumer(gbroker.bootstrap, group) for _ in trackers]
    for c, t in zip(consumers, trackers):
        subscribe(c, topic, t)
    poll_until(consumers, lambda: exclusive_cover(trackers, topic, 4) and all(len(t.owned) == 2 for t in trackers))
    consumers[1].close()
    poll_until(consumers[:1], lambda: len(trackers[0].owned) == 4)
    consumers[0].close()


CHILD_CONSUMER = """
import sys, time
from confluent_kafka import Consumer
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2], "session.timeout.ms": 2000,
              "heartbeat.interval.ms": 300, "auto.offset.reset": "earliest"})
c.subscribe([sys.argv[3]], on_assign=lambda _c, ps: print("assigned", len(ps), flush=True))
while True:
    c.poll(0.1)
"""


def test_session_timeout_removes_killed_member(gbroker):
    import subprocess
    import sys

    topic, group = unique("t"), unique("g")
    create_topic(gbroker.bootstrap, topic, 4)
    child = subprocess.Popen([sys.executable, "-c", CHILD_CONSUMER, gbroker.bootstrap, group, topic],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().startswith("assigned")
        tracker = Tracker("a")
        c = consumer(gbroker.bootstrap, group, **{"session.timeout.ms": 2000})
        subscribe(c, topic, tracker)
        poll_until([c], lambda: len(tracker.owned) == 2)
        child.kill()  # SIGKILL: no LeaveGroup; the broker must notice the silence
        child.wait()
        killed_at = time.monotonic()
        poll_until([c], lambda: len(tracker.owned) == 4)
        assert time.monotonic() - killed_at >= 1.0
        c.close()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def test_committed_offsets_survive_restart(gbroker):
    topic, group = unique("t"), unique("g")
    create_topic(gbroker.bootstrap, topic, 2)
    produce(gbroker.bootstrap, topic, 20, 2)
    c = consumer(gbroker.bootstrap, group)
    c.subscribe([topic])
    seen = []
    poll_until([c], lambda: len(seen) >= 12, on_message=lambda _c, m: seen.append(m))
    c.commit(offsets=[TopicPartition(topic, 0, 4), TopicPartition(topic, 1, 7)], asynchronous=False)
    c.close()
    restart_broker(gbroker)
    c = consumer(gbroker.bootstrap, group)
    committed = c.committed([TopicPartition(topic, 0), TopicPartition(topic, 1)], timeout=15)
    assert [tp.offset for tp in committed] == [4, 7]
    c.subscribe([topic])
    firsts = {}
    poll_until([c], lambda: len(firsts) == 2,
               on_message=lambda _c, m: firsts.setdefault(m.partition(), m.offset()))
    assert firsts == {0: 4, 1: 7}
    c.close()


def test_hard_restart_keeps_offsets(gbroker):
    group, topic = unique("g"), unique("t")
    create_topic(gbroker.bootstrap, topic, 1)
    c = consumer(gbroker.bootstrap, group)
    c.assign([TopicPartition(topic, 0)])
    c.commit(offsets=[TopicPartition(topic, 0, 123)], asynchronous=False)
    c.close()
    restart_broker(gbroker, hard=True)
    c = consumer(gbroker.bootstrap, group)
    assert c.committed([TopicPartition(topic, 0)], timeout=15)[0].offset == 123
    c.close()


def test_static_member_restart_does_not_rebalance(gbroker):
    topic, group = unique("t"), unique("g")
    create_topic(gbroker.bootstrap, topic, 4)
    trackers = [Tracker("a"), Tracker("b")]
    # The session must outlast a member's restart (close, new client, JoinGroup), however slow the machine: if it
    # expired, the group would rebalance for a reason this test is not about.
    extra = lambda i: {"group.instance.id": f"inst-{i}", "session.timeout.ms": 45000}
    consumers = [consumer(gbroker.bootstrap, group, **extra(i)) for i in range(2)]
    for c, t in zip(consumers, trackers):
        subscribe(c, topic, t)
    poll_until(consumers, lambda: exclusive_cover(trackers, topic, 4) and all(len(t.owned) == 2 for t in trackers))
    # Restart each member in turn: one of them is the group's leader, which must not trigger a rebalance either.
    for restart, other in ((1, 0), (0, 1)):
        owned = set(trackers[restart].owned)
        assigns_other = len(trackers[other].assigned)
        revokes_other = len(trackers[other].revoked)
        consumers[restart].close()  # a static member sends no LeaveGroup
        trackers[restart] = Tracker(f"restarted-{restart}")
        consumers[restart] = consumer(gbroker.bootstrap, group, **extra(restart))
        subscribe(consumers[restart], topic, trackers[restart])
        poll_until(consumers, lambda: trackers[restart].owned == owned)
        for _ in range(20):
            for c in consumers:
                c.poll(0.05)
        assert len(trackers[other].assigned) == assigns_other, "the other member saw a rebalance"
        assert len(trackers[other].revoked) == revokes_other
    for c in consumers:
        c.close()


def test_admin_lists_describes_and_deletes_groups(gbroker):
    topic, group = unique("t"), unique("g")
    create_topic(gbroker.bootstrap, topic, 2)
    c = consumer(gbroker.bootstrap, group)
    t = Tracker("a")
    subscribe(c, topic, t)
    poll_until([c], lambda: len(t.owned) == 2)
    admin = AdminClient({"bootstrap.servers": gbroker.bootstrap})
    listed = admin.list_consumer_groups().result(10)
    assert group in [g.group_id for g in listed.valid]
    described = admin.describe_consumer_groups([group])[group].result(10)
    assert str(described.state).endswith("STABLE")
    assert len(described.members) == 1
    assert {(p.topic, p.partition) for p in described.members[0].assignment.topic_partitions} == t.owned
    c.commit(offsets=[TopicPartition(topic, 0, 1)], asynchronous=False)
    c.close()
    # The member's LeaveGroup empties the group; DeleteGroups needs it empty, so wait for that rather than assume it.
    wait_until(lambda: not admin.describe_consumer_groups([group])[group].result(10).members, GENEROUS_S,
               "the closed member is still in the group")
    offsets = admin.list_consumer_group_offsets([__import__("confluent_kafka").ConsumerGroupTopicPartitions(group)])[group].result(10)
    assert [(tp.partition, tp.offset) for tp in offsets.topic_partitions] == [(0, 1)]
    admin.delete_consumer_groups([group])[group].result(10)
    listed = admin.list_consumer_groups().result(10)
    assert group not in [g.group_id for g in listed.valid]


def test_kafka_python_group_consumer(gbroker):
    from kafka import KafkaConsumer
    from kafka import TopicPartition as KTP

    topic, group = unique("t"), unique("g")
    create_topic(gbroker.bootstrap, topic, 3)
    produce(gbroker.bootstrap, topic, 30, 3)
    c = KafkaConsumer(topic, bootstrap_servers=gbroker.bootstrap, group_id=group, auto_offset_reset="earliest",
                      enable_auto_commit=False, session_timeout_ms=6000, heartbeat_interval_ms=500,
                      consumer_timeout_ms=int(GENEROUS_S * 1000))  # stops iterating after this long without a record
    values = []
    for msg in c:
        values.append(msg.value)
        if len(values) == 30:
            break
    assert sorted(values) == sorted(f"v{i}".encode() for i in range(30))
    c.commit()
    assert c.committed(KTP(topic, 0)) == 10
    c.close()


def test_aiokafka_group_consumer(gbroker):
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition as ATP

    topic, group = unique("t"), unique("g")
    create_topic(gbroker.bootstrap, topic, 3)
    produce(gbroker.bootstrap, topic, 30, 3)

    async def run():
        c = AIOKafkaConsumer(topic, bootstrap_servers=gbroker.bootstrap, group_id=group,
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             session_timeout_ms=6000, heartbeat_interval_ms=500)
        await c.start()
        try:
            values = []
            deadline = time.monotonic() + GENEROUS_S
            while len(values) < 30:
                assert time.monotonic() < deadline, f"aiokafka read {len(values)} of 30 records"
                batch = await asyncio.wait_for(c.getmany(timeout_ms=500), GENEROUS_S)
                for msgs in batch.values():
                    values += [m.value for m in msgs]
            await c.commit()
            assert await c.committed(ATP(topic, 1)) == 10
        finally:
            await c.stop()

    asyncio.run(run())


def test_consumer_offsets_topic_is_internal_and_compacted(gbroker):
    from confluent_kafka.admin import ConfigResource

    group = unique("g")
    c = consumer(gbroker.bootstrap, group)
    c.assign([TopicPartition(unique("t"), 0)])
    c.committed([TopicPartition("x", 0)], timeout=10)  # FindCoordinator creates __consumer_offsets
    c.close()
    admin = AdminClient({"bootstrap.servers": gbroker.bootstrap})
    topics = admin.list_topics(timeout=10).topics
    assert "__consumer_offsets" in topics
    assert len(topics["__consumer_offsets"].partitions) == 5
    resource = ConfigResource(ConfigResource.Type.TOPIC, "__consumer_offsets")
    configs = admin.describe_configs([resource])[resource].result(10)
    assert configs["cleanup.policy"].value == "compact"
    assert configs["segment.bytes"].value == str(100 * 1024 * 1024)


def test_manual_commit_then_consumer_restart_resumes_after_last_commit(gbroker):
    # A consumer commits each record after processing it, stops (close without committing) after 7, and a new
    # consumer of the group starts exactly at offset 7: nothing skipped, nothing read twice.
    topic, group = unique("t"), unique("g")
    create_topic(gbroker.bootstrap, topic, 1)
    produce(gbroker.bootstrap, topic, 20, 1)
    c = consumer(gbroker.bootstrap, group)
    c.subscribe([topic])
    processed = []

    def process(c, msg):
        if len(processed) < 7:
            processed.append(msg.offset())
            c.commit(message=msg, asynchronous=False)

    poll_until([c], lambda: len(processed) >= 7, on_message=process)
    c.close()
    c = consumer(gbroker.bootstrap, group)
    assert c.committed([TopicPartition(topic, 0)], timeout=10)[0].offset == 7
    c.subscribe([topic])
    resumed = []
    poll_until([c], lambda: len(resumed) >= 13, on_message=lambda _c, m: resumed.append(m.offset()))
    assert processed + resumed == list(range(20))
    c.close()


def test_auto_commit_commits_on_the_interval(gbroker):
    # With enable.auto.commit and a 1 s interval, what the consumer read is committed while it keeps running —
    # no explicit commit, no close — and again for records read later.
    topic, group = unique("t"), unique("g")
    create_topic(gbroker.bootstrap, topic, 2)
    c = consumer(gbroker.bootstrap, group, **{"enable.auto.commit": True, "auto.commit.interval.ms": 1000})
    c.subscribe([topic])
    parts = [TopicPartition(topic, p) for p in range(2)]
    for total in (10, 20):
        produce(gbroker.bootstrap, topic, 10, 2)
        seen = []
        poll_until([c], lambda: len(seen) >= 10, on_message=lambda _c, m: seen.append(m))
        expected = [total // 2, total // 2]
        # The interval is 1 s; the deadline is generous because a loaded machine delays the commit, not because
        # the commit may take that long. Without auto-commit nothing would ever be committed here.
        deadline = time.monotonic() + 30
        while [tp.offset for tp in c.committed(parts, timeout=10)] != expected:
            assert time.monotonic() < deadline, "auto-commit did not commit within 30 s (interval 1 s)"
            c.poll(0.2)
    c.close()


def test_two_groups_reading_one_topic_do_not_affect_each_other(gbroker):
    # Group A (two members) and group B (one member) read the same topic: each group reads every record, A's
    # rebalance never revokes B's partitions, and each group's commits are its own.
    topic, group_a, group_b = unique("t"), unique("ga"), unique("gb")
    create_topic(gbroker.bootstrap, topic, 4)
    produce(gbroker.bootstrap, topic, 40, 4)
    tracker_a1, tracker_b = Tracker("a1"), Tracker("b")
    a1, b = consumer(gbroker.bootstrap, group_a), consumer(gbroker.bootstrap, group_b)
    subscribe(a1, topic, tracker_a1)
    subscribe(b, topic, tracker_b)
    read = {a1: [], b: []}
    poll_until([a1, b], lambda: len(read[a1]) >= 40 and len(read[b]) >= 40,
               on_message=lambda c, m: read[c].append((m.partition(), m.offset())))
    assert sorted(read[a1]) == sorted(read[b]) == sorted((p, o) for p in range(4) for o in range(10))
    # A second member joins A: A rebalances, B keeps its one assignment.
    tracker_a2 = Tracker("a2")
    a2 = consumer(gbroker.bootstrap, group_a)
    subscribe(a2, topic, tracker_a2)
    poll_until([a1, a2, b], lambda: exclusive_cover([tracker_a1, tracker_a2], topic, 4)
               and len(tracker_a2.owned) == 2)
    assert len(tracker_b.assigned) == 1 and not tracker_b.revoked
    assert tracker_b.owned == {(topic, p) for p in range(4)}
    # Commits: A commits 3 on partition 0, B commits 9; neither sees the other's.
    a1.commit(offsets=[TopicPartition(topic, 0, 3)], asynchronous=False)
    b.commit(offsets=[TopicPartition(topic, 0, 9)], asynchronous=False)
    assert a2.committed([TopicPartition(topic, 0)], timeout=10)[0].offset == 3
    assert b.committed([TopicPartition(topic, 0)], timeout=10)[0].offset == 9
    for c in (a1, a2, b):
        c.close()


CHILD_PROCESSOR = """
import sys
from confluent_kafka import Consumer
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2], "session.timeout.ms": 3000,
              "heartbeat.interval.ms": 300, "auto.offset.reset": "earliest", "enable.auto.commit": False})
c.subscribe([sys.argv[3]], on_assign=lambda _c, ps: print("assigned", " ".join(str(p.partition) for p in ps), flush=True))
while True:
    m = c.poll(0.1)
    if m is None or m.error():
        continue
    print("msg", m.partition(), m.offset(), flush=True)
    c.commit(message=m, asynchronous=False)  # at-least-once: commit after processing
    print("commit", m.partition(), m.offset() + 1, flush=True)
"""


def test_three_members_one_killed_nothing_lost(gbroker):
    """Item 7 of the groups issue: three members on six partitions get two each; one is SIGKILLed mid-stream;
    the other two take its partitions after the session timeout; every record is read, and the only records
    read twice are those of the killed member's partitions at or after its last commit (at-least-once)."""
    import subprocess
    import sys

    topic, group = unique("t"), unique("g")
    create_topic(gbroker.bootstrap, topic, 6)
    child = subprocess.Popen([sys.executable, "-c", CHILD_PROCESSOR, gbroker.bootstrap, group, topic],
                             stdout=subprocess.PIPE, text=True)
    child_lines: list[str] = []
    reader = threading.Thread(target=lambda: child_lines.extend(iter(child.stdout.readline, "")), daemon=True)
    reader.start()
    trackers = [Tracker("a"), Tracker("b")]
    consumers = [consumer(gbroker.bootstrap, group, **{"session.timeout.ms": 3000}) for _ in trackers]
    seen: list[tuple[int, int]] = []

    def process(c, msg):
        seen.append((msg.partition(), msg.offset()))
        c.commit(message=msg, asynchronous=False)

    try:
        for c, t in zip(consumers, trackers):
            subscribe(c, topic, t)

        def child_owned() -> set[int]:
            assigned = [line.split()[1:] for line in list(child_lines) if line.startswith("assigned")]
            return {int(p) for p in assigned[-1]} if assigned else set()

        poll_until(consumers, lambda: all(len(t.owned) == 2 for t in trackers) and len(child_owned()) == 2,
                   on_message=process)
        killed_partitions = child_owned()
        assert killed_partitions.isdisjoint({p for t in trackers for _, p in t.owned})
        produce(gbroker.bootstrap, topic, 600, 6)
        child_msgs = lambda: [line for line in list(child_lines) if line.startswith("msg")]
        poll_until(consumers, lambda: len(child_msgs()) >= 40, on_message=process)
        child.kill()  # SIGKILL: no LeaveGroup, no last commit
        child.wait()
        killed_at = time.monotonic()
        produce(gbroker.bootstrap, topic, 300, 6)
        poll_until(consumers, lambda: len({p for t in trackers for _, p in t.owned}) == 6, on_message=process)
        assert time.monotonic() - killed_at >= 1.0, "partitions moved before the session timeout"
        read_by_child = [tuple(map(int, line.split()[1:])) for line in child_lines if line.startswith("msg")]
        everything = {(p, o) for p in range(6) for o in range(150)}
        poll_until(consumers, lambda: set(seen) | set(read_by_child) >= everything, on_message=process)
        assert set(seen) | set(read_by_child) == everything
        last_commit: dict[int, int] = {}
        for line in child_lines:
            if line.startswith("commit"):
                _, p, o = line.split()
                last_commit[int(p)] = int(o)
        counts: dict[tuple[int, int], int] = {}
        for key in seen + read_by_child:
            counts[key] = counts.get(key, 0) + 1
        for (p, o), n in counts.items():
            if n > 1:
                assert p in killed_partitions and o >= last_commit.get(p, 0), f"record {p}/{o} read {n} times"
    finally:
        for c in consumers:
            c.close()
        if child.poll() is None:
            child.kill()
            child.wait()
