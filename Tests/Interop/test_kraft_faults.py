"""Process-level faults of the metadata quorum beyond a crash or a pause (issue 12 item 8): three combined KRaft
nodes whose controllers reach each other only through a fault-injecting TCP proxy (tools/fault_proxy.py) that the
test cuts and heals, while clients still reach every node's broker listener directly.

- The leader cut off from both followers resigns (check-quorum: no majority fetched within 1.5 × the fetch
  timeout), the majority elects a new leader and acknowledges topics; a CreateTopics sent to the isolated old
  leader is not acknowledged; after healing the three share one history.
- The leader that still hears the followers while they no longer hear it is replaced, and after healing the
  cluster converges on one leader and one topic set.
- A follower killed while the leader snapshots and drops its log prefix
  (`metadata.log.max.record.bytes.between.snapshots` small) restarts and catches up through a snapshot.

Config changes (IncrementalAlterConfigs) of topics created during the faults go on with the topics, and every
change acknowledged to a client is on every node afterwards.

Node roles come from the nodes' "metadata quorum role" log lines, as in test_kraft_quorum.py, whose cluster
helpers these tests reuse."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import BrokerProcess, fjord_bin
from datapath_clients import drop_admin_clients  # noqa: F401 - autouse fixture: forget AdminClients per test
from interop_clients import kcat_metadata
from test_kraft_quorum import (ALTER_ERRORS, STEP_S, Cluster, admin_of, all_have, alter, alter_each, create,
                               topics, wait_configured)
from tools.fault_proxy import FaultProxy
from waiting import wait_for, wait_until

# Default settings: fetch timeout 2 s, election timeout 1 s. The isolated leader resigns after 1.5 × the fetch
# timeout (3 s); the majority's election takes the fetch timeout plus an election or two. Generous for a loaded
# 2-core machine: only a failing test waits this long.
RESIGN_S = 2.0 * 1.5 + 1.0 + 10.0
ELECT_S = 2.0 + 2 * 1.0 + 10.0


class ProxiedCluster(Cluster):
    """Three combined nodes whose controllers reach each other through `proxy`; `extra` lines go into every
    node's configuration. Everything else (formatting, spawn, restart, roles, leader, stop) is test_kraft_quorum's
    Cluster."""

    proxy: FaultProxy | None = None

    def link_controllers(self) -> None:
        self.proxy = FaultProxy({i + 1: p for i, p in enumerate(self.controller_ports)})

    def voters_for(self, i: int) -> str:
        # Node i's own view of the quorum: its peers at the proxy ports of the links i → j.
        return self.proxy.voters(i + 1)

    def metadata_dir(self, i: int) -> Path:
        return self.tmp_path / f"node{i + 1}" / "data" / "__cluster_metadata-0"

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            if self.proxy is not None:
                self.proxy.close()


def proxied_cluster(request, tmp_path, extra=None):
    c = ProxiedCluster(request, tmp_path, extra)
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
def cluster(request, tmp_path):
    yield from proxied_cluster(request, tmp_path)


class CreateThrough:
    """CreateTopics sent to `node` itself: a fresh AdminClient whose only metadata so far is `node`'s, which names
    itself the controller (a broker forwards to the active controller), so the request goes to `node`. (The
    suite's cached AdminClients may route to whichever node answered their last Metadata.) Kept alive until the
    result is read: an AdminClient destroyed before its futures resolve fails them."""

    def __init__(self, node: BrokerProcess, name: str, timeout: float):
        self.client = AdminClient({"bootstrap.servers": node.bootstrap, "client.id": "fjord-kraft-faults"})
        self.name, self.timeout = name, timeout
        self.future = self.client.create_topics([NewTopic(name, 1, 1)], operation_timeout=timeout,
                                                request_timeout=timeout)[name]
        self.error: Exception | None = None

    def acknowledged(self) -> bool:
        try:
            self.future.result(timeout=self.timeout + 10)
            return True
        except Exception as e:  # noqa: BLE001 - refused, failed or timed out: not acknowledged
            self.error = e
            return False
        finally:
            self.client = None  # resolved: the client may go (else it keeps reconnecting to stopped nodes)


def describe(cluster: Cluster) -> str:
    return f"roles {[cluster.role(i) for i in range(3)]}"


def one_history(cluster: Cluster, acknowledged: set[str]) -> set[str] | None:
    """The common topic set when all three list the same topics, every acknowledged one among them."""
    seen = [topics(node) for node in cluster.nodes]
    return seen[0] if seen[0] == seen[1] == seen[2] and acknowledged <= seen[0] else None


def test_the_isolated_leader_resigns_and_the_majority_goes_on(cluster):
    # Flow: 1. a topic before the fault; 2. cut the leader from both followers (both directions; clients still
    # reach it): it resigns and the two others elect a new leader; 3. a topic through the majority is
    # acknowledged, one sent to the isolated node is not; configs of both topics changed through the majority;
    # 4. heal: one leader, one topic set everywhere — the majority's topic in it, the isolated node's one nowhere —
    # and every acknowledged config on every node.
    leader, epoch = wait_for(cluster.leader, STEP_S, lambda: f"no agreed leader: {describe(cluster)}")
    majority = [i for i in range(3) if i != leader]
    assert create(cluster.nodes[majority[0]], "before-cut"), "creation before the fault failed"
    wait_until(lambda: all_have(cluster, {"before-cut"}), STEP_S, lambda: [topics(n) for n in cluster.nodes])

    cut_at = time.monotonic()
    cluster.proxy.isolate(leader + 1)
    # A request to the isolated leader while it still believes it leads: it can append but never commit.
    isolated = CreateThrough(cluster.nodes[leader], "sent-to-isolated", 8)
    wait_until(lambda: cluster.role(leader)[0] != "leader", RESIGN_S,
               lambda: f"the isolated leader did not resign: {describe(cluster)}")
    new_leader, new_epoch = wait_for(lambda: cluster.leader(majority, above_epoch=epoch), ELECT_S,
                                     lambda: f"the majority did not elect: {describe(cluster)}")
    elected_s = time.monotonic() - cut_at
    during = CreateThrough(cluster.nodes[majority[1]], "during-cut", 15)
    assert during.acknowledged(), f"the majority did not acknowledge a topic: {during.error}"
    changes = alter_each([cluster.nodes[i] for i in majority], {"before-cut", "during-cut"})
    assert len(changes) == 2, \
        f"the majority did not acknowledge config changes: {sorted(changes)}; errors {ALTER_ERRORS[-3:]}"
    # Still cut off: whatever the isolated node says, a majority never saw this topic, so it cannot be created.
    assert not isolated.acknowledged(), "a topic sent to the isolated old leader was acknowledged without a majority"
    assert cluster.role(leader)[0] != "leader", f"the isolated node leads again while cut off: {describe(cluster)}"

    cluster.proxy.heal_all()
    wait_until(lambda: cluster.leader(above_epoch=epoch), STEP_S, lambda: f"no agreed leader: {describe(cluster)}")
    final = wait_for(lambda: one_history(cluster, {"before-cut", "during-cut"}), STEP_S,
                     lambda: f"no one history: {[sorted(topics(n)) for n in cluster.nodes]}")
    assert "sent-to-isolated" not in final, "the unacknowledged topic of the isolated leader appeared after healing"
    wait_configured(cluster, changes)
    print(f"isolated leader {leader + 1} epoch {epoch}: new leader {new_leader + 1} epoch {new_epoch} "
          f"{elected_s:.1f} s after the cut")


def test_followers_that_no_longer_hear_the_leader_elect_and_the_cluster_converges(cluster):
    # Flow: 1. cut leader → followers only: the leader still receives their fetches (and so keeps its majority),
    # but they get no answers, time out and elect one of them; 2. the new leader acknowledges a topic and a change
    # of its configs; 3. heal: the three agree on one leader and one topic set, the change on every node.
    leader, epoch = wait_for(cluster.leader, STEP_S, lambda: f"no agreed leader: {describe(cluster)}")
    followers = [i for i in range(3) if i != leader]
    for f in followers:
        cluster.proxy.cut(leader + 1, f + 1)
    wait_for(lambda: cluster.leader(followers, above_epoch=epoch), ELECT_S,
             lambda: f"the followers did not elect: {describe(cluster)}")
    during = CreateThrough(cluster.nodes[followers[0]], "after-asymmetric-cut", 15)
    assert during.acknowledged(), f"the majority did not acknowledge a topic: {during.error}"
    changes = alter_each([cluster.nodes[followers[1]]], {"after-asymmetric-cut"})
    assert len(changes) == 1, "the majority did not acknowledge a config change"
    cluster.proxy.heal_all()
    wait_until(lambda: cluster.leader(above_epoch=epoch), STEP_S, lambda: f"no agreed leader: {describe(cluster)}")
    wait_for(lambda: one_history(cluster, {"after-asymmetric-cut"}), STEP_S,
             lambda: f"no one history: {[sorted(topics(n)) for n in cluster.nodes]}")
    wait_configured(cluster, changes)


SNAPSHOT_BYTES = 4096
CHECKPOINT = re.compile(r"^(\d+)-(\d+)\.checkpoint$")
BATCH = re.compile(r"(?m)^baseOffset: \d+ lastOffset: (\d+)")
SNAPSHOT_TOPIC = re.compile(r'TopicRecord\(name: "([^"]+)"')


@pytest.fixture
def snapshotting_cluster(request, tmp_path):
    yield from proxied_cluster(request, tmp_path,
                               [f"metadata.log.max.record.bytes.between.snapshots={SNAPSHOT_BYTES}"])


def dump(*paths: Path) -> str:
    done = subprocess.run([fjord_bin(), "metadata", "dump", *map(str, paths)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, f"fjord metadata dump {paths} exited {done.returncode}:\n{done.stderr}"
    return done.stdout


def latest_checkpoint(folder: Path) -> tuple[int, Path] | None:
    """(end offset, path) of the folder's latest snapshot: the log before it may be gone."""
    found = [(int(m[1]), folder / p.name) for p in folder.iterdir() if (m := CHECKPOINT.match(p.name))]
    return max(found) if found else None


def metadata_topics(node: BrokerProcess) -> set[str]:
    """Topics in a Metadata response of `node` itself (kcat with only `node` to bootstrap from)."""
    _, doc = kcat_metadata(node.bootstrap)
    return {t["topic"] for t in doc["topics"] if not t["topic"].startswith("__")}


def test_a_restarted_follower_catches_up_through_a_snapshot(snapshotting_cluster):
    # Flow: 1. kill a follower; 2. create topics through the others until the leader has written a snapshot past
    # the follower's log end and deleted the log before it, so the follower cannot fetch what it missed;
    # 3. restart it: it installs the leader's snapshot (FetchSnapshot), lists every acknowledged topic in its own
    # Metadata with every acknowledged config change (one per batch of topics), and its metadata folder holds that
    # snapshot with the topics in it.
    cluster = snapshotting_cluster
    leader, _ = wait_for(cluster.leader, STEP_S, lambda: f"no agreed leader: {describe(cluster)}")
    follower, other = [i for i in range(3) if i != leader]
    assert create(cluster.nodes[other], "before-kill"), "creation before the fault failed"
    wait_until(lambda: all_have(cluster, {"before-kill"}), STEP_S, lambda: [topics(n) for n in cluster.nodes])
    cluster.nodes[follower].proc.kill()
    cluster.nodes[follower].proc.wait()
    # Where the follower will fetch from when it restarts: the end of its log (or of its latest snapshot).
    folder = cluster.metadata_dir(follower)
    ends = [int(last) + 1 for last in BATCH.findall(dump(*sorted(folder.glob("*.log"))))]
    follower_end = max(ends + [latest_checkpoint(folder)[0] if latest_checkpoint(folder) else 0])

    acknowledged = {"before-kill"}
    changes: dict[str, dict[str, str]] = {}
    batch = 0

    def leader_dropped_what_the_follower_needs() -> bool:
        nonlocal batch
        latest = latest_checkpoint(cluster.metadata_dir(leader))
        if latest is not None and latest[0] > follower_end:
            return True
        names = [f"while-down-{batch}-{n}" for n in range(10)]
        batch += 1
        futures = admin_of(cluster.nodes[[leader, other][batch % 2]]).create_topics(
            [NewTopic(name, 1, 1) for name in names], operation_timeout=15, request_timeout=15)
        for name in names:
            futures[name].result(timeout=20)  # with two of three up, every creation is acknowledged
            acknowledged.add(name)
        # A config change per batch, acknowledged while the follower is down: it learns them from the snapshot or
        # the log after it.
        wanted = {"retention.ms": str(7_200_000 + batch)}
        assert alter(cluster.nodes[[leader, other][batch % 2]], names[0], wanted), f"{names[0]}: change refused"
        changes[names[0]] = wanted
        return False

    wait_until(leader_dropped_what_the_follower_needs, STEP_S,
               lambda: f"no snapshot past {follower_end} on the leader after {len(acknowledged)} topics: "
                       f"{sorted(p.name for p in cluster.metadata_dir(leader).iterdir())}")
    snapshot_end, _ = latest_checkpoint(cluster.metadata_dir(leader))
    # The driver starts the leader's log at its latest snapshot (the segment file stays until it rolls, as in
    # Kafka, but Fetch below the log start is answered with the snapshot id): the follower's next fetch offset is
    # gone from the log.
    assert follower_end < snapshot_end

    cluster.restart(follower)
    wait_until(lambda: acknowledged <= metadata_topics(cluster.nodes[follower]), STEP_S,
               lambda: f"missing on the restarted node: "
                       f"{sorted(acknowledged - metadata_topics(cluster.nodes[follower]))}")
    wait_configured(cluster, changes, among=[follower])
    assert "installed the leader's metadata snapshot" in cluster.nodes[follower].log_text(), \
        "the restarted node caught up without fetching the leader's snapshot"
    installed = latest_checkpoint(cluster.metadata_dir(follower))
    assert installed is not None and installed[0] >= snapshot_end, f"no snapshot at or past {snapshot_end}: {installed}"
    in_snapshot = set(SNAPSHOT_TOPIC.findall(dump(installed[1])))
    # The snapshot holds what was committed before the follower stopped and what it missed (topics created after
    # the snapshot reach it through the log), and nothing that was not acknowledged.
    assert "before-kill" in in_snapshot and any(name.startswith("while-down-") for name in in_snapshot), in_snapshot
    assert in_snapshot <= acknowledged, f"topics never acknowledged: {sorted(in_snapshot - acknowledged)}"
