"""Separate KRaft roles (issue 12 items 5, 7): three controller-only nodes (`process.roles=controller`, ids 1-3, the
voters of the metadata quorum) and two broker-only nodes (`process.roles=broker`, ids 4-5, observers of the quorum)
as real processes, each formatted with `fjord storage format` (brokers with neither --standalone nor
--initial-controllers, as kafka-storage.sh does with static voters).

Flow (one cluster for the module, tests in order):
1. Metadata and DescribeCluster through either broker list exactly the two brokers: a controller never registers.
2. A controller's listener serves only controller APIs: ApiVersions lists a subset of the APIs whose JSON spec names
   the "controller" listener, with the Raft and registration APIs among them and no data API; a Metadata or Produce
   request there closes the connection, as Kafka's SocketServer does for an API that is not enabled on a listener.
3. A 4-partition topic (replication factor 1) created through a broker (forwarded to the active controller) has
   leaders on both brokers; confluent-kafka produces to every partition and reads exactly those records back.
   DescribeQuorum through a broker (forwarded) lists the controllers as voters and the brokers as observers; the
   partitions' folders are on the brokers, a controller's data holds only __cluster_metadata-0.
4. The active controller killed with SIGKILL: the two other controllers elect a new leader, and CreateTopics
   through a broker works again (the broker forwards to the new leader).
5. A broker killed with SIGKILL: the controller fences it once its session (`broker.session.timeout.ms=3000`) ran
   out; the surviving broker's Metadata no longer lists it and reports its partitions without a leader."""

from __future__ import annotations

import re
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import BrokerProcess, _track, fjord_bin, free_port
from test_kraft_cluster import _ModuleRequest, partition_leaders
from waiting import wait_for, wait_until

ROLE = re.compile(r"role=(\w+)\(epoch (\d+)(?:, leader (\d+))?")
CONTROLLERS = [1, 2, 3]
BROKERS = [4, 5]
SESSION_MS = 3000
HEARTBEAT_MS = 500
STEP_S = 40.0
TOPIC = "roles"
PARTITIONS = 4
RECORDS = 200

# The API keys whose JSON spec (Kafka's `listeners` field) includes "controller": what a controller listener may
# serve. Fjord serves a subset of them.
CONTROLLER_LISTENER_APIS = {1, 7, 17, 18, 19, 20, 29, 30, 31, 32, 33, 36, 37, 38, 39, 40, 41, 43, 44, 45, 46, 49, 50,
                            51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 62, 63, 64, 67, 70, 73, 80, 81, 82}
# What every KRaft controller must serve: Vote, BeginQuorumEpoch, EndQuorumEpoch, DescribeQuorum, FetchSnapshot,
# BrokerRegistration, BrokerHeartbeat, Fetch (of __cluster_metadata), ApiVersions, CreateTopics (forwarded).
REQUIRED_CONTROLLER_APIS = {1, 18, 19, 52, 53, 54, 55, 59, 62, 63}
# Data and group APIs a client would use: never on a controller listener.
DATA_APIS = {0, 2, 3, 8, 9, 10, 11, 12, 13, 14, 22}


class Node:
    """One node: its config, its process, and where it listens."""

    def __init__(self, node_id: int, folder: Path, port: int, controller: bool):
        self.id = node_id
        self.folder = folder
        self.port = port
        self.controller = controller
        self.config = folder / "server.properties"
        self.log_path = folder / "node.log"
        self.process: BrokerProcess | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError as e:
            return f"<no log: {e}>"

    def alive(self) -> bool:
        return self.process is not None and self.process.alive()


class RolesCluster:
    """Three controller-only and two broker-only nodes on loopback ports, formatted and started as processes."""

    def __init__(self, request: pytest.FixtureRequest, tmp_path: Path):
        self.request = request
        cluster_id = subprocess.run([fjord_bin(), "storage", "random-uuid"], capture_output=True, text=True,
                                    timeout=60, check=True).stdout.strip()
        self.nodes = {i: Node(i, tmp_path / f"node{i}", free_port(), i in CONTROLLERS) for i in CONTROLLERS + BROKERS}
        voters = ",".join(f"{i}@127.0.0.1:{self.nodes[i].port}" for i in CONTROLLERS)
        for node in self.nodes.values():
            node.folder.mkdir()
            role, listener = ("controller", "CONTROLLER") if node.controller else ("broker", "PLAINTEXT")
            node.config.write_text("\n".join([
                f"process.roles={role}",
                f"node.id={node.id}",
                f"controller.quorum.voters={voters}",
                f"listeners={listener}://127.0.0.1:{node.port}",
                "controller.listener.names=CONTROLLER",
                f"log.dirs={node.folder}/data",
                "metrics.listener=none",
                f"broker.session.timeout.ms={SESSION_MS}",
                f"broker.heartbeat.interval.ms={HEARTBEAT_MS}",
            ]) + "\n")
            done = subprocess.run([fjord_bin(), "storage", "format", "-t", cluster_id, "-c", str(node.config)],
                                  capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done
            assert "Formatting metadata directory" in done.stdout, done.stdout
        # All start at once: the brokers wait for the quorum's leader, then register and are unfenced.
        for node in self.nodes.values():
            self._spawn(node)
        for node in self.nodes.values():
            self.wait_until_ready(node)

    def _spawn(self, node: Node) -> None:
        argv = [fjord_bin(), "broker", "--config", str(node.config)]
        with open(node.log_path, "ab") as log:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    cwd=node.folder)
        node.process = BrokerProcess(f"node{node.id}", node.port, proc, node.folder, node.log_path, argv)
        _track(self.request, node.process)

    def wait_until_ready(self, node: Node) -> None:
        """A controller logs `ready` once its image caught up with the quorum; a broker opens its listener only once
        the controller unfenced it."""
        def ready():
            assert node.alive(), f"node {node.id} exited:\n{node.log_text()[-4000:]}"
            if node.controller:
                return "[FjordBroker] ready" in node.log_text()
            try:
                with socket.create_connection(("127.0.0.1", node.port), timeout=0.5):
                    return True
            except OSError:
                return False

        wait_until(ready, STEP_S, lambda: f"node {node.id} not ready:\n{node.log_text()[-4000:]}")

    def role(self, node_id: int) -> tuple[str, int, int | None] | None:
        matches = ROLE.findall(self.nodes[node_id].log_text())
        if not matches:
            return None
        name, epoch, leader = matches[-1]
        return name, int(epoch), int(leader) if leader else None

    def leader(self, among: list[int], above_epoch: int = -1) -> tuple[int, int] | None:
        """(node id, epoch) of the controller that leads when every controller of `among` agrees on it."""
        roles = {i: self.role(i) for i in among}
        if any(r is None for r in roles.values()):
            return None
        leaders = [(i, r[1]) for i, r in roles.items() if r[0] == "leader" and r[1] > above_epoch]
        if len(leaders) != 1:
            return None
        leader, epoch = leaders[0]
        return (leader, epoch) if all(r[1] == epoch and r[2] == leader for r in roles.values()) else None

    def stop(self) -> None:
        # Brokers first: their controlled shutdown needs the controllers.
        for node_id in BROKERS + CONTROLLERS:
            process = self.nodes[node_id].process
            if process is not None and process.alive():
                process.stop()


@pytest.fixture(scope="module")
def cluster(request, tmp_path_factory):
    c = RolesCluster(_ModuleRequest(request), tmp_path_factory.mktemp("kraft-roles"))
    try:
        yield c
    finally:
        c.stop()


def fresh_admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap, "client.id": "fjord-kraft-roles"})


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def request_v0(api_key: int, body: bytes, correlation_id: int = 7) -> bytes:
    client_id = b"fjord-roles"
    header = struct.pack(">hhih", api_key, 0, correlation_id, len(client_id)) + client_id
    return struct.pack(">i", len(header) + len(body)) + header + body


def api_versions(address: str) -> dict[int, tuple[int, int]]:
    """ApiVersions v0 on a raw connection: api key → (min, max)."""
    host, port = address.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request_v0(18, b""))
        (size,) = struct.unpack(">i", recv_exactly(sock, 4))
        assert 10 <= size < 1 << 20, size
        response = recv_exactly(sock, size)
    correlation_id, error, count = struct.unpack_from(">ihi", response)
    assert (correlation_id, error) == (7, 0)
    return {key: (low, high) for key, low, high in (struct.unpack_from(">hhh", response, 10 + 6 * i)
                                                      for i in range(count))}


def closed_without_answer(address: str, frame: bytes) -> bool:
    """Sends one request; True when the peer closes the connection without answering it."""
    host, port = address.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(frame)
        try:
            return sock.recv(4) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True


def test_metadata_lists_only_the_brokers(cluster):
    for broker in BROKERS:
        address = cluster.nodes[broker].address
        admin = fresh_admin(address)
        wait_until(lambda: sorted(admin.list_topics(timeout=10).brokers) == BROKERS, STEP_S,
                   lambda: f"Metadata through {broker}: {sorted(admin.list_topics(timeout=10).brokers)}")
        brokers = admin.list_topics(timeout=10).brokers
        assert {b.id: b.port for b in brokers.values()} == {i: cluster.nodes[i].port for i in BROKERS}
        described = admin.describe_cluster(request_timeout=10).result(timeout=15)
        assert sorted(n.id for n in described.nodes) == BROKERS


def test_a_controller_listener_serves_only_controller_apis(cluster):
    for controller in CONTROLLERS:
        address = cluster.nodes[controller].address
        served = set(api_versions(address))
        assert served <= CONTROLLER_LISTENER_APIS, f"not controller APIs: {sorted(served - CONTROLLER_LISTENER_APIS)}"
        assert REQUIRED_CONTROLLER_APIS <= served, f"missing: {sorted(REQUIRED_CONTROLLER_APIS - served)}"
        assert not served & DATA_APIS
        # Metadata v0 (all topics) and Produce v3 are refused by closing the connection, as Kafka does.
        assert closed_without_answer(address, request_v0(3, struct.pack(">i", 0)))
        produce = struct.pack(">hhih", 0, 3, 9, 11) + b"fjord-roles" + struct.pack(">hhii", -1, 1, 1000, 0)
        assert closed_without_answer(address, struct.pack(">i", len(produce)) + produce)
    # A broker's listener serves the data APIs.
    assert DATA_APIS <= set(api_versions(cluster.nodes[BROKERS[0]].address))


def test_partitions_are_spread_over_the_brokers_and_clients_use_them(cluster):
    bootstrap = ",".join(cluster.nodes[i].address for i in BROKERS)
    admin = fresh_admin(cluster.nodes[BROKERS[0]].address)
    admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)], operation_timeout=20)[TOPIC].result(timeout=30)
    leaders = wait_for(lambda: (lambda now: now if len(now) == PARTITIONS and all(
        leader in BROKERS for leader, _ in now.values()) else None)(
        partition_leaders(cluster.nodes[BROKERS[1]].address, TOPIC)), STEP_S, "the topic did not reach broker 5")
    assert {leader for leader, _ in leaders.values()} == set(BROKERS), f"leaders {leaders}"
    assert partition_leaders(cluster.nodes[BROKERS[0]].address, TOPIC) == leaders

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all"})
    failures = []
    for i in range(RECORDS):
        producer.produce(TOPIC, key=str(i).encode(), value=f"v{i}".encode(), partition=i % PARTITIONS,
                         on_delivery=lambda err, _msg: failures.append(err) if err else None)
        producer.poll(0)
    assert producer.flush(30) == 0, "records still undelivered"
    assert failures == []

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "kraft-roles", "enable.auto.commit": False})
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
    assert seen == {p: [f"v{i}" for i in range(RECORDS) if i % PARTITIONS == p] for p in range(PARTITIONS)}


CREATE_ERRORS: list[str] = []


def test_brokers_observe_the_quorum_and_controllers_hold_no_partitions(cluster):
    # DescribeQuorum through a broker listener (forwarded to the active controller, as Kafka's brokers do): the
    # controllers are the voters, the brokers the observers.
    def status():
        done = subprocess.run([fjord_bin(), "metadata-quorum", "describe", "--status", "--bootstrap-server",
                               cluster.nodes[BROKERS[0]].address], capture_output=True, text=True, timeout=60)
        lines = dict(line.split(":", 1) for line in done.stdout.splitlines() if ":" in line)
        ids = lambda key: sorted(int(i) for i in re.findall(r'"id": (\d+)', lines.get(key, "")))  # noqa: E731
        return done.returncode == 0 and ids("CurrentVoters") == CONTROLLERS and ids("CurrentObservers") == BROKERS \
            and done

    wait_for(status, STEP_S, "DescribeQuorum through a broker does not list 1-3 as voters and 4-5 as observers")
    # The topic's partitions live on the brokers only; a controller runs no group or transaction coordinator.
    for node in cluster.nodes.values():
        folders = {p.name for p in (node.folder / "data").iterdir() if p.is_dir()}
        partitions = {f for f in folders if f.startswith(f"{TOPIC}-")}
        assert (partitions == set()) if node.controller else partitions, f"node {node.id}: {sorted(folders)}"
        if node.controller:
            assert folders == {"__cluster_metadata-0"}, f"controller {node.id} holds {sorted(folders)}"
            assert "groups loaded" not in node.log_text() and "registered with the controller" not in \
                node.log_text()


def create(bootstrap: str, name: str, timeout: float = 15) -> bool:
    """Creates a topic through `bootstrap`; True when acknowledged (or already there from an earlier attempt whose
    answer was lost), else the error is kept in CREATE_ERRORS for the failure message."""
    admin = fresh_admin(bootstrap)  # kept until the answer: a destroyed client fails its futures
    futures = admin.create_topics([NewTopic(name, 1, 1)], operation_timeout=timeout, request_timeout=timeout)
    try:
        futures[name].result(timeout=timeout + 5)
        return True
    except Exception as e:  # noqa: BLE001 - any failure means "not acknowledged"
        CREATE_ERRORS.append(repr(e))
        return "TOPIC_ALREADY_EXISTS" in str(e)


def test_the_killed_active_controller_is_replaced_and_brokers_forward_to_the_new_one(cluster):
    leader, epoch = wait_for(lambda: cluster.leader(CONTROLLERS), STEP_S,
                             lambda: f"no agreed leader: {[cluster.role(i) for i in CONTROLLERS]}")
    survivors = [i for i in CONTROLLERS if i != leader]
    cluster.nodes[leader].process.proc.kill()
    cluster.nodes[leader].process.proc.wait()
    new_leader, _ = wait_for(lambda: cluster.leader(survivors, above_epoch=epoch), STEP_S, "no new leader")
    assert new_leader in survivors
    broker = cluster.nodes[BROKERS[0]].address
    wait_until(lambda: create(broker, "after-failover"), STEP_S,
               lambda: f"CreateTopics through a broker kept failing: {CREATE_ERRORS[-3:]}")
    wait_until(lambda: "after-failover" in fresh_admin(cluster.nodes[BROKERS[1]].address).list_topics(
        timeout=10).topics, STEP_S, "the new topic did not reach the other broker")
    # The brokers follow the new leader as observers and heartbeat to it: both are (again) registered and unfenced.
    # (One that took longer than its session to learn the new leader was fenced meanwhile, as in Kafka.)
    wait_until(lambda: sorted(fresh_admin(broker).list_topics(timeout=10).brokers) == BROKERS, STEP_S,
               "a broker stayed fenced under the new controller")


def listed_for_a_whole_session(address: str) -> bool:
    """True once Metadata through `address` listed both brokers without a break for a whole session: their heartbeats
    reach the active controller (one that stalled would have been fenced meanwhile)."""
    admin = fresh_admin(address)
    since = time.monotonic()
    while time.monotonic() - since < SESSION_MS / 1000 + 0.5:
        if sorted(admin.list_topics(timeout=10).brokers) != BROKERS:
            return False
        time.sleep(0.2)
    return True


def test_a_killed_broker_is_fenced_after_its_session(cluster):
    survivor, victim = cluster.nodes[BROKERS[0]], cluster.nodes[BROKERS[1]]

    def settled():
        # A broker fenced by the previous test's new controller (it learned the new leader late) leads its
        # partitions again once unfenced: wait for that too, not only for the listing.
        if not listed_for_a_whole_session(survivor.address):
            return None
        return sorted(p for p, (leader, _) in partition_leaders(survivor.address, TOPIC).items()
                      if leader == victim.id) or None

    led = wait_for(settled, 2 * STEP_S, lambda: f"the brokers kept being fenced, or broker {victim.id} leads nothing: "
                   f"{partition_leaders(survivor.address, TOPIC)}")
    victim.process.proc.send_signal(signal.SIGKILL)
    victim.process.proc.wait()
    killed_at = time.monotonic()

    def fenced():
        now = partition_leaders(survivor.address, TOPIC)
        brokers = sorted(fresh_admin(survivor.address).list_topics(timeout=10).brokers)
        return brokers == [survivor.id] and all(now[p][0] == -1 for p in led) and now

    now = wait_for(fenced, SESSION_MS / 1000 + STEP_S, lambda: f"broker {victim.id} not fenced")
    # Its last heartbeat left at most one interval before the kill: fencing came no sooner than a session after it.
    assert time.monotonic() - killed_at >= (SESSION_MS - HEARTBEAT_MS) / 1000 - 0.2, "fenced too early"
    for p in led:
        assert now[p][1] is not None and now[p][1].code() == KafkaError.LEADER_NOT_AVAILABLE, now[p]
