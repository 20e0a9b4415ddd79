#!/usr/bin/env python3
"""Metadata benchmarks (issue 12 item 10) on three combined KRaft nodes (`process.roles=broker,controller`, default
quorum settings, the metadata log fsynced before a commit), started as `quorum_bench.py` starts them.

  propagation  --changes topics (1 partition, replication factor 1) created one at a time with CreateTopics v4 sent
               to the active controller's node. From the moment the answer arrives (the records are committed by a
               majority and applied on the leader) every node is polled with Metadata v4 (no auto-creation) on one
               connection each, the three requests pipelined, until the node lists the topic with a leader: the
               time to the last node is the propagation delay, per node as well. The poll round trip is the
               resolution (printed). A pause of 0-20 ms (random) between changes keeps them from riding one
               rhythm of the followers' fetches.
  image        --topics x --partitions (default 1,000 x 100 = 100,000 partitions, replication factor 1, spread over
               the three brokers: each holds a third of the partitions as local logs), created with CreateTopics
               v4, --per-request topics per request. Then every node is restarted once with
               `metadata.log.max.record.bytes.between.snapshots=1`, so it writes a snapshot of the whole image as
               soon as it has replayed its log (the bench waits for the "wrote a metadata snapshot" line), and then
               --restarts times a follower is stopped (SIGTERM: a controlled shutdown) and started again while the
               two others run: from the process start to its "metadata quorum loaded" log line (the log and the
               latest snapshot read, the image rebuilt from the snapshot; the node's local partition logs are
               opened before that), and to "ready" (caught up with the quorum, registered, unfenced, listening).
               VmRSS when the image is loaded and when ready, VmHWM when ready. Finally every topic is deleted
               (DeleteTopics v3, --per-request topics per request).
               Throughout the creation, the restarts and the deletion a thread sends ApiVersions to every broker
               listener that accepts connections every 10 ms and records the round trips: an event loop blocked by
               partition creation or deletion shows as a slow ApiVersions.

Prints Markdown tables (--json writes every sample). Usage:
  .venv/bin/python Benchmarks/metadata_bench.py --fjord .build/release/fjord          # or `make bench-metadata`
  .venv/bin/python Benchmarks/metadata_bench.py --only propagation --changes 100
  .venv/bin/python Benchmarks/metadata_bench.py --only image --topics 100 --partitions 100
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kafka_wire import METADATA, NOT_CONTROLLER, TOPIC_ALREADY_EXISTS, Connection  # noqa: E402
from quorum_bench import Cluster, percentile, wait_for  # noqa: E402

SNAPSHOT_WRITTEN = re.compile(r"bytes=(\d+).*wrote a metadata snapshot|wrote a metadata snapshot.*bytes=(\d+)")
READY = re.compile(r"\] ready$", re.MULTILINE)  # the broker's "ready" line: caught up, unfenced, listening
SNAPSHOT_REPLAYED = re.compile(r"replay\.ms=(\d+(?:\.\d+)?)")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def status_kib(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def log_text(cluster: Cluster, i: int) -> str:
    with open(cluster.log(i), "rb") as f:
        f.seek(cluster.log_starts[i])
        return f.read().decode(errors="replace")


def summary(samples: list[float]) -> tuple[float, float, float]:
    return statistics.median(samples), percentile(samples, 0.99), max(samples)


class Responsiveness:
    """ApiVersions to every node's broker listener every 10 ms on a thread of its own; round trips per phase. A node
    that does not accept connections (starting, stopped) is skipped until it does."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.phase = "idle"
        self.samples: dict[str, list[float]] = {}
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        connections: list[Connection | None] = [None] * len(self.cluster.ports)
        while not self.stopped.wait(0.01):
            for i, port in enumerate(self.cluster.ports):
                try:
                    if connections[i] is None:
                        connections[i] = Connection(port, timeout=30)
                    started = time.monotonic()
                    connections[i].api_versions()
                    self.samples.setdefault(self.phase, []).append((time.monotonic() - started) * 1000)
                except OSError:
                    if connections[i] is not None:
                        connections[i].close()
                    connections[i] = None

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(60)


def current_leader(cluster: Cluster) -> tuple[int, int] | None:
    """(index, epoch) of the node that logged leading the highest epoch any node logged. Unlike `Cluster.leader` it
    does not need a line from every node: a node restarted into the epoch it knew follows without logging a role."""
    roles = [(i, cluster.role(i)) for i in range(len(cluster.procs))]
    roles = [(i, role) for i, role in roles if role is not None and cluster.procs[i].poll() is None]
    if not roles:
        return None
    top = max(role[1] for _, role in roles)
    leaders = [i for i, role in roles if role[0] == "leader" and role[1] == top]
    return (leaders[0], top) if len(leaders) == 1 else None


def leader_connection(cluster: Cluster) -> tuple[int, Connection]:
    leader, _ = wait_for(lambda: current_leader(cluster), 60, "a leader")
    wait_for(lambda: cluster.ready(leader), 120, f"node {leader + 1} listening")
    return leader, Connection(cluster.ports[leader], timeout=120)


def bench_propagation(cluster: Cluster, changes: int) -> dict:
    leader, admin = leader_connection(cluster)
    for i in range(3):
        wait_for(lambda: cluster.ready(i), 60, f"node {i + 1} listening")
    probes = [Connection(port) for port in cluster.ports]
    delays, per_node, rounds = [], {i + 1: [] for i in range(3)}, []
    for n in range(-1, changes):  # -1: warm-up, not counted
        name = f"propagation-{n}" if n >= 0 else "propagation-warm-up"
        errors = admin.create_topics([name], 1, timeout_ms=30_000)
        acked = time.monotonic()
        if errors.get(name) != 0:
            raise SystemExit(f"metadata_bench: CreateTopics {name}: error {errors}")
        seen: dict[int, float] = {}
        body = Connection.metadata_body([name])
        while len(seen) < 3:
            pending = [i for i in range(3) if i not in seen]
            started = time.monotonic()
            for i in pending:
                probes[i].send(METADATA, 4, body)
            for i in pending:
                error, leaders = Connection.parse_metadata(probes[i].receive()).get(name, (3, []))
                if error == 0 and leaders and all(leader >= 0 for leader in leaders):
                    seen[i] = time.monotonic() - acked
            rounds.append((time.monotonic() - started) * 1000)
            if time.monotonic() - acked > 30:
                raise SystemExit(f"metadata_bench: {name} not on every node within 30 s: {seen}")
        if n >= 0:
            delays.append(max(seen.values()) * 1000)
            for i, delay in seen.items():
                per_node[i + 1].append(delay * 1000)
        time.sleep(random.uniform(0, 0.02))
    for probe in probes:
        probe.close()
    admin.close()
    log(f"propagation: {changes} changes, leader node {leader + 1}")
    return {"delays_ms": delays, "per_node_ms": per_node, "poll_round_ms": rounds, "leader": leader + 1}


def create_all(cluster: Cluster, names: list[str], partitions: int, per_request: int) -> list[float]:
    leader, admin = leader_connection(cluster)
    latencies = []
    for start in range(0, len(names), per_request):
        batch = names[start:start + per_request]
        while True:
            began = time.monotonic()
            try:
                errors = admin.create_topics(batch, partitions, timeout_ms=120_000)
            except OSError as error:  # a node that lost the leadership mid-request may close the connection
                log(f"  CreateTopics failed ({error}): again through the current leader")
                errors = {name: NOT_CONTROLLER for name in batch}
            if any(code == NOT_CONTROLLER for code in errors.values()):
                admin.close()
                leader, admin = leader_connection(cluster)
                continue
            bad = {name: code for name, code in errors.items() if code not in (0, TOPIC_ALREADY_EXISTS)}
            if bad:
                raise SystemExit(f"metadata_bench: CreateTopics: {bad}")
            latencies.append((time.monotonic() - began) * 1000)
            break
        if (start // per_request) % 20 == 0:
            log(f"  created {start + len(batch)}/{len(names)} topics ({latencies[-1]:.0f} ms for the last request)")
    admin.close()
    return latencies


def count_partitions(port: int, names: set[str]) -> int:
    connection = Connection(port, timeout=120)
    try:
        topics = connection.metadata(None)
    finally:
        connection.close()
    return sum(len(leaders) for name, (error, leaders) in topics.items() if name in names and error == 0)


def latest_snapshot(cluster: Cluster, i: int) -> Path | None:
    files = sorted((cluster.folder / f"node{i + 1}" / "data" / "__cluster_metadata-0").glob("*.checkpoint"))
    return files[-1] if files else None


def stop_node(cluster: Cluster, i: int, sig: int = signal.SIGTERM, timeout: float = 120) -> float:
    began = time.monotonic()
    process = cluster.procs[i]
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except Exception:
        process.kill()
        process.wait()
    return time.monotonic() - began


def timed_start(cluster: Cluster, i: int, overrides: tuple[str, ...] = ()) -> dict:
    """Starts node i and follows its log: seconds from the start to the image loaded and to ready, RSS at each."""
    started = time.monotonic()
    cluster.start(i, overrides)
    pid = cluster.procs[i].pid
    result: dict = {}
    deadline = started + 600
    while "ready_s" not in result:
        if cluster.procs[i].poll() is not None:
            raise SystemExit(f"metadata_bench: node {i + 1} exited ({cluster.procs[i].returncode}), see "
                             f"{cluster.log(i)}")
        if time.monotonic() > deadline:
            raise SystemExit(f"metadata_bench: node {i + 1} not ready within 600 s")
        text = log_text(cluster, i)
        now = time.monotonic()
        if "loaded_s" not in result and "metadata quorum loaded" in text:
            result["loaded_s"] = now - started
            result["loaded_rss_mib"] = (status_kib(pid, "VmRSS") or 0) / 1024
            replayed = SNAPSHOT_REPLAYED.search(text)
            result["snapshot_replay_ms"] = float(replayed.group(1)) if replayed else None
        if "loaded_s" in result and READY.search(text):
            result["ready_s"] = now - started
            result["ready_rss_mib"] = (status_kib(pid, "VmRSS") or 0) / 1024
            result["ready_hwm_mib"] = (status_kib(pid, "VmHWM") or 0) / 1024
        time.sleep(0.002)
    return result


def bench_image(fjord: str, folder: Path, topics: int, partitions: int, per_request: int, restarts: int) -> dict:
    extra = "metadata.log.max.record.bytes.between.snapshots=1048576\n"
    cluster = Cluster(fjord, folder, extra_config=extra)
    probe = None
    results: dict = {"topics": topics, "partitions_per_topic": partitions}
    try:
        for i in range(3):
            wait_for(lambda: cluster.ready(i), 120, f"node {i + 1} listening")
        probe = Responsiveness(cluster)
        names = [f"image-{n:05d}" for n in range(topics)]
        probe.phase = "create"
        began = time.monotonic()
        results["create_request_ms"] = create_all(cluster, names, partitions, per_request)
        results["create_s"] = time.monotonic() - began
        log(f"image: {topics * partitions} partitions created in {results['create_s']:.1f} s")
        wanted = set(names)
        for i in range(3):
            wait_for(lambda: count_partitions(cluster.ports[i], wanted) == topics * partitions, 300,
                     f"node {i + 1} lists every partition with a leader", interval=0.5)
        results["listed_s"] = time.monotonic() - began

        # One restart with a snapshot due after every record: each node snapshots its whole image once replayed.
        probe.phase = "snapshot restart"
        for i in range(3):
            stop_node(cluster, i)
            timed_start(cluster, i, ("metadata.log.max.record.bytes.between.snapshots=1",))
            wait_for(lambda: "wrote a metadata snapshot" in log_text(cluster, i), 300,
                     f"node {i + 1} wrote a snapshot", interval=0.05)
            stop_node(cluster, i)
            cluster.start(i)
            wait_for(lambda: READY.search(log_text(cluster, i)), 600, f"node {i + 1} ready again",
                     interval=0.05)
        snapshots = [latest_snapshot(cluster, i) for i in range(3)]
        results["snapshot_bytes"] = [s.stat().st_size if s else None for s in snapshots]
        results["snapshot_files"] = [s.name if s else None for s in snapshots]
        log(f"image: snapshots {results['snapshot_files']} of {results['snapshot_bytes']} bytes")

        probe.phase = "restart"
        runs = []
        for n in range(restarts):
            leader, _ = wait_for(lambda: current_leader(cluster), 60, "a leader")
            node = [i for i in range(3) if i != leader][n % 2]
            shutdown_s = stop_node(cluster, node)
            run = timed_start(cluster, node)
            run.update(node=node + 1, shutdown_s=shutdown_s)
            runs.append(run)
            log(f"  restart {n + 1}/{restarts}: node {node + 1} loaded in {run['loaded_s']:.2f} s "
                f"(snapshot replay {run['snapshot_replay_ms']} ms), ready in {run['ready_s']:.2f} s, "
                f"RSS {run['loaded_rss_mib']:.0f} / {run['ready_rss_mib']:.0f} MiB")
        results["restarts"] = runs

        probe.phase = "delete"
        leader, admin = leader_connection(cluster)
        began = time.monotonic()
        for start in range(0, topics, per_request):
            batch = names[start:start + per_request]
            errors = admin.delete_topics(batch, timeout_ms=120_000)
            bad = {name: code for name, code in errors.items() if code != 0}
            if bad:
                raise SystemExit(f"metadata_bench: DeleteTopics: {bad}")
        admin.close()
        for i in range(3):
            wait_for(lambda: count_partitions(cluster.ports[i], wanted) == 0, 300, f"node {i + 1} lists none",
                     interval=0.5)
        results["delete_s"] = time.monotonic() - began
        log(f"image: every topic deleted in {results['delete_s']:.1f} s")
        probe.phase = "idle"
    finally:
        if probe:
            probe.stop()
            results["api_versions_ms"] = probe.samples
        cluster.stop()
    return results


def print_tables(fjord: str, propagation: dict | None, image: dict | None) -> None:
    print(f"fjord {fjord}, 3 combined nodes, default quorum settings\n")
    if propagation:
        print("| propagation, commit to every node's image (ms) | samples | p50 | p99 | max |")
        print("|---|---:|---:|---:|---:|")
        rows = [("every node (the last one)", propagation["delays_ms"])]
        rows += [(f"node {node}" + (" (leader)" if node == propagation["leader"] else ""), samples)
                 for node, samples in propagation["per_node_ms"].items()]
        rows.append(("poll round trip (resolution)", propagation["poll_round_ms"]))
        for name, samples in rows:
            p50, p99, top = summary(samples)
            print(f"| {name} | {len(samples)} | {p50:.2f} | {p99:.2f} | {top:.2f} |")
        print()
    if image:
        total = image["topics"] * image["partitions_per_topic"]
        print(f"| {image['topics']:,} topics x {image['partitions_per_topic']:,} partitions = {total:,} | value |")
        print("|---|---|")
        create = image["create_request_ms"]
        print(f"| created (CreateTopics, every node lists them) | {image['create_s']:.1f} s "
              f"({image['listed_s']:.1f} s), per request p50 {statistics.median(create):.0f} ms, "
              f"max {max(create):.0f} ms |")
        sizes = [s for s in image["snapshot_bytes"] if s]
        print(f"| snapshot file | {min(sizes) / 1e6:.2f}-{max(sizes) / 1e6:.2f} MB ({', '.join(image['snapshot_files'])})"
              " |")
        for key, label, unit in (("loaded_s", "process start to image loaded", "s"),
                                 ("snapshot_replay_ms", "of which snapshot decoded and replayed", "ms"),
                                 ("ready_s", "process start to ready (caught up, unfenced, listening)", "s"),
                                 ("loaded_rss_mib", "VmRSS with the image loaded", "MiB"),
                                 ("ready_rss_mib", "VmRSS when ready", "MiB"),
                                 ("ready_hwm_mib", "VmHWM when ready", "MiB"),
                                 ("shutdown_s", "controlled shutdown before the restart", "s")):
            values = [run[key] for run in image["restarts"] if run.get(key) is not None]
            if values:
                print(f"| {label} | median {statistics.median(values):.2f} {unit} "
                      f"({min(values):.2f}-{max(values):.2f}, {len(values)} restarts) |")
        print(f"| every topic deleted (every node lists none) | {image['delete_s']:.1f} s |")
        print()
        print("| ApiVersions round trip during (ms) | samples | p50 | p99 | max |")
        print("|---|---:|---:|---:|---:|")
        for phase, samples in image["api_versions_ms"].items():
            if samples:
                p50, p99, top = summary(samples)
                print(f"| {phase} | {len(samples)} | {p50:.2f} | {p99:.2f} | {top:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fjord", default=".build/release/fjord")
    parser.add_argument("--only", choices=("propagation", "image"))
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--topics", type=int, default=1000)
    parser.add_argument("--partitions", type=int, default=100)
    parser.add_argument("--per-request", type=int, default=10)
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument("--workdir", help="the nodes' folders go into a new folder here (default: the system's)")
    parser.add_argument("--keep", action="store_true", help="keep the nodes' folders and logs")
    parser.add_argument("--json")
    args = parser.parse_args()
    fjord = str(Path(args.fjord).resolve())
    propagation = image = None
    tmp = tempfile.mkdtemp(prefix="fjord-metadata-bench-", dir=args.workdir)
    log(f"work dir {tmp}")
    try:
        if args.only in (None, "propagation"):
            folder = Path(tmp) / "propagation"
            folder.mkdir()
            cluster = Cluster(fjord, folder)
            try:
                propagation = bench_propagation(cluster, args.changes)
            finally:
                cluster.stop()
        if args.only in (None, "image"):
            folder = Path(tmp) / "image"
            folder.mkdir()
            image = bench_image(fjord, folder, args.topics, args.partitions, args.per_request, args.restarts)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print_tables(fjord, propagation, image)
    if args.json:
        Path(args.json).write_text(json.dumps({"propagation": propagation, "image": image}, indent=1) + "\n")


if __name__ == "__main__":
    main()
