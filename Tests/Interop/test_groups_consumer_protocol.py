"""The KIP-848 consumer group protocol (`group.protocol=consumer`) with librdkafka (confluent-kafka): server-side
assignment with incremental reconciliation, members leaving and expiring, regular-expression subscriptions,
static members, commits with member epochs, the group surviving a broker restart, and classic and consumer
groups side by side.

The broker runs with a short consumer heartbeat interval and session timeout so each test takes seconds."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, ConsumerGroupType, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from conftest import restart_broker, running_fjord
from test_groups import Tracker, create_topic, exclusive_cover, poll_until, produce, unique
from waiting import GENEROUS_S, wait_until

OVERRIDES = {
    "group.initial.rebalance.delay.ms": "0",
    "group.min.session.timeout.ms": "1000",
    "group.consumer.heartbeat.interval.ms": "300",
    "group.consumer.session.timeout.ms": "4000",
    "offsets.topic.num.partitions": "5",
}


@pytest.fixture
def cbroker(request, tmp_path):
    with running_fjord(request, tmp_path, OVERRIDES) as b:
        yield b


def new_consumer(bootstrap: str, group: str, **extra) -> Consumer:
    return Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "group.protocol": "consumer",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        **extra,
    })


def join(c: Consumer, topics, tracker: Tracker) -> None:
    # The consumer protocol is incremental: callbacks name only the partitions added or removed.
    tracker.cooperative = True
    c.subscribe(topics, on_assign=tracker.on_assign, on_revoke=tracker.on_revoke)


def test_two_members_split_partitions_and_take_over_on_leave(cbroker):
    topic, group = unique("cg"), unique("g")
    create_topic(cbroker.bootstrap, topic, 6)
    produce(cbroker.bootstrap, topic, 600, 6)
    a, b = Tracker("a"), Tracker("b")
    ca, cb = new_consumer(cbroker.bootstrap, group), new_consumer(cbroker.bootstrap, group)
    join(ca, [topic], a)
    join(cb, [topic], b)
    seen: set[tuple[int, int]] = set()

    def record(_c, msg):
        seen.add((msg.partition(), msg.offset()))

    try:
        poll_until([ca, cb], lambda: len(a.owned) == 3 and len(b.owned) == 3 and exclusive_cover([a, b], topic, 6),
                   on_message=record)
        poll_until([ca, cb], lambda: len(seen) == 600, on_message=record)
        ca.commit(asynchronous=False)
        cb.commit(asynchronous=False)
        # b leaves (epoch -1): a gets all six after it reconciles.
        cb.close()
        poll_until([ca], lambda: len(a.owned) == 6)
        committed = ca.committed([TopicPartition(topic, p) for p in range(6)], timeout=10)
        assert sum(tp.offset for tp in committed) == 600
    finally:
        ca.close()


CHILD_CONSUMER = """
import sys
from confluent_kafka import Consumer
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2], "group.protocol": "consumer",
              "auto.offset.reset": "earliest"})
c.subscribe([sys.argv[3]], on_assign=lambda _c, ps: print("assigned", len(ps), flush=True))
while True:
    c.poll(0.1)
"""


def test_killed_member_expires_and_partitions_move(cbroker):
    import subprocess
    import sys

    topic, group = unique("cg"), unique("g")
    create_topic(cbroker.bootstrap, topic, 4)
    child = subprocess.Popen([sys.executable, "-c", CHILD_CONSUMER, cbroker.bootstrap, group, topic],
                             stdout=subprocess.PIPE, text=True)
    a = Tracker("a")
    ca = new_consumer(cbroker.bootstrap, group)
    try:
        assert child.stdout.readline().startswith("assigned")
        join(ca, [topic], a)
        poll_until([ca], lambda: len(a.owned) == 2)
        child.kill()  # SIGKILL: no leave heartbeat; the coordinator must notice the silence
        child.wait()
        killed_at = time.monotonic()
        poll_until([ca], lambda: len(a.owned) == 4)
        assert time.monotonic() - killed_at >= 2.0, "partitions moved before the session timeout"
    finally:
        ca.close()
        if child.poll() is None:
            child.kill()
            child.wait()


def test_regex_subscription_follows_matching_topics(cbroker):
    prefix = unique("rx")
    create_topic(cbroker.bootstrap, f"{prefix}-a", 2)
    create_topic(cbroker.bootstrap, f"{prefix}-b", 1)
    create_topic(cbroker.bootstrap, f"other-{prefix}", 3)
    t = Tracker("t")
    c = new_consumer(cbroker.bootstrap, unique("g"))
    join(c, [f"^{prefix}-.*"], t)
    try:
        poll_until([c], lambda: len(t.owned) == 3)
        assert t.owned == {(f"{prefix}-a", 0), (f"{prefix}-a", 1), (f"{prefix}-b", 0)}
        # A new matching topic is picked up without resubscribing.
        create_topic(cbroker.bootstrap, f"{prefix}-c", 2)
        poll_until([c], lambda: len(t.owned) == 5)
    finally:
        c.close()


@pytest.fixture
def long_session_broker(request, tmp_path):
    """OVERRIDES with a 45 s member session: a static member's restart (close, new client, first heartbeat) must
    fit in the session however slow the machine, or the group rebalances for a reason the test is not about."""
    with running_fjord(request, tmp_path, {**OVERRIDES, "group.consumer.session.timeout.ms": "45000"}) as b:
        yield b


def test_static_member_restart_keeps_assignment_without_rebalance(long_session_broker):
    cbroker = long_session_broker
    topic, group = unique("cg"), unique("g")
    create_topic(cbroker.bootstrap, topic, 4)
    a, b = Tracker("a"), Tracker("b")
    ca = new_consumer(cbroker.bootstrap, group, **{"group.instance.id": "static-a"})
    cb = new_consumer(cbroker.bootstrap, group, **{"group.instance.id": "static-b"})
    join(ca, [topic], a)
    join(cb, [topic], b)
    try:
        poll_until([ca, cb], lambda: len(a.owned) == 2 and len(b.owned) == 2)
        before = set(b.owned)
        a_events = (len(a.assigned), len(a.revoked))
        cb.close()  # a static member leaves with epoch -2: it keeps its place for the session timeout
        b2 = Tracker("b2")
        cb = new_consumer(cbroker.bootstrap, group, **{"group.instance.id": "static-b"})
        join(cb, [topic], b2)
        poll_until([ca, cb], lambda: len(b2.owned) == 2)
        assert b2.owned == before
        # a saw no revocation or new assignment: there was no rebalance. (Polls both for 2 s so that a rebalance
        # would show; poll_until with an always-true predicate returned after a single round of polls.)
        quiet_until = time.monotonic() + 2
        while time.monotonic() < quiet_until:
            for c in (ca, cb):
                c.poll(0.05)
        assert (len(a.assigned), len(a.revoked)) == a_events
    finally:
        ca.close()
        cb.close()


def test_group_and_offsets_survive_broker_restart(cbroker):
    topic, group = unique("cg"), unique("g")
    create_topic(cbroker.bootstrap, topic, 3)
    produce(cbroker.bootstrap, topic, 90, 3)
    t = Tracker("t")
    c = new_consumer(cbroker.bootstrap, group)
    join(c, [topic], t)
    count = 0

    def read(_c, _msg):
        nonlocal count
        count += 1

    poll_until([c], lambda: count == 60, on_message=read)
    c.commit(asynchronous=False)
    # A partition that was never read has no commit (offset -1001).
    position = sum(max(tp.offset, 0) for tp in c.committed([TopicPartition(topic, p) for p in range(3)], timeout=10))
    c.close()
    restart_broker(cbroker, hard=True)
    admin = AdminClient({"bootstrap.servers": cbroker.bootstrap})
    listed = admin.list_consumer_groups().result(15)
    kinds = {g.group_id: g.type for g in listed.valid}
    assert kinds.get(group) == ConsumerGroupType.CONSUMER
    t2 = Tracker("t2")
    c2 = new_consumer(cbroker.bootstrap, group)
    join(c2, [topic], t2)
    rest: list[int] = []
    try:
        poll_until([c2], lambda: len(rest) == 90 - position,
                   on_message=lambda _c, m: rest.append(m.offset()))
        assert len(rest) == 90 - position
    finally:
        c2.close()


def test_classic_and_consumer_groups_coexist(cbroker):
    topic = unique("cg")
    create_topic(cbroker.bootstrap, topic, 2)
    produce(cbroker.bootstrap, topic, 20, 2)
    classic_group, consumer_group = unique("classic"), unique("consumer")
    got = {classic_group: 0, consumer_group: 0}
    cc = Consumer({"bootstrap.servers": cbroker.bootstrap, "group.id": classic_group, "auto.offset.reset": "earliest",
                   "enable.auto.commit": False, "session.timeout.ms": 6000})
    cn = new_consumer(cbroker.bootstrap, consumer_group)
    cc.subscribe([topic])
    cn.subscribe([topic])

    def count(c, _msg):
        got[classic_group if c is cc else consumer_group] += 1

    try:
        poll_until([cc, cn], lambda: got[classic_group] == 20 and got[consumer_group] == 20, on_message=count)
        cc.commit(asynchronous=False)
        cn.commit(asynchronous=False)
        admin = AdminClient({"bootstrap.servers": cbroker.bootstrap})
        kinds = {g.group_id: g.type for g in admin.list_consumer_groups().result(15).valid}
        assert kinds[classic_group] == ConsumerGroupType.CLASSIC
        assert kinds[consumer_group] == ConsumerGroupType.CONSUMER
        described = admin.describe_consumer_groups([consumer_group])[consumer_group].result(15)
        assert len(described.members) == 1
        assert {tp.partition for tp in described.members[0].assignment.topic_partitions} == {0, 1}
    finally:
        cc.close()
        cn.close()


def test_delete_refuses_active_consumer_group(cbroker):
    topic, group = unique("cg"), unique("g")
    create_topic(cbroker.bootstrap, topic, 1)
    t = Tracker("t")
    c = new_consumer(cbroker.bootstrap, group)
    join(c, [topic], t)
    admin = AdminClient({"bootstrap.servers": cbroker.bootstrap})
    try:
        poll_until([c], lambda: len(t.owned) == 1)
        with pytest.raises(KafkaException) as failure:
            admin.delete_consumer_groups([group])[group].result(15)
        assert failure.value.args[0].code() == 68  # NON_EMPTY_GROUP
    finally:
        c.close()
    # The leave heartbeat empties the group; DeleteGroups needs it empty, so wait for that rather than assume it.
    wait_until(lambda: not admin.describe_consumer_groups([group])[group].result(15).members, GENEROUS_S,
               "the closed member is still in the group")
    admin.delete_consumer_groups([group])[group].result(15)
    kinds = {g.group_id for g in admin.list_consumer_groups().result(15).valid}
    assert group not in kinds
