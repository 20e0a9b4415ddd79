"""Three combined KRaft nodes (`process.roles=broker,controller`, static `controller.quorum.voters`, each formatted
with `fjord storage format`) on loopback ports form one metadata quorum over Kafka's Raft RPCs (issue 12 items 1, 3,
8): they elect one leader; a topic created through any node (the others forward to the active controller) exists
on all three; the leader killed with SIGKILL is replaced within 5 s with default settings, topic creation and config
changes go on, and the killed node restarts and catches up; the leader stopped with SIGSTOP past the fetch timeout is
replaced, and after SIGCONT it steps down and the three agree on one history. Every topic acknowledged to a client
during the faults exists afterwards on every node, with every config change acknowledged for it.

The leader is read from the nodes' logs ("metadata quorum role" lines): each node logs every role change."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import BrokerProcess, _track, fjord_bin, free_port
from datapath_clients import admin, drop_admin_clients  # noqa: F401 - drop_admin_clients: autouse fixture
from waiting import wait_for, wait_until

ROLE = re.compile(r"role=(\w+)\(epoch (\d+)(?:, leader (\d+))?")
# Default settings: election timeout 1 s, fetch timeout 2 s. The issue asks for a new leader within 5 s.
FAILOVER_S = 5.0
STEP_S = 30.0


class Cluster:
    """Three combined nodes with their own data folders and logs; `nodes[i]` is node id i + 1. `extra` lines go
    into every node's configuration. Subclasses route the controllers' traffic (`link_controllers`, `voters_for`)."""

    def __init__(self, request: pytest.FixtureRequest, tmp_path: Path, extra: list[str] | None = None):
        self.request = request
        self.tmp_path = tmp_path
        self.ports = [free_port() for _ in range(3)]
        self.controller_ports = [free_port() for _ in range(3)]
        self.nodes: list[BrokerProcess] = []
        self.configs: list[Path] = []
        try:
            self.link_controllers()
            cluster_id = subprocess.run([fjord_bin(), "storage", "random-uuid"], capture_output=True, text=True,
                                        timeout=60, check=True).stdout.strip()
            self.configs = [self._format(i, cluster_id, extra or []) for i in range(3)]
            # All three start at once: a node opens its broker listener only once the quorum has a leader.
            self.nodes = [self._spawn(i) for i in range(3)]
            for node in self.nodes:
                _track(request, node)
            for node in self.nodes:
                node.wait_until_ready(STEP_S)
        except BaseException:
            self.stop()  # whichever nodes (and links) started
            raise

    def link_controllers(self) -> None:
        """Sets up how the controllers reach each other, before any configuration is written: directly here."""

    def voters_for(self, i: int) -> str:
        """Node i's `controller.quorum.voters`: where it reaches each voter's controller listener."""
        return ",".join(f"{j + 1}@127.0.0.1:{p}" for j, p in enumerate(self.controller_ports))

    def _format(self, i: int, cluster_id: str, extra: list[str]) -> Path:
        """Writes node i's configuration and formats its storage; returns the configuration's path."""
        folder = self.tmp_path / f"node{i + 1}"
        folder.mkdir()
        config = folder / "server.properties"
        config.write_text("\n".join([
            "process.roles=broker,controller",
            f"node.id={i + 1}",
            f"controller.quorum.voters={self.voters_for(i)}",
            f"listeners=CONTROLLER://127.0.0.1:{self.controller_ports[i]},PLAINTEXT://127.0.0.1:{self.ports[i]}",
            "controller.listener.names=CONTROLLER",
            f"log.dirs={folder}/data",
            "metrics.listener=none",
            *extra,
        ]) + "\n")
        done = subprocess.run([fjord_bin(), "storage", "format", "-t", cluster_id, "-c", str(config)],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done
        return config

    def _spawn(self, i: int, append: bool = False) -> BrokerProcess:
        log_path = self.tmp_path / f"node{i + 1}.log"
        argv = [fjord_bin(), "broker", "--config", str(self.configs[i])]
        if os.environ.get("FJORD_TEST_LOG_LEVEL"):  # e.g. debug, to study a failure
            argv += ["--log-level", os.environ["FJORD_TEST_LOG_LEVEL"]]
        with open(log_path, "ab" if append else "wb") as log:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    cwd=self.tmp_path)
        return BrokerProcess(f"node{i + 1}", self.ports[i], proc, self.tmp_path / f"node{i + 1}", log_path, argv)

    def restart(self, i: int) -> None:
        """Starts node i again (same configuration, data and log) after it was killed."""
        with open(self.nodes[i].log_path, "ab") as log:
            log.write(b"\n--- restart ---\n")
        self.nodes[i] = self._spawn(i, append=True)
        _track(self.request, self.nodes[i])
        self.nodes[i].wait_until_ready(STEP_S)

    def role(self, i: int) -> tuple[str, int, int | None] | None:
        """Node i's latest role: (name, epoch, leader id)."""
        matches = ROLE.findall(self.nodes[i].log_text().split("--- restart ---")[-1])
        if not matches:
            return None
        name, epoch, leader = matches[-1]
        return name, int(epoch), int(leader) if leader else None

    def leader(self, among: list[int] | None = None, above_epoch: int = -1) -> tuple[int, int] | None:
        """(index, epoch) of the node that leads when every node of `among` agrees on it, else None."""
        among = among if among is not None else [0, 1, 2]
        roles = [self.role(i) for i in among]
        if any(r is None for r in roles):
            return None
        leaders = [(i, r[1]) for i, r in zip(among, roles) if r[0] == "leader" and r[1] > above_epoch]
        if len(leaders) != 1:
            return None
        index, epoch = leaders[0]
        agree = all(r[1] == epoch and r[2] == index + 1 for r in roles)
        return (index, epoch) if agree else None

    def stop(self) -> None:
        for node in self.nodes:
            if node.alive():
                node.proc.send_signal(signal.SIGCONT)
            node.stop()


@pytest.fixture
def cluster(request, tmp_path):
    c = Cluster(request, tmp_path)
    try:
        yield c
    finally:
        c.stop()


def admin_of(node: BrokerProcess) -> AdminClient:
    """The node's AdminClient, kept for the test (one destroyed before its futures resolve fails them)."""
    return admin(node.bootstrap)


def create(node: BrokerProcess, name: str, timeout: float = 15) -> bool:
    """Creates a topic through `node`; True when the cluster acknowledged it."""
    futures = admin_of(node).create_topics([NewTopic(name, 1, 1)], operation_timeout=timeout,
                                           request_timeout=timeout)
    try:
        futures[name].result(timeout=timeout + 5)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not acknowledged"
        return False


def topics(node: BrokerProcess) -> set[str]:
    metadata = admin_of(node).list_topics(timeout=10)
    return {name for name in metadata.topics if not name.startswith("__")}


# Why config changes were not acknowledged, for failure messages.
ALTER_ERRORS: list[str] = []


def alter(node: BrokerProcess, topic: str, configs: dict[str, str], timeout: float = 15) -> bool:
    """IncrementalAlterConfigs (SET) of a topic's configs through `node` itself (`fjord config set`, which sends a
    topic's configs to the broker it bootstraps from; librdkafka's admin client may send them to any broker it
    knows — during a fault, the isolated one); True when the cluster acknowledged it."""
    done = subprocess.run([fjord_bin(), "config", "set", "--topic", topic, "--bootstrap", node.bootstrap,
                           "--request-timeout", str(int(timeout)), *[f"{k}={v}" for k, v in configs.items()]],
                          capture_output=True, text=True, timeout=timeout + 30)
    if done.returncode != 0:
        ALTER_ERRORS.append(f"{topic} through :{node.port}: {(done.stderr or done.stdout).strip()[-300:]}")
        return False
    return True


def alter_each(nodes: list[BrokerProcess], names: set[str], within: float = STEP_S) -> dict[str, dict[str, str]]:
    """Gives each topic configs of its own (retention.ms differs per topic), through `nodes` in turn; returns the
    changes the cluster acknowledged, by topic. A refused change is sent again (SET is idempotent) until `within`
    seconds have passed, as a client retries (a node that has just lost its leader answers NOT_CONTROLLER until it
    learns the new one)."""
    acknowledged = {}
    for n, name in enumerate(sorted(names)):
        wanted = {"retention.ms": str(3_600_000 + n), "max.message.bytes": "2000000"}
        deadline = time.monotonic() + within
        while True:
            if alter(nodes[n % len(nodes)], name, wanted):
                acknowledged[name] = wanted
                break
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
    return acknowledged


def topic_configs(node: BrokerProcess, topic: str) -> dict[str, str]:
    """The configs set on `topic` as `node` itself describes them (its own image: `fjord config describe` with
    only `node` to bootstrap from asks it)."""
    done = subprocess.run([fjord_bin(), "config", "describe", "--topic", topic, "--bootstrap", node.bootstrap,
                           "--format", "json"], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        return {}
    return {entry["name"]: entry["value"] for entry in json.loads(done.stdout)["configs"]
            if entry["source"] == "DYNAMIC_TOPIC_CONFIG"}


def all_configured(cluster: Cluster, changes: dict[str, dict[str, str]], among: list[int] | None = None) -> bool:
    """Whether every node of `among` has every acknowledged config change."""
    return all(changes[name].items() <= topic_configs(cluster.nodes[i], name).items()
               for i in (among if among is not None else [0, 1, 2]) for name in changes)


def wait_configured(cluster: Cluster, changes: dict[str, dict[str, str]], among: list[int] | None = None) -> None:
    """Waits until every node of `among` has every acknowledged config change."""
    among = among if among is not None else [0, 1, 2]

    def missing() -> str:
        return "missing config changes (node, topic, configs there): " + str([
            (i + 1, name, topic_configs(cluster.nodes[i], name)) for i in among for name in changes
            if not changes[name].items() <= topic_configs(cluster.nodes[i], name).items()])

    wait_until(lambda: all_configured(cluster, changes, among), STEP_S, missing)


def all_have(cluster: Cluster, names: set[str], among: list[int] | None = None) -> bool:
    return all(names <= topics(cluster.nodes[i]) for i in (among if among is not None else [0, 1, 2]))


def test_three_nodes_elect_one_leader_and_share_topics(cluster):
    # Flow: 1. one leader, on whom all three agree; 2. a topic created through each node (two of them forward to
    # the active controller); 3. Metadata from every node lists the three topics.
    leader, _ = wait_for(cluster.leader, STEP_S, lambda: f"no agreed leader: {[cluster.role(i) for i in range(3)]}")
    names = {f"via-node{i + 1}" for i in range(3)}
    for i in range(3):
        assert create(cluster.nodes[i], f"via-node{i + 1}"), f"creation through node {i + 1} failed"
    wait_until(lambda: all_have(cluster, names), STEP_S, lambda: [topics(n) for n in cluster.nodes])
    # The leader did not change on the way.
    assert cluster.leader() is not None and cluster.leader()[0] == leader


def test_the_killed_leader_is_replaced_and_catches_up(cluster):
    # Flow: 1. a topic before the fault; 2. SIGKILL the leader: another node leads within 5 s; 3. topics created
    # and their configs changed through the survivors meanwhile; 4. the killed node restarts; every node lists every
    # acknowledged topic with every acknowledged config.
    leader, epoch = wait_for(cluster.leader, STEP_S, "no agreed leader")
    survivors = [i for i in range(3) if i != leader]
    acknowledged = {"before-kill"} if create(cluster.nodes[survivors[0]], "before-kill") else set()
    assert acknowledged, "creation before the fault failed"
    cluster.nodes[leader].proc.kill()
    cluster.nodes[leader].proc.wait()
    killed_at = time.monotonic()
    wait_for(lambda: cluster.leader(survivors, above_epoch=epoch), FAILOVER_S + STEP_S, "no new leader")
    failover = time.monotonic() - killed_at
    assert failover <= FAILOVER_S, f"a new leader took {failover:.1f} s"
    for n in range(4):
        name = f"after-kill-{n}"
        if create(cluster.nodes[survivors[n % 2]], name):
            acknowledged.add(name)
    assert len(acknowledged) == 5, f"only {sorted(acknowledged)} were acknowledged with two of three nodes up"
    changes = alter_each([cluster.nodes[i] for i in survivors], acknowledged)
    assert changes.keys() == acknowledged, f"config changes refused with two of three up: {sorted(changes)}"
    cluster.restart(leader)
    wait_until(lambda: all_have(cluster, acknowledged), STEP_S,
               lambda: f"{sorted(acknowledged)} vs {[sorted(topics(n)) for n in cluster.nodes]}")
    wait_configured(cluster, changes)
    assert cluster.role(leader)[0] == "follower"


def test_admin_requests_sent_during_a_failover_are_answered_once_a_new_leader_is_elected(cluster):
    # Flow, twice: SIGKILL the active controller and at once create a topic through each survivor, in parallel. The
    # survivors first forward to the dead leader, retry, and answer once one of them leads: within the failover
    # time and a few seconds (retrying a refusal while none is known), never after the 30 s commit timeout. (A retry came back on the event loop and ran the
    # metadata command there: the loop that had to carry the commit was blocked by the wait for it.)
    from concurrent.futures import ThreadPoolExecutor

    for round_ in range(2):
        leader, epoch = wait_for(cluster.leader, STEP_S, "no agreed leader")
        survivors = [i for i in range(3) if i != leader]
        cluster.nodes[leader].proc.kill()
        cluster.nodes[leader].proc.wait()
        started = time.monotonic()

        def timed_create(i: int) -> tuple[bool, float]:
            # As a client would: a request refused while no leader is known yet (NOT_CONTROLLER once the broker's
            # 5 s wait for one ends) is sent again, but every attempt must end inside the window.
            deadline = started + FAILOVER_S + 10
            ok = False
            while not ok and time.monotonic() < deadline - 1:
                ok = create(cluster.nodes[i], f"during-failover-{round_}-{i}",
                            timeout=max(1.0, deadline - time.monotonic() - 5))
            return ok, time.monotonic() - started

        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(timed_create, survivors))
        assert all(ok for ok, _ in answers), f"round {round_}: not acknowledged: {answers}"
        slowest = max(took for _, took in answers)
        assert slowest <= FAILOVER_S + 10, f"round {round_}: an admin request took {slowest:.1f} s across a failover"
        cluster.restart(leader)


def test_the_stopped_leader_steps_down_after_resuming(cluster):
    # Flow: 1. SIGSTOP the leader past the fetch timeout: the other two elect; 2. topics created and their configs
    # changed through them; 3. a create sent to the stopped node waits in its socket; 4. SIGCONT: it steps down
    # (follows the new leader), and all three end with one history: the same topics, every acknowledged one among
    # them with its acknowledged configs.
    leader, epoch = wait_for(cluster.leader, STEP_S, "no agreed leader")
    others = [i for i in range(3) if i != leader]
    stopped = cluster.nodes[leader]
    stopped.proc.send_signal(signal.SIGSTOP)
    try:
        wait_for(lambda: cluster.leader(others, above_epoch=epoch), FAILOVER_S + STEP_S, "no new leader")
        acknowledged = {f"during-stop-{n}" for n in range(3) if create(cluster.nodes[others[n % 2]],
                                                                         f"during-stop-{n}")}
        assert len(acknowledged) == 3, f"only {sorted(acknowledged)} acknowledged by the majority"
        changes = alter_each([cluster.nodes[i] for i in others], acknowledged)
        assert changes.keys() == acknowledged, f"config changes refused by the majority: {sorted(changes)}"
        # A request to the stopped node: it reaches the old leader's socket and is read after SIGCONT.
        late = admin_of(stopped).create_topics([NewTopic("sent-to-stopped", 1, 1)], operation_timeout=10,
                                               request_timeout=10)
    finally:
        stopped.proc.send_signal(signal.SIGCONT)
    wait_until(lambda: cluster.role(leader) is not None and cluster.role(leader)[0] == "follower"
               and cluster.role(leader)[1] > epoch, STEP_S, lambda: f"still {cluster.role(leader)}")
    try:
        late["sent-to-stopped"].result(timeout=30)
        acknowledged.add("sent-to-stopped")
    except Exception:  # noqa: BLE001 - refused or timed out: then it must not appear anywhere either
        pass

    def one_history() -> bool:
        seen = [topics(node) for node in cluster.nodes]
        return seen[0] == seen[1] == seen[2] and acknowledged <= seen[0]

    wait_until(one_history, STEP_S, lambda: f"{sorted(acknowledged)} vs {[sorted(topics(n)) for n in cluster.nodes]}")
    wait_configured(cluster, changes)
