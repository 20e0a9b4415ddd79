#!/usr/bin/env python3
"""Metadata quorum benchmark (issue 12 item 10): three combined KRaft nodes (`process.roles=broker,controller`,
default quorum settings: election timeout 1 s, fetch timeout 2 s; the metadata log fsynced before a commit).

  failover   the active controller killed with SIGKILL, --kills times: the time from the kill to the first
             "metadata quorum role" log line of a survivor that leads a higher epoch (logs polled every 10 ms).
             The killed node is restarted and the quorum settles (every node agrees on one leader) before the
             next kill.
  create     CreateTopics latency: --topics topics (1 partition, replication factor 1) created one at a time
             through the active controller's node, each timed from the request to its acknowledgement (the
             records committed by a majority, each fsynced).

Prints a table of p50 / p99 / max (and --json writes every sample).

Usage:
  .venv/bin/python Benchmarks/quorum_bench.py --fjord .build/release/fjord          # or `make bench-quorum`
  .venv/bin/python Benchmarks/quorum_bench.py --fjord .build/debug/fjord --kills 5 --topics 50
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from confluent_kafka.admin import AdminClient, NewTopic

ROLE = re.compile(r"role=(\w+)\(epoch (\d+)(?:, leader (\d+))?")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(probe, timeout: float, what: str, interval: float = 0.01):
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise SystemExit(f"quorum_bench: not within {timeout:g} s: {what}")
        time.sleep(interval)


class Cluster:
    """Three combined nodes, node id i + 1, formatted with `fjord storage format`; each one's output in nodeN.log."""

    def __init__(self, fjord: str, folder: Path, extra_config: str = ""):
        """`extra_config`: more `key=value` lines for every node's server.properties."""
        self.fjord, self.folder = fjord, folder
        self.ports = [free_port() for _ in range(3)]
        controllers = [free_port() for _ in range(3)]
        voters = ",".join(f"{i + 1}@127.0.0.1:{p}" for i, p in enumerate(controllers))
        cluster_id = subprocess.run([fjord, "storage", "random-uuid"], capture_output=True, text=True,
                                    check=True).stdout.strip()
        self.configs = []
        for i in range(3):
            node = folder / f"node{i + 1}"
            node.mkdir()
            config = node / "server.properties"
            config.write_text(f"process.roles=broker,controller\nnode.id={i + 1}\n"
                              f"controller.quorum.voters={voters}\ncontroller.listener.names=CONTROLLER\n"
                              f"listeners=CONTROLLER://127.0.0.1:{controllers[i]},"
                              f"PLAINTEXT://127.0.0.1:{self.ports[i]}\n"
                              f"log.dirs={node}/data\nmetrics.listener=none\n{extra_config}")
            subprocess.run([fjord, "storage", "format", "-t", cluster_id, "-c", str(config)], check=True,
                           capture_output=True)
            self.configs.append(config)
        self.procs: list[subprocess.Popen | None] = [None] * 3
        self.log_starts = [0] * 3  # where the current process's output starts in nodeN.log
        for i in range(3):
            self.start(i)

    def log(self, i: int) -> Path:
        return self.folder / f"node{i + 1}.log"

    def start(self, i: int, overrides: tuple[str, ...] = ()) -> None:
        """Starts node i + 1; `overrides` are `key=value` settings given as `--override` for this start only."""
        self.log_starts[i] = self.log(i).stat().st_size if self.log(i).exists() else 0
        command = [self.fjord, "broker", "--config", str(self.configs[i])]
        for setting in overrides:
            command += ["--override", setting]
        with open(self.log(i), "ab") as out:
            self.procs[i] = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)

    def role(self, i: int) -> tuple[str, int, int | None] | None:
        with open(self.log(i), "rb") as f:
            f.seek(self.log_starts[i])
            matches = ROLE.findall(f.read().decode(errors="replace"))
        if not matches:
            return None
        name, epoch, leader = matches[-1]
        return name, int(epoch), int(leader) if leader else None

    def leader(self, among=(0, 1, 2), above_epoch: int = -1) -> tuple[int, int] | None:
        """(index, epoch) of the leader every node of `among` agrees on."""
        roles = [self.role(i) for i in among]
        if any(r is None for r in roles):
            return None
        leaders = [(i, r[1]) for i, r in zip(among, roles) if r[0] == "leader" and r[1] > above_epoch]
        if len(leaders) != 1:
            return None
        index, epoch = leaders[0]
        return (index, epoch) if all(r[1] == epoch and r[2] == index + 1 for r in roles) else None

    def new_leader(self, among, above_epoch: int) -> tuple[int, int] | None:
        """A survivor that logged leading an epoch above `above_epoch` (the first such line is enough)."""
        for i in among:
            role = self.role(i)
            if role and role[0] == "leader" and role[1] > above_epoch:
                return i, role[1]
        return None

    def ready(self, i: int) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.ports[i]), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        for p in self.procs:
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            if p is not None:
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def bench_failover(cluster: Cluster, kills: int) -> list[float]:
    samples = []
    for n in range(kills):
        leader, epoch = wait_for(cluster.leader, 60, "an agreed leader")
        for i in range(3):
            wait_for(lambda: cluster.ready(i), 60, f"node {i + 1} listening")
        survivors = [i for i in range(3) if i != leader]
        cluster.procs[leader].kill()
        killed_at = time.monotonic()
        cluster.procs[leader].wait()
        wait_for(lambda: cluster.new_leader(survivors, epoch), 60, "a new leader")
        samples.append(time.monotonic() - killed_at)
        print(f"  kill {n + 1}/{kills}: node {leader + 1} (epoch {epoch}) -> new leader in {samples[-1]:.2f} s",
              file=sys.stderr)
        cluster.start(leader)
    return samples


def bench_create(cluster: Cluster, topics: int) -> list[float]:
    leader, _ = wait_for(cluster.leader, 60, "an agreed leader")
    admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{cluster.ports[leader]}", "client.id": "quorum-bench"})
    admin.create_topics([NewTopic("warm-up", 1, 1)], operation_timeout=30)["warm-up"].result(60)
    samples = []
    for n in range(topics):
        name = f"bench-{n}"
        started = time.monotonic()
        admin.create_topics([NewTopic(name, 1, 1)], operation_timeout=30)[name].result(60)
        samples.append(time.monotonic() - started)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fjord", default=".build/release/fjord")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--topics", type=int, default=200)
    parser.add_argument("--json")
    args = parser.parse_args()
    fjord = str(Path(args.fjord).resolve())
    results = {}
    with tempfile.TemporaryDirectory(prefix="fjord-quorum-bench-") as tmp:
        cluster = Cluster(fjord, Path(tmp))
        try:
            results["CreateTopics latency (ms)"] = [s * 1000 for s in bench_create(cluster, args.topics)]
            results["leader failover after SIGKILL (s)"] = bench_failover(cluster, args.kills)
        finally:
            cluster.stop()
    print(f"fjord {fjord}, 3 combined nodes, default quorum settings\n")
    print("| measure | samples | p50 | p99 | max |")
    print("|---|---:|---:|---:|---:|")
    for name, samples in results.items():
        fmt = "{:.1f}" if "ms" in name else "{:.2f}"
        print(f"| {name} | {len(samples)} | {fmt.format(statistics.median(samples))} | "
              f"{fmt.format(percentile(samples, 0.99))} | {fmt.format(max(samples))} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
