"""AlterPartition (API 56, KIP-497) on a real quorum, over the wire (issue 13 item 2, the controller's side): three
combined nodes, a topic with one partition on all three (ISR [leader, a, b]). Acting as the partition's leader (its
node id and broker epoch, read from its log), the test asks the active controller's listener to change the ISR with
Kafka's request v3 (ISR members with broker epochs) and v2 (plain ISR):

- an accepted change answers the new ISR, the same leader and leader epoch and the next partition epoch;
- a request at an old partition epoch: INVALID_UPDATE_VERSION; at an older leader epoch: FENCED_LEADER_EPOCH; from
  a follower: INVALID_REQUEST; with a member's wrong broker epoch: INELIGIBLE_REPLICA; from a broker epoch that is
  not the sender's: STALE_BROKER_EPOCH;
- a node that is not the active controller answers NOT_CONTROLLER;
- the partition's real leader (broker 2, replicating) sees its caught-up follower outside the ISR and asks for it
  back with its own AlterPartition: every node's Metadata reports [1, 2, 3] again."""

from __future__ import annotations

import re
import socket
import struct

import pytest
from confluent_kafka import TopicCollection
from confluent_kafka.admin import AdminClient, NewTopic

from test_kraft_cluster import _ModuleRequest, quorum_leader_id
from test_kraft_quorum import STEP_S, Cluster
from waiting import wait_for, wait_until

TOPIC = "isr-changes"
API_KEY = 56
NONE, FENCED_LEADER_EPOCH, INVALID_REQUEST, NOT_CONTROLLER = 0, 74, 42, 41
STALE_BROKER_EPOCH, INVALID_UPDATE_VERSION, INELIGIBLE_REPLICA = 77, 95, 107
BROKER_EPOCH = re.compile(r"broker\.epoch=(\d+) \[FjordBroker\] registered with the controller")


@pytest.fixture(scope="module")
def cluster(request, tmp_path_factory):
    c = Cluster(_ModuleRequest(request), tmp_path_factory.mktemp("alter-partition"))
    try:
        yield c
    finally:
        c.stop()


# --- AlterPartition on the wire (flexible versions: compact arrays, tagged fields) ---------------------------------

def uvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def compact_array(items: list[bytes]) -> bytes:
    return uvarint(len(items) + 1) + b"".join(items)


NO_TAGS = b"\x00"


def alter_partition_request(version: int, broker: int, broker_epoch: int, topic_id: bytes, leader_epoch: int,
                            partition_epoch: int, isr: list[tuple[int, int]]) -> bytes:
    """The body of an AlterPartition v2 or v3 for partition 0 of `topic_id`; `isr` is (broker id, broker epoch)."""
    if version >= 3:
        members = compact_array([struct.pack(">iq", b, e) + NO_TAGS for b, e in isr])
    else:
        members = compact_array([struct.pack(">i", b) for b, _ in isr])
    partition = struct.pack(">ii", 0, leader_epoch) + members + struct.pack(">bi", 0, partition_epoch) + NO_TAGS
    topic = topic_id + compact_array([partition]) + NO_TAGS
    return struct.pack(">iq", broker, broker_epoch) + compact_array([topic]) + NO_TAGS


class Reader:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def take(self, fmt: str):
        values = struct.unpack_from(fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return values if len(values) > 1 else values[0]

    def uvarint(self) -> int:
        shift = value = 0
        while True:
            byte = self.data[self.at]
            self.at += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7

    def skip_tags(self) -> None:
        for _ in range(self.uvarint()):
            self.uvarint()
            self.at += self.uvarint()


def call(port: int, version: int, body: bytes) -> dict:
    """Sends one AlterPartition and decodes the answer: top-level error and partition 0's fields."""
    client_id = b"fjord-alter-partition"
    header = struct.pack(">hhih", API_KEY, version, 7, len(client_id)) + client_id + NO_TAGS
    frame = header + body
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(struct.pack(">i", len(frame)) + frame)
        data = b""
        while len(data) < 4 or len(data) < 4 + struct.unpack(">i", data[:4])[0]:
            chunk = sock.recv(65536)
            assert chunk, "the connection closed without an answer"
            data += chunk
    r = Reader(data[4:])
    assert r.take(">i") == 7
    r.skip_tags()
    _throttle, error = r.take(">ih")
    answer = {"error": error}
    for _ in range(r.uvarint() - 1):
        r.at += 16  # topic id
        for _ in range(r.uvarint() - 1):
            index, code, leader, leader_epoch = r.take(">ihii")
            isr = [r.take(">i") for _ in range(r.uvarint() - 1)]
            _recovery, partition_epoch = r.take(">bi")
            r.skip_tags()
            answer.update(partition=index, code=code, leader=leader, leader_epoch=leader_epoch, isr=isr,
                          partition_epoch=partition_epoch)
        r.skip_tags()
    return answer


# --- the cluster as the test sees it --------------------------------------------------------------------------------

def broker_epoch(cluster: Cluster, node_id: int) -> int:
    found = BROKER_EPOCH.findall(cluster.nodes[node_id - 1].log_path.read_text(errors="replace"))
    assert found, f"node {node_id} logged no registration"
    return int(found[-1])


def isr_everywhere(cluster: Cluster) -> list[list[int]]:
    """Partition 0's ISR as each node's Metadata reports it."""
    isrs = []
    for node in cluster.nodes:
        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{node.port}"})
        isrs.append(sorted(admin.list_topics(TOPIC, timeout=10).topics[TOPIC].partitions[0].isrs))
    return isrs


def test_the_active_controller_changes_the_isr_at_its_leaders_request_and_refuses_what_kafka_refuses(cluster):
    bootstrap = f"127.0.0.1:{cluster.nodes[0].port}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    wait_until(lambda: len(admin.list_topics(timeout=10).brokers) == 3, STEP_S, "three brokers not registered")
    admin.create_topics([NewTopic(TOPIC, 1, replica_assignment=[[2, 3, 1]])])[TOPIC].result(timeout=30)
    wait_until(lambda: isr_everywhere(cluster) == [[1, 2, 3]] * 3, STEP_S, lambda: f"{isr_everywhere(cluster)}")
    uuid = admin.describe_topics(TopicCollection([TOPIC]))[TOPIC].result(timeout=30).topic_id
    topic_id = struct.pack(">qq", uuid.get_most_significant_bits(), uuid.get_least_significant_bits())
    active = wait_for(lambda: quorum_leader_id(cluster), STEP_S, "no active controller")
    controller_port = cluster.controller_ports[active - 1]
    epochs = {i: broker_epoch(cluster, i) for i in (1, 2, 3)}
    leader = 2

    def ask(version=3, broker=leader, epoch=None, leader_epoch=0, partition_epoch=0, isr=(2, 3), member_epochs=None,
            port=controller_port):
        members = [(b, (member_epochs or epochs)[b]) for b in isr]
        body = alter_partition_request(version, broker, epochs[broker] if epoch is None else epoch, topic_id,
                                       leader_epoch, partition_epoch, members)
        return call(port, version, body)

    def current_partition_epoch(start: int) -> int:
        """The partition epoch now (the live leader changes the ISR too): the lowest from `start` that a request
        with an invalid ISR is checked at — older ones are refused with INVALID_UPDATE_VERSION first."""
        for p in range(start, start + 50):
            if ask(isr=(3,), partition_epoch=p)["code"] != INVALID_UPDATE_VERSION:  # (3,): without the leader
                return p
        raise AssertionError("no partition epoch found")

    # Shrink to [2, 3]: accepted, partition epoch 0 → 1, leader and leader epoch unchanged.
    shrunk = ask(isr=(2, 3))
    assert (shrunk["error"], shrunk["code"]) == (NONE, NONE), shrunk
    assert (shrunk["leader"], shrunk["leader_epoch"], shrunk["isr"], shrunk["partition_epoch"]) == (2, 0, [2, 3], 1)

    # Refusals, none of which changes anything. (Broker 2 is the partition's live leader: seeing broker 1 caught up,
    # it asks for [1, 2, 3] again by itself — so the partition epoch may move on while these run.)
    assert ask(isr=(2,), partition_epoch=0)["code"] == INVALID_UPDATE_VERSION  # the change above came first
    assert ask(isr=(2,), partition_epoch=1, leader_epoch=-1)["code"] == FENCED_LEADER_EPOCH
    assert ask(broker=3, isr=(2, 3), partition_epoch=1)["code"] == INVALID_REQUEST  # a follower
    assert ask(isr=(2, 3, 1), partition_epoch=current_partition_epoch(1),
               member_epochs={**epochs, 1: epochs[1] + 1000})["code"] in (INELIGIBLE_REPLICA, INVALID_UPDATE_VERSION)
    assert ask(isr=(2,), partition_epoch=1, epoch=epochs[leader] + 1000)["error"] == STALE_BROKER_EPOCH
    other = next(i for i in (1, 2, 3) if i != active)
    assert ask(isr=(2,), partition_epoch=1, port=cluster.controller_ports[other - 1])["error"] == NOT_CONTROLLER

    # The leader's own AlterPartition: broker 1 is caught up, so the ISR is [1, 2, 3] again everywhere.
    wait_until(lambda: isr_everywhere(cluster) == [[1, 2, 3]] * 3, STEP_S, lambda: f"{isr_everywhere(cluster)}")

    # A v2 request (no member epochs) at the current partition epoch is accepted the same way.
    epoch_now = current_partition_epoch(2)
    shrunk_v2 = ask(version=2, isr=(2, 3), partition_epoch=epoch_now)
    assert (shrunk_v2["error"], shrunk_v2["code"], shrunk_v2["isr"], shrunk_v2["partition_epoch"]) == \
        (NONE, NONE, [2, 3], epoch_now + 1), shrunk_v2
    wait_until(lambda: isr_everywhere(cluster) == [[1, 2, 3]] * 3, STEP_S, lambda: f"{isr_everywhere(cluster)}")
