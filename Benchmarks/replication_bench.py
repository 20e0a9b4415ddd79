#!/usr/bin/env python3
"""Replication benchmark (issue 13 item 10), release build, default settings unless said:

  throughput  acks=all produce of --messages records of --size bytes (confluent-kafka, linger.ms=5) into a topic of
              --partitions partitions: one node with replication factor 1, then three combined KRaft nodes with
              replication factor 3 and min.insync.replicas=2 — same client, same run, each --repeat times (median
              and spread). MB/s, and the brokers' CPU seconds per MB produced (the sum over the three nodes for the
              cluster: each record is written three times and sent twice).
  latency     end-to-end: an acks=all producer paced at --rate records per second (--latency-size bytes, librdkafka's
              default linger) for --latency-seconds into a topic of --partitions partitions, and a consumer in
              another process reading them; each record's latency is the consumer's wall clock when it got it minus
              the record's CreateTime (the producer's clock when it was produced: one machine, one clock). The
              first second is warm-up. Same two setups, each --repeat times: p50, p99 and max.
  failover    a partition with replication factor 3 under an idempotent acks=all producer sending a record every
              2 ms: its leader SIGKILLed --kills times, then stopped with SIGTERM (controlled shutdown) --kills
              times; each sample is the time from the kill to the first acknowledgement of a record sent after it.
              The node is restarted and the ISR whole again before the next kill.

Both share the machine's 2 cores with the client. Prints markdown tables (and --json writes every sample).

Usage:
  .venv/bin/python Benchmarks/replication_bench.py --fjord .build/release/fjord     # or `make bench-replication`
  .venv/bin/python Benchmarks/replication_bench.py --fjord .build/release/fjord --kills 5 --repeat 1
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, str(Path(__file__).resolve().parent))
from broker_bench import cpu_method, produce_messages, proc_cpu_seconds  # noqa: E402
from quorum_bench import Cluster, free_port, percentile, wait_for  # noqa: E402

TOPIC = "replicated"
LATENCY_TOPIC = "latency"


class SingleNode:
    """One node alone (no quorum), as `make run` starts it."""

    def __init__(self, fjord: str, folder: Path):
        self.port = free_port()
        command = [fjord, "broker", "--override", f"listeners=PLAINTEXT://127.0.0.1:{self.port}",
                   "--override", f"log.dirs={folder}/data", "--override", "node.id=1",
                   "--override", "metrics.listener=none"]
        self.log = open(folder / "single.log", "ab")
        self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: b"[FjordBroker] ready" in (folder / "single.log").read_bytes(), 60, "the node to start")

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)
        self.log.close()


def servers(cluster: Cluster, skip: tuple[int, ...] = ()) -> str:
    return ",".join(f"127.0.0.1:{p}" for i, p in enumerate(cluster.ports) if i not in skip)


def create(bootstrap: str, partitions: int, replicas: int, brokers: int, topic: str = TOPIC) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    wait_for(lambda: len(admin.list_topics(timeout=10).brokers) >= brokers, 60, "brokers to register", 0.2)
    config = {"min.insync.replicas": "2"} if replicas == 3 else {}
    admin.create_topics([NewTopic(topic, partitions, replicas, config=config)])[topic].result(timeout=60)
    wait_for(lambda: all(len(p.isrs) == replicas and p.leader >= 0 for p in
                         admin.list_topics(topic, timeout=10).topics[topic].partitions.values()),
             60, "full ISRs", 0.2)


def consume_latencies(bootstrap: str, partitions: int, count: int, ready, results) -> None:
    """In its own process (the producer's loop must not share an interpreter with it): reads `count` records from
    the end of every partition and sends back each one's latency in ms."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "latency-bench", "enable.auto.commit": False,
                         "fetch.wait.max.ms": 100})
    consumer.assign([TopicPartition(LATENCY_TOPIC, p, 0) for p in range(partitions)])
    latencies: list[float] = []
    ready.set()
    deadline = time.monotonic() + 300
    while len(latencies) < count and time.monotonic() < deadline:
        # One message per poll: a batch call would hold early messages back until the batch fills or times out.
        message = consumer.poll(0.05)
        if message is not None and message.error() is None:
            latencies.append(time.time() * 1000 - message.timestamp()[1])
    consumer.close()
    results.put(latencies)


def latency(bootstrap: str, args) -> dict:
    total = int(args.rate * args.latency_seconds)
    context = multiprocessing.get_context("spawn")
    ready, results = context.Event(), context.Queue()
    reader = context.Process(target=consume_latencies, args=(bootstrap, args.partitions, total, ready, results))
    reader.start()
    ready.wait(60)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    payload = b"x" * args.latency_size
    started = time.monotonic()
    for n in range(total):
        # Paced: record n leaves at started + n / rate (a burst catches up after a late wake-up).
        delay = started + n / args.rate - time.monotonic()
        if delay > 0.0005:
            producer.poll(0)
            time.sleep(delay)
        producer.produce(LATENCY_TOPIC, payload)
    producer.flush(60)
    latencies = results.get(timeout=300)
    reader.join(60)
    measured = sorted(latencies[int(args.rate):])  # the first second is warm-up
    if len(latencies) < total or not measured:
        raise RuntimeError(f"the consumer read {len(latencies)} of {total} records")
    return {"p50_ms": percentile(measured, 0.5), "p99_ms": percentile(measured, 0.99), "max_ms": measured[-1],
            "records": len(latencies)}


def throughput(bootstrap: str, pids: list[int], args) -> dict:
    methods = [cpu_method(pid) for pid in pids]
    before = [proc_cpu_seconds(pid, m) for pid, m in zip(pids, methods)]
    seconds = produce_messages(bootstrap, TOPIC, args.messages, args.size, "all", 5, 300)
    cpu = sum(proc_cpu_seconds(pid, m) - b for pid, m, b in zip(pids, methods, before))
    mb = args.messages * args.size / 1e6
    return {"mb_per_s": mb / seconds, "cpu_s_per_mb": cpu / mb, "seconds": seconds}


def bench_throughput(args, root: Path) -> tuple[dict[str, list[dict]], dict[str, list[dict]]]:
    results: dict[str, list[dict]] = {"rf1": [], "rf3": []}
    latencies: dict[str, list[dict]] = {"rf1": [], "rf3": []}
    for repetition in range(args.repeat):
        folder = root / f"single-{repetition}"
        folder.mkdir()
        node = SingleNode(args.fjord, folder)
        try:
            create(node.bootstrap, args.partitions, 1, 1)
            results["rf1"].append(throughput(node.bootstrap, [node.proc.pid], args))
            create(node.bootstrap, args.partitions, 1, 1, LATENCY_TOPIC)
            latencies["rf1"].append(latency(node.bootstrap, args))
        finally:
            node.stop()
        folder = root / f"cluster-{repetition}"
        folder.mkdir()
        cluster = Cluster(args.fjord, folder)
        try:
            wait_for(lambda: all(cluster.ready(i) for i in range(3)), 60, "the nodes to listen", 0.1)
            create(servers(cluster), args.partitions, 3, 3)
            results["rf3"].append(throughput(servers(cluster), [p.pid for p in cluster.procs], args))
            create(servers(cluster), args.partitions, 3, 3, LATENCY_TOPIC)
            latencies["rf3"].append(latency(servers(cluster), args))
        finally:
            cluster.stop()
        print(f"  repetition {repetition + 1}: RF1 {results['rf1'][-1]['mb_per_s']:.1f} MB/s, "
              f"RF3 {results['rf3'][-1]['mb_per_s']:.1f} MB/s; end-to-end p99 RF1 "
              f"{latencies['rf1'][-1]['p99_ms']:.1f} ms, RF3 {latencies['rf3'][-1]['p99_ms']:.1f} ms",
              file=sys.stderr, flush=True)
    return results, latencies


class Ticker(threading.Thread):
    """An idempotent acks=all producer sending a record every 2 ms; remembers when each record was sent and
    acknowledged."""

    def __init__(self, bootstrap: str):
        super().__init__(daemon=True)
        self.producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                                  "linger.ms": 0, "message.timeout.ms": 120_000, "socket.timeout.ms": 6000})
        self.sent: dict[int, float] = {}
        self.acked: dict[int, float] = {}
        self.halt = threading.Event()

    def _delivered(self, err, message) -> None:
        if err is None:
            self.acked[int(message.value())] = time.monotonic()

    def run(self) -> None:
        n = 0
        while not self.halt.is_set():
            self.sent[n] = time.monotonic()
            self.producer.produce(TOPIC, value=str(n).encode(), partition=0, on_delivery=self._delivered)
            self.producer.poll(0)
            n += 1
            time.sleep(0.002)
        self.producer.flush(60)

    def first_ack_after(self, instant: float) -> float | None:
        times = [self.acked[n] for n, sent in list(self.sent.items()) if sent > instant and n in self.acked]
        return min(times) if times else None


def partition_leader(cluster: Cluster, skip: tuple[int, ...] = ()) -> int:
    try:
        metadata = AdminClient({"bootstrap.servers": servers(cluster, skip)}).list_topics(TOPIC, timeout=5)
        return metadata.topics[TOPIC].partitions[0].leader
    except Exception:  # noqa: BLE001 - a node may be down mid-measurement
        return -1


def isr(cluster: Cluster) -> list[int]:
    try:
        metadata = AdminClient({"bootstrap.servers": servers(cluster)}).list_topics(TOPIC, timeout=5)
        return sorted(metadata.topics[TOPIC].partitions[0].isrs)
    except Exception:  # noqa: BLE001
        return []


def bench_failover(args, root: Path) -> dict[str, list[float]]:
    folder = root / "failover"
    folder.mkdir()
    cluster = Cluster(args.fjord, folder)
    samples: dict[str, list[float]] = {"SIGKILL": [], "controlled shutdown": []}
    try:
        wait_for(lambda: all(cluster.ready(i) for i in range(3)), 60, "the nodes to listen", 0.1)
        create(servers(cluster), 1, 3, 3)
        ticker = Ticker(servers(cluster))
        ticker.start()
        try:
            wait_for(lambda: len(ticker.acked) > 200, 60, "the producer to start", 0.05)
            for kind in samples:
                for _ in range(args.kills):
                    leader = wait_for(lambda: (lambda l: l if l > 0 else None)(partition_leader(cluster)), 60,
                                      "a leader", 0.1)
                    proc = cluster.procs[leader - 1]
                    killed_at = time.monotonic()
                    if kind == "SIGKILL":
                        proc.kill()
                    else:
                        proc.send_signal(signal.SIGTERM)
                    acked_at = wait_for(lambda: ticker.first_ack_after(killed_at), 120, "an acknowledgement", 0.005)
                    samples[kind].append(acked_at - killed_at)
                    proc.wait(60)
                    cluster.start(leader - 1)
                    wait_for(lambda: isr(cluster) == [1, 2, 3], 120, "the ISR to be whole again", 0.2)
                    print(f"  {kind}: {samples[kind][-1] * 1000:.0f} ms", file=sys.stderr, flush=True)
        finally:
            ticker.halt.set()
            ticker.join(120)
    finally:
        cluster.stop()
    return samples


SETUPS = (("rf1", "one node, replication factor 1"), ("rf3", "three nodes, replication factor 3"))


def print_table(headers: list[str], results: dict[str, list[dict]], columns: list[tuple]) -> None:
    """One row per setup; each column (a value of a run, its format) as the median over the runs and the spread."""
    print("| case | " + " | ".join(headers) + " |")
    print("|---" * (len(headers) + 1) + "|")
    for key, label in SETUPS:
        cells = []
        for value, form in columns:
            values = [value(r) for r in results[key]]
            cells.append(f"{form.format(statistics.median(values))} ({spread(values)})")
        print(f"| {label} | " + " | ".join(cells) + " |")


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}–{max(values):.2f}" if len(values) > 1 else "—"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fjord", required=True)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--rate", type=int, default=10_000, help="records per second of the latency case")
    parser.add_argument("--latency-seconds", type=float, default=10)
    parser.add_argument("--latency-size", type=int, default=100, help="bytes per record of the latency case")
    parser.add_argument("--json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fjord-replication-bench-") as tmp:
        root = Path(tmp)
        rates, latencies = bench_throughput(args, root)
        failover = bench_failover(args, root) if args.kills > 0 else {}
    print(f"### Replication: {args.messages:,} records of {args.size} B, acks=all, {args.partitions} partitions, "
          f"{args.repeat} runs (median, min–max)\n")
    print_table(["MB/s", "brokers' CPU ms per MB"], rates,
                [(lambda r: r["mb_per_s"], "{:.1f}"), (lambda r: r["cpu_s_per_mb"] * 1000, "{:.2f}")])
    ratio = statistics.median(r["cpu_s_per_mb"] for r in rates["rf3"]) / \
        statistics.median(r["cpu_s_per_mb"] for r in rates["rf1"])
    print(f"\nCPU per MB, three nodes against one: {ratio:.2f}× (target: at most 3.5×)\n")
    print(f"### End-to-end latency: {args.rate:,} records/s of {args.latency_size} B for {args.latency_seconds:.0f} s, "
          f"acks=all, {args.partitions} partitions, {args.repeat} runs (median, min–max)\n")
    print_table(["p50 ms", "p99 ms", "max ms"], latencies,
                [((lambda r, f=field: r[f]), "{:.1f}") for field in ("p50_ms", "p99_ms", "max_ms")])
    print("\nTarget: p99 under 25 ms with replication factor 3.\n")
    print(f"### Produce unavailability after the leader stops ({args.kills} times each)\n")
    print("| how | p50 | p99 | max |")
    print("|---|---|---|---|")
    for kind, values in failover.items():
        print(f"| {kind} | {percentile(values, 0.5) * 1000:.0f} ms | {percentile(values, 0.99) * 1000:.0f} ms | "
              f"{max(values) * 1000:.0f} ms |")
    if args.json:
        Path(args.json).write_text(json.dumps({"throughput": rates, "latency": latencies, "failover": failover},
                                              indent=1))


if __name__ == "__main__":
    main()
