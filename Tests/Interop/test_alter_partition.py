"""AlterPartition (API 56, KIP-497) on a real quorum, over the wire (issue 13 item 2, the controller's side): three
combined nodes, a topic with one partition on all three (ISR [leader, a, b]). Acting as the partition's leader (its
node id and broker epoch, read from its log), the test asks the active controller's listener to shrink the ISR, then
to expand it again, with Kafka's request v3 (ISR members with broker epochs) and v2 (plain ISR):

- an accepted change answers the new ISR, the same leader and leader epoch and partition epoch + 1, and every
  node's Metadata then reports that ISR (the PartitionChangeRecord was committed and replayed everywhere);
- a request at the old partition epoch: INVALID_UPDATE_VERSION; at an older leader epoch: FENCED_LEADER_EPOCH; from
  a follower: INVALID_REQUEST; with a member's wrong broker epoch: INELIGIBLE_REPLICA; from a broker epoch that is
  not the sender's: STALE_BROKER_EPOCH — and none of them changes the ISR;
- a node that is not the active controller answers NOT_CONTROLLER.

The replication issue's partition leaders will send these requests themselves; this proves the controller's half
with the bytes Kafka's brokers send."""

from __future__ import annotations

import re
import socket
import struct
import time

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

    # Shrink to [2, 3]: accepted, partition epoch 0 → 1, leader and leader epoch unchanged; every node sees it.
    shrunk = ask(isr=(2, 3))
    assert (shrunk["error"], shrunk["code"]) == (NONE, NONE), shrunk
    assert (shrunk["leader"], shrunk["leader_epoch"], shrunk["isr"], shrunk["partition_epoch"]) == (2, 0, [2, 3], 1)
    wait_until(lambda: isr_everywhere(cluster) == [[2, 3]] * 3, STEP_S, lambda: f"{isr_everywhere(cluster)}")

    # Refusals, none of which changes anything.
    assert ask(isr=(2,), partition_epoch=0)["code"] == INVALID_UPDATE_VERSION  # the change above came first
    assert ask(isr=(2,), partition_epoch=1, leader_epoch=-1)["code"] == FENCED_LEADER_EPOCH
    assert ask(broker=3, isr=(2, 3), partition_epoch=1)["code"] == INVALID_REQUEST  # a follower
    assert ask(isr=(2, 3, 1), partition_epoch=1, member_epochs={**epochs, 1: epochs[1] + 1000})["code"] \
        == INELIGIBLE_REPLICA
    assert ask(isr=(2,), partition_epoch=1, epoch=epochs[leader] + 1000)["error"] == STALE_BROKER_EPOCH
    other = next(i for i in (1, 2, 3) if i != active)
    assert ask(isr=(2,), partition_epoch=1, port=cluster.controller_ports[other - 1])["error"] == NOT_CONTROLLER
    time.sleep(1)  # anything wrongly committed would have been replayed by now
    assert isr_everywhere(cluster) == [[2, 3]] * 3

    # Expand back with v2 (no member epochs): accepted at partition epoch 1 → 2.
    expanded = ask(version=2, isr=(2, 3, 1), partition_epoch=1)
    assert (expanded["error"], expanded["code"], expanded["isr"], expanded["partition_epoch"]) == \
        (NONE, NONE, [2, 3, 1], 2), expanded
    wait_until(lambda: isr_everywhere(cluster) == [[1, 2, 3]] * 3, STEP_S, lambda: f"{isr_everywhere(cluster)}")
