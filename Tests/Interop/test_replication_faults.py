"""Nothing acknowledged is lost, proven with real processes (issue 13, item 8): three combined KRaft nodes, a topic
with replication factor 3 and `min.insync.replicas=2`, and an idempotent `acks=all` producer writing numbered
records without pause while the test, one fault after another,

1. kills the partition leader with SIGKILL and restarts it;
2. stops the leader with SIGSTOP past its broker session, then resumes it;
3. cuts the leader off from the other nodes while clients can still reach it: its controller links go through
   tools/fault_proxy.py's proxy, and its replication listener (`inter.broker.listener.name=REPLICATION`) is
   advertised behind a gate the test closes — while a consumer connected to it alone reads what it serves;
4. restarts the three nodes one by one (SIGTERM: controlled shutdown, then start);
5. kills the active controller.

Between faults the test waits for the producer to be acknowledged again and for the ISR to be whole. Afterwards:
every acknowledged record is in the partition exactly once, at the offset its acknowledgement gave, in the order
produced, for read_committed and read_uncommitted consumers; everything the isolated leader's consumer saw is in
that history (nothing written only to the isolated minority was visible); and the three replicas' logs, stopped and
dumped with `fjord log dump`, hold identical batches below the high watermark.

Not proven here yet (issue 13 continues): consumer groups' committed offsets across the faults (the internal topics
are not replicated yet, item 6) and the acks=1 loss measurement."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import fjord_bin, free_port
from test_kraft_cluster import partition_leaders, quorum_leader_id
from test_kraft_faults import ProxiedCluster
from test_kraft_quorum import STEP_S
from tools.fault_proxy import Gate
from waiting import wait_for, wait_until

TOPIC = "durable"
SESSION_MS = 3000
RATE = 100  # records per second


class FaultCluster(ProxiedCluster):
    """ProxiedCluster whose nodes replicate over a REPLICATION listener advertised behind a `Gate` per node."""

    gates: list[Gate]

    def link_controllers(self) -> None:
        super().link_controllers()
        self.replication_ports = [free_port() for _ in range(3)]
        self.gates = [Gate(port) for port in self.replication_ports]

    def _format(self, i: int, cluster_id: str, extra: list[str]) -> Path:
        return super()._format(i, cluster_id, extra + [
            f"listeners=CONTROLLER://127.0.0.1:{self.controller_ports[i]},PLAINTEXT://127.0.0.1:{self.ports[i]},"
            f"REPLICATION://127.0.0.1:{self.replication_ports[i]}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.ports[i]},"
            f"REPLICATION://127.0.0.1:{self.gates[i].port}",
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,REPLICATION:PLAINTEXT",
            "inter.broker.listener.name=REPLICATION",
        ])

    def isolate(self, node_id: int) -> None:
        self.proxy.isolate(node_id)
        self.gates[node_id - 1].close()

    def heal(self) -> None:
        for gate in self.gates:
            gate.open()
        self.proxy.heal_all()

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            for gate in getattr(self, "gates", []):
                gate.shutdown()


@pytest.fixture
def cluster(request, tmp_path):
    c = FaultCluster(request, tmp_path, [f"broker.session.timeout.ms={SESSION_MS}", "broker.heartbeat.interval.ms=500",
                                         "replica.lag.time.max.ms=3000",
                                         "replica.high.watermark.checkpoint.interval.ms=500"])
    try:
        yield c
    finally:
        c.stop()


class NumberedProducer(threading.Thread):
    """Produces "0", "1", ... to partition 0 at about RATE per second until stopped; records each acknowledgement
    (value → offset) and each final failure."""

    def __init__(self, bootstrap: str, acks: str = "all"):
        super().__init__(name="numbered producer", daemon=True)
        self.bootstrap = bootstrap
        self.acks = acks
        self.acked: dict[int, int] = {}
        self.failed: dict[int, str] = {}
        self.fatal: list[str] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.halt = threading.Event()
        self.sent = 0

    def acknowledged(self) -> int:
        with self.lock:
            return len(self.acked)

    def _delivered(self, err, message) -> None:
        value = int(message.value())
        with self.lock:
            if err is None:
                self.acked[value] = message.offset()
            else:
                self.failed[value] = str(err)

    def _error(self, error) -> None:
        self.errors.append(str(error))
        if error.fatal():
            self.fatal.append(str(error))

    def run(self) -> None:
        producer = Producer({"bootstrap.servers": self.bootstrap, "acks": self.acks,
                             "enable.idempotence": self.acks == "all",
                             "linger.ms": 5, "request.timeout.ms": 5000, "message.timeout.ms": 120_000,
                             # A stopped (SIGSTOP) leader keeps its connections open: librdkafka waits for requests
                             # in flight to it up to socket.timeout.ms (60 s by default) before it retries them on
                             # the new leader.
                             "socket.timeout.ms": 6000, "debug": "eos",
                             "error_cb": self._error})
        while not self.halt.is_set():
            producer.produce(TOPIC, value=str(self.sent).encode(), partition=0, on_delivery=self._delivered)
            self.sent += 1
            producer.poll(0)
            time.sleep(1 / RATE)
        producer.flush(150)

    def stop(self) -> None:
        self.halt.set()
        self.join(180)


def bootstrap(cluster, skip: tuple[int, ...] = ()) -> str:
    return ",".join(f"127.0.0.1:{n.port}" for i, n in enumerate(cluster.nodes) if i + 1 not in skip)


def leader(cluster, skip: tuple[int, ...] = ()) -> int:
    try:
        return partition_leaders(bootstrap(cluster, skip), TOPIC).get(0, (-1,))[0]
    except Exception:  # noqa: BLE001 - a node may be down or a metadata request time out mid-fault
        return -1


def isr(cluster) -> list[int]:
    try:
        metadata = AdminClient({"bootstrap.servers": bootstrap(cluster)}).list_topics(TOPIC, timeout=10)
        return sorted(metadata.topics[TOPIC].partitions[0].isrs)
    except Exception:  # noqa: BLE001
        return []


def watermarks(servers: str) -> tuple[int, int] | None:
    consumer = Consumer({"bootstrap.servers": servers, "group.id": "faults-watermarks"})
    try:
        return consumer.get_watermark_offsets(TopicPartition(TOPIC, 0), timeout=5)
    except Exception:  # noqa: BLE001
        return None
    finally:
        consumer.close()


def state(cluster, producer: NumberedProducer, skip: tuple[int, ...] = ()) -> str:
    """What a stuck wait reports: the partition as the cluster sees it and the producer's last failures."""
    with producer.lock:
        failures = list(producer.failed.items())[-3:]
    return (f"acknowledged {producer.acknowledged()} of {producer.sent} sent, leader {leader(cluster, skip)}, "
            f"ISR {isr(cluster)}, watermarks {watermarks(bootstrap(cluster, skip))}, last failures {failures}, "
            f"errors {producer.errors[-5:]}")


def progresses(producer: NumberedProducer, cluster=None, more: int = 50, skip: tuple[int, ...] = ()) -> None:
    """Waits until `more` further records are acknowledged."""
    before = producer.acknowledged()
    wait_until(lambda: producer.acknowledged() >= before + more or producer.fatal, STEP_S,
               lambda: "the producer is stuck: " + (state(cluster, producer, skip) if cluster else
                                                    f"{producer.acknowledged()} acknowledged"))
    assert not producer.fatal, producer.fatal


def settles(cluster, producer: NumberedProducer) -> None:
    progresses(producer, cluster)
    wait_until(lambda: isr(cluster) == [1, 2, 3], 2 * STEP_S, lambda: f"ISR {isr(cluster)}")


def read_partition(servers: str, isolation: str, until: float, stop_at: int | None = None) -> list[tuple[int, int]]:
    """(offset, value) pairs of partition 0 from the start, until `stop_at` records came or the clock passed
    `until`."""
    consumer = Consumer({"bootstrap.servers": servers, "group.id": f"faults-{time.monotonic_ns()}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest",
                         "isolation.level": isolation})
    seen: list[tuple[int, int]] = []
    try:
        consumer.assign([TopicPartition(TOPIC, 0, 0)])
        while time.monotonic() < until and (stop_at is None or len(seen) < stop_at):
            message = consumer.poll(0.2)
            if message is not None and not message.error():
                seen.append((message.offset(), int(message.value())))
    finally:
        consumer.close()
    return seen


def batches(node_dir: Path, below: int) -> list[tuple]:
    """Every batch of the node's partition log that ends below `below`, as `fjord log dump` describes it."""
    found = []
    for segment in sorted((node_dir / "data" / f"{TOPIC}-0").glob("*.log")):
        done = subprocess.run([fjord_bin(), "log", "dump", "--format", "json", str(segment)], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        for entry in json.loads(done.stdout)["entries"]:
            if entry["lastOffset"] < below:
                found.append((entry["baseOffset"], entry["lastOffset"], entry["crc"], entry["partitionLeaderEpoch"],
                              entry["producerId"], entry["baseSequence"]))
    return found


def checkpointed_high_watermark(node_dir: Path) -> int:
    lines = (node_dir / "data" / "replication-offset-checkpoint").read_text().splitlines()
    return next(int(line.split()[2]) for line in lines[2:] if line.split()[:2] == [TOPIC, "0"])


def test_no_acknowledged_record_is_lost_through_kills_pauses_cuts_restarts_and_a_controller_kill(cluster):
    admin = AdminClient({"bootstrap.servers": bootstrap(cluster)})
    wait_until(lambda: len(admin.list_topics(timeout=10).brokers) == 3, STEP_S, "three brokers not registered")
    admin.create_topics([NewTopic(TOPIC, 1, replica_assignment=[[1, 2, 3]],
                                  config={"min.insync.replicas": "2"})])[TOPIC].result(timeout=30)
    wait_until(lambda: isr(cluster) == [1, 2, 3], STEP_S, "ISR not [1, 2, 3]")
    producer = NumberedProducer(bootstrap(cluster))
    producer.start()
    isolated_view: list[tuple[int, int]] = []
    try:
        progresses(producer)

        # 1. SIGKILL of the leader, then a restart.
        victim = leader(cluster)
        node = cluster.nodes[victim - 1]
        node.proc.kill()
        node.proc.wait()
        wait_until(lambda: leader(cluster, skip=(victim,)) not in (-1, victim), STEP_S, "no leader after the kill")
        progresses(producer, cluster, skip=(victim,))
        cluster.restart(victim - 1)
        settles(cluster, producer)

        # 2. SIGSTOP of the leader past its session, then SIGCONT.
        victim = leader(cluster)
        node = cluster.nodes[victim - 1]
        node.proc.send_signal(signal.SIGSTOP)
        try:
            wait_until(lambda: leader(cluster, skip=(victim,)) not in (-1, victim), STEP_S, "no leader after SIGSTOP")
            progresses(producer, cluster, skip=(victim,))
        finally:
            node.proc.send_signal(signal.SIGCONT)
        settles(cluster, producer)

        # 3. The leader cut off from the other nodes; a consumer connected to it alone reads what it serves.
        victim = leader(cluster)
        cluster.isolate(victim)
        try:
            wait_until(lambda: leader(cluster, skip=(victim,)) not in (-1, victim), STEP_S,
                       "the majority elected no leader")
            # The producer may go on talking to the isolated leader (it still answers metadata that names itself):
            # its retries time out there until the cut heals, and are never acknowledged; no progress is asked of
            # it until then.
            isolated_view = read_partition(f"127.0.0.1:{cluster.nodes[victim - 1].port}", "read_uncommitted",
                                           until=time.monotonic() + 4)
        finally:
            cluster.heal()
        settles(cluster, producer)

        # 4. A rolling restart: each node stopped (controlled shutdown) and started again.
        for i in range(3):
            cluster.nodes[i].stop()
            cluster.restart(i)
            settles(cluster, producer)

        # 5. The active controller killed, then restarted.
        killed = wait_for(lambda: quorum_leader_id(cluster), STEP_S, "no quorum leader")
        node = cluster.nodes[killed - 1]
        node.proc.kill()
        node.proc.wait()
        wait_for(lambda: (lambda l: l if l not in (None, killed) else None)(quorum_leader_id(cluster)), STEP_S,
                 "no new quorum leader")
        progresses(producer, cluster, skip=(killed,))
        cluster.restart(killed - 1)
        settles(cluster, producer)
    finally:
        producer.stop()
    assert not producer.is_alive(), "the producer did not finish"
    assert not producer.fatal, producer.fatal
    acked = dict(producer.acked)
    assert len(acked) >= 500, f"only {len(acked)} records acknowledged"

    end = max(acked.values()) + 1
    for isolation in ("read_committed", "read_uncommitted"):
        history = read_partition(bootstrap(cluster), isolation, until=time.monotonic() + STEP_S,
                                 stop_at=end)
        values = [v for _, v in history]
        assert len(values) == len(set(values)), f"{isolation}: duplicates"
        assert values == sorted(values), f"{isolation}: out of order"
        by_value = {v: o for o, v in history}
        missing = sorted(v for v in acked if v not in by_value)
        assert not missing, f"{isolation}: {len(missing)} acknowledged records missing, first {missing[:10]}"
        moved = [(v, o, by_value[v]) for v, o in acked.items() if by_value[v] != o]
        assert not moved, f"{isolation}: acknowledged offsets changed: {moved[:10]}"
    committed = set(history)
    assert set(isolated_view) <= committed, \
        f"the isolated leader served records that are not in the history: {sorted(set(isolated_view) - committed)[:10]}"

    # The replicas' logs, stopped cleanly, hold the same batches below the high watermark.
    for node in cluster.nodes:
        node.stop()
    dirs = [cluster.tmp_path / f"node{i}" for i in (1, 2, 3)]
    # A follower learns the high watermark on its next fetch, so the nodes' checkpoints may differ by a round; the
    # leader's covers every acknowledgement, and below the smallest every replica holds the same batches.
    marks = [checkpointed_high_watermark(d) for d in dirs]
    assert max(marks) >= end, f"high watermarks {marks} below the acknowledged end {end}"
    logs = [batches(d, min(marks)) for d in dirs]
    assert len(logs[0]) > 0
    assert logs[0] == logs[1] == logs[2], "the replicas' logs differ below the high watermark"



def test_acks_1_loss_through_leader_kills_is_measured_and_reported(request, tmp_path, capsys):
    """acks=1 is answered after the leader's own append: a leader killed before its followers fetched takes those
    records with it (Kafka's documented trade-off). Measured, not asserted: three SIGKILLs of the leader under a
    producer writing numbered records (not idempotent: retries may write a record twice); the report says how many
    acknowledged records the partition lost and how many it holds twice. Asserted: the cluster takes and serves
    records through the kills."""
    cluster = FaultCluster(request, tmp_path, [f"broker.session.timeout.ms={SESSION_MS}",
                                               "broker.heartbeat.interval.ms=500"])
    try:
        admin = AdminClient({"bootstrap.servers": bootstrap(cluster)})
        wait_until(lambda: len(admin.list_topics(timeout=10).brokers) == 3, STEP_S, "three brokers not registered")
        admin.create_topics([NewTopic(TOPIC, 1, replica_assignment=[[1, 2, 3]])])[TOPIC].result(timeout=30)
        wait_until(lambda: isr(cluster) == [1, 2, 3], STEP_S, "ISR not [1, 2, 3]")
        producer = NumberedProducer(bootstrap(cluster), acks="1")
        producer.start()
        try:
            progresses(producer)
            for _ in range(3):
                victim = leader(cluster)
                node = cluster.nodes[victim - 1]
                node.proc.kill()
                node.proc.wait()
                wait_until(lambda: leader(cluster, skip=(victim,)) not in (-1, victim), STEP_S, "no new leader")
                progresses(producer, cluster, skip=(victim,))
                cluster.restart(victim - 1)
                wait_until(lambda: isr(cluster) == [1, 2, 3], STEP_S, lambda: f"ISR {isr(cluster)}")
        finally:
            producer.stop()
        acked = dict(producer.acked)
        history = read_partition(bootstrap(cluster), "read_uncommitted", until=time.monotonic() + STEP_S,
                                 stop_at=max(acked.values()) + 1)
        values = [v for _, v in history]
        present = set(values)
        lost = sorted(v for v in acked if v not in present)
        with capsys.disabled():
            print(f"\nacks=1 through 3 leader kills: {len(lost)} of {len(acked)} acknowledged records lost "
                  f"({100 * len(lost) / len(acked):.2f}%), {len(values) - len(present)} written twice by retries")
        assert len(acked) >= 300
        assert present, "the partition serves nothing after the kills"
    finally:
        cluster.stop()
