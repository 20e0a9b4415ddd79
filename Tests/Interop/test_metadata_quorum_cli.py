"""Operators see the metadata quorum (issue 12 item 6): `fjord metadata-quorum describe --status | --replication`
against three combined nodes (the cluster of test_kraft_quorum.py), through a controller listener and through a
broker listener, and the quorum's gauges on each node's /metrics.

Flow:
1. Three nodes, each with a metrics listener, elect a leader (read from their logs, as test_kraft_quorum.py does).
2. `--status --bootstrap-controller <a follower's controller listener>`: LeaderId is the leader the logs name, three
   CurrentVoters with their CONTROLLER endpoints, no observers, and MaxFollowerLag reaches 0.
3. `--replication --bootstrap-server <a follower's broker listener>` (the command follows the follower's answer to
   the leader): one Leader row for the leader, two Follower rows, and every Lag reaches 0; `--format json` agrees.
4. /metrics of every node: fjord_metadata_quorum_leader_id and _epoch agree with the logs, _is_leader is 1 on the
   leader only, the high watermark is known; the leader exports a voter lag per voter, which reaches 0.

A second test: controllers register with the active controller (KIP-919) and are described through a controller
listener; `fjord features` describes and changes metadata.version through brokers and controllers (UpdateFeatures);
the leader's commit latency on /metrics.
"""

from __future__ import annotations

import json
import time
import re
import subprocess

import pytest

from conftest import BrokerProcess, _wait_for_metrics, fjord_bin
from datapath_clients import drop_admin_clients  # noqa: F401 - autouse fixture
from test_kraft_quorum import STEP_S, Cluster
from test_metrics import Scrape
from waiting import wait_for, wait_until


class MetricsCluster(Cluster):
    """test_kraft_quorum's three nodes, each also serving /metrics on a port of its own."""

    def _spawn(self, i: int, append: bool = False) -> BrokerProcess:
        # Port 0: the node binds a port of the kernel's choosing and logs it (`metrics listening ... port=N`, read by
        # `_wait_for_metrics`). A port picked free beforehand was once taken by another process before the node bound
        # it (fresh-clone run under load: "Address already in use").
        log_path = self.tmp_path / f"node{i + 1}.log"
        argv = [fjord_bin(), "broker", "--config", str(self.configs[i]),
                "--override", "metrics.listener=127.0.0.1:0"]
        with open(log_path, "ab" if append else "wb") as log:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    cwd=self.tmp_path)
        return BrokerProcess(f"node{i + 1}", self.ports[i], proc, self.tmp_path / f"node{i + 1}", log_path, argv,
                             metrics_port=0)


@pytest.fixture
def cluster(request, tmp_path):
    c = MetricsCluster(request, tmp_path)
    try:
        yield c
    finally:
        c.stop()


def describe(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([fjord_bin(), "metadata-quorum", "describe", *args], capture_output=True, text=True,
                          timeout=60)


def status_fields(text: str) -> dict[str, str]:
    return {m[0]: m[1] for m in re.findall(r"^(\w+):\s+(.*)$", text, re.M)}


def test_describe_and_metrics_show_the_leader_three_voters_and_lags_reaching_zero(cluster):
    leader, epoch = wait_for(cluster.leader, STEP_S, lambda: f"no agreed leader: {[cluster.role(i) for i in range(3)]}")
    leader_id = leader + 1
    follower = next(i for i in range(3) if i != leader)
    controller = f"127.0.0.1:{cluster.controller_ports[follower]}"

    def status_caught_up():
        done = describe("--status", "--bootstrap-controller", controller)
        assert done.returncode == 0, done
        fields = status_fields(done.stdout)
        return fields if fields["MaxFollowerLag"] == "0" else None

    fields = wait_for(status_caught_up, STEP_S, "MaxFollowerLag never reached 0")
    assert fields["LeaderId"] == str(leader_id) and fields["LeaderEpoch"] == str(epoch), fields
    assert int(fields["HighWatermark"]) > 0, fields
    voters = re.findall(r'\{"id": (\d+), "directoryId": [^,]+, "endpoints": \["CONTROLLER://127\.0\.0\.1:(\d+)"\]\}',
                        fields["CurrentVoters"])
    assert sorted((int(i), int(p)) for i, p in voters) == [(i + 1, cluster.controller_ports[i]) for i in range(3)], \
        fields["CurrentVoters"]
    assert fields["CurrentObservers"] == "[]", fields

    bootstrap = cluster.nodes[follower].bootstrap

    def replication_caught_up():
        done = describe("--replication", "--bootstrap-server", bootstrap)
        assert done.returncode == 0, done
        rows = [line.split("\t") for line in done.stdout.splitlines()[1:]]
        return rows if all(row[3].strip() == "0" for row in rows) else None

    rows = wait_for(replication_caught_up, STEP_S, "a voter's Lag never reached 0")
    assert [(int(r[0]), r[6].strip()) for r in rows][0] == (leader_id, "Leader"), rows
    assert sorted(int(r[0]) for r in rows if r[6].strip() == "Follower") == sorted(
        i + 1 for i in range(3) if i != leader), rows
    done = describe("--replication", "--format", "json", "--bootstrap-server", bootstrap)
    assert done.returncode == 0, done
    replicas = json.loads(done.stdout)["replicas"]
    assert {r["node_id"]: r["status"] for r in replicas} == {
        i + 1: "leader" if i == leader else "follower" for i in range(3)}
    # Kafka reports fetch times as wall-clock milliseconds since the epoch: every voter fetched within the test.
    now_ms = time.time() * 1000
    for r in replicas:
        assert now_ms - 120_000 < r["last_fetch_timestamp"] <= now_ms + 1_000, r

    ports = [_wait_for_metrics(node, node.metrics_port) for node in cluster.nodes]
    for i, port in enumerate(ports):
        scrape = Scrape(port)
        assert scrape.value("fjord_metadata_quorum_leader_id") == leader_id, (i, scrape.text)
        assert scrape.value("fjord_metadata_quorum_epoch") == epoch
        assert scrape.value("fjord_metadata_quorum_is_leader") == (1 if i == leader else 0)
        assert scrape.value("fjord_metadata_quorum_high_watermark") > 0

    def leader_lags():
        lags = Scrape(ports[leader]).series("fjord_metadata_quorum_voter_lag")
        by_voter = {int(dict(labels)["voter"]): value for labels, value in lags.items()}
        return by_voter if sorted(by_voter) == [1, 2, 3] and all(v == 0 for v in by_voter.values()) else None

    wait_for(leader_lags, STEP_S, lambda: Scrape(ports[leader]).text)
    assert not Scrape(ports[follower]).series("fjord_metadata_quorum_voter_lag"), "a follower exports voter lags"


def fjord(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([fjord_bin(), *args], capture_output=True, text=True, timeout=60)


def feature_line(text: str) -> dict[str, str]:
    """The metadata.version line of `fjord features describe`, as its fields."""
    line = next(line for line in text.splitlines() if line.startswith("Feature: metadata.version"))
    return dict(field.split(": ", 1) for field in line.split("\t"))


def test_controllers_register_and_features_change_through_the_active_controller(cluster):
    # Flow: 1. every controller registers itself with the active controller (KIP-919): `fjord cluster describe
    # --bootstrap-controller <a follower>` (DescribeCluster, endpoint type 2) lists the three at their controller
    # listeners, the leader active, and `metadata-quorum describe --status` through a controller knows the cluster
    # id; 2. `fjord features describe` shows metadata.version 4.0-IV3 finalized; 3. a safe downgrade to 4.0-IV1
    # (no metadata change between) is acknowledged through a follower's broker listener (forwarded), and every
    # node's ApiVersions then reports it with a newer epoch; the dry run of an upgrade changes nothing; 4. refusals
    # as Kafka words them: a downgrade across a metadata change, an unsafe one, an unknown level, an unsupported
    # feature (exit 1); 5. the upgrade back, straight to the controllers; 6. the leader's /metrics has the commit
    # latency of those commits.
    leader, _ = wait_for(cluster.leader, STEP_S, lambda: f"no agreed leader: {[cluster.role(i) for i in range(3)]}")
    follower = next(i for i in range(3) if i != leader)
    controller = f"127.0.0.1:{cluster.controller_ports[follower]}"

    def registered():
        done = fjord("cluster", "describe", "--bootstrap-controller", controller, "--format", "json")
        if done.returncode != 0:
            return None
        doc = json.loads(done.stdout)
        found = sorted((c["id"], c["port"], c["active"]) for c in doc["controllers"])
        wanted = [(i + 1, cluster.controller_ports[i], i == leader) for i in range(3)]
        return doc if found == wanted else None

    doc = wait_for(registered, STEP_S, lambda: fjord("cluster", "describe", "--bootstrap-controller", controller))
    assert doc["controller"] == leader + 1
    status = describe("--status", "--bootstrap-controller", controller)
    assert status.returncode == 0, status
    assert status_fields(status.stdout)["ClusterId"] == doc["cluster_id"] != "unknown", status.stdout
    text = fjord("cluster", "describe", "--bootstrap-controller", controller)
    assert text.returncode == 0, text
    rows = {cells[0]: cells for cells in map(str.split, text.stdout.splitlines()) if cells[:1] in (["1"], ["2"], ["3"])}
    assert rows[str(leader + 1)][2:] == [str(cluster.controller_ports[leader]), "active"], text.stdout

    broker = cluster.nodes[follower].bootstrap
    before = fjord("features", "describe", "--bootstrap-server", broker)
    assert before.returncode == 0, before
    fields = feature_line(before.stdout)
    assert fields["FinalizedVersionLevel"] == "4.0-IV3" and fields["SupportedMaxVersion"] == "4.0-IV3", fields
    epoch = int(fields["Epoch"])

    dry = fjord("features", "downgrade", "--metadata", "4.0-IV1", "--dry-run", "--bootstrap-server", broker)
    assert dry.returncode == 0 and "metadata.version can be downgraded to 23." in dry.stdout, dry
    down = fjord("features", "downgrade", "--metadata", "4.0-IV1", "--bootstrap-server", broker)
    assert down.returncode == 0 and "metadata.version was downgraded to 23." in down.stdout, down

    def everyone_at(level: str):
        lines = [feature_line(fjord("features", "describe", "--bootstrap-server", n.bootstrap).stdout)
                 for n in cluster.nodes]
        return lines if all(line["FinalizedVersionLevel"] == level for line in lines) else None

    lines = wait_for(lambda: everyone_at("4.0-IV1"), STEP_S, "not every node reports metadata.version 4.0-IV1")
    assert all(int(line["Epoch"]) > epoch for line in lines), lines
    upgrade_dry = fjord("features", "upgrade", "--feature", "metadata.version=25", "--dry-run",
                        "--bootstrap-server", broker)
    assert upgrade_dry.returncode == 0 and "metadata.version can be upgraded to 25." in upgrade_dry.stdout
    assert everyone_at("4.0-IV1")

    refusals = [
        (["downgrade", "--metadata", "3.9-IV0"], "might delete metadata information"),
        (["downgrade", "--metadata", "3.9-IV0", "--unsafe"], "Unsafe metadata downgrade is not supported"),
        (["upgrade", "--feature", "metadata.version=99"], "Could not upgrade metadata.version to 99."),
        (["upgrade", "--feature", "no.such.feature=1"], "does not support this feature"),
    ]
    for args, words in refusals:
        done = fjord("features", *args, "--bootstrap-server", broker)
        assert done.returncode == 1 and words in done.stdout, (args, done)
    assert everyone_at("4.0-IV1")

    up = fjord("features", "upgrade", "--metadata", "4.0-IV3", "--bootstrap-controller", controller)
    assert up.returncode == 0 and "metadata.version was upgraded to 25." in up.stdout, up
    wait_for(lambda: everyone_at("4.0-IV3"), STEP_S, "not every node reports metadata.version 4.0-IV3 again")
    on_controller = fjord("features", "describe", "--bootstrap-controller", controller)
    assert feature_line(on_controller.stdout)["FinalizedVersionLevel"] == "4.0-IV3", on_controller

    ports = [_wait_for_metrics(node, node.metrics_port) for node in cluster.nodes]
    latency = Scrape(ports[leader]).value("fjord_metadata_quorum_commit_latency_max_ms")
    assert latency is not None and latency > 0, Scrape(ports[leader]).text
    assert Scrape(ports[leader]).value("fjord_metadata_quorum_commit_latency_avg_ms") <= latency
