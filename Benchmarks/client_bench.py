#!/usr/bin/env python3
"""Client benchmark: FjordClient against librdkafka (confluent-kafka) on the same Fjord broker in the same run.

Each case runs the client in a process of its own and measures that process's CPU time (user + system,
from wait4's rusage) and wall time:
  produce-<size>   COUNT records of SIZE bytes, acks=1, linger.ms=5, batch.size=1,000,000 (librdkafka's default,
                   given to both clients), idempotence off, to a 4-partition topic
  consume-<size>   every record of that topic from the beginning (assign, no group)

FjordClient runs as `fjord-client-bench` (Benchmarks/ClientBenchmark, built in release); librdkafka runs as a small
Python program over confluent-kafka, so its numbers include the Python interpreter's cost of calling produce()
and poll() once per record (librdkafka itself does the batching, compression and I/O on its own threads).

Usage:
  .venv/bin/python Benchmarks/client_bench.py --json /tmp/client.json
  .venv/bin/python Benchmarks/client_bench.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from broker_bench import CaseFailed, create_topic, log, start_broker  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]

LIBRDKAFKA_PRODUCER = r"""
import os, sys, time
from confluent_kafka import Producer
bootstrap, topic, count, size, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
p = Producer({"bootstrap.servers": bootstrap, "acks": "1", "linger.ms": 5, "enable.idempotence": False, "batch.size": batch,
              "queue.buffering.max.messages": 1000000, "delivery.report.only.error": True})
payload = os.urandom(size)
p.produce(topic, payload); p.flush(20)
t0 = time.perf_counter()
produce = p.produce
for i in range(count):
    while True:
        try:
            produce(topic, payload)
            break
        except BufferError:
            p.poll(0.005)
    if (i & 0x3FFF) == 0:
        p.poll(0)
left = p.flush(120)
print(f'{{"messages": {count - left}, "seconds": {time.perf_counter() - t0}}}')
"""

LIBRDKAFKA_CONSUMER = r"""
import sys, time, uuid
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition, KafkaError
bootstrap, topic, partitions, expected = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
c = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-" + uuid.uuid4().hex[:8], "enable.auto.commit": False,
              "fetch.queue.backoff.ms": 10})
c.list_topics(topic, timeout=10)
t0 = time.perf_counter()
c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
got = 0
deadline = time.monotonic() + 120
while got < expected and time.monotonic() < deadline:
    for m in c.consume(num_messages=10000, timeout=0.5):
        if m.error() is None:
            got += 1
print(f'{{"messages": {got}, "seconds": {time.perf_counter() - t0}}}')
c.close()
"""


def run_measured(argv: list[str], timeout: float) -> tuple[dict, float]:
    """Runs argv, returns (its JSON line, its CPU seconds)."""
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                raise CaseFailed(f"{argv[0]} did not finish within {timeout:.0f}s")
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        stderr = proc.stderr.read().decode(errors="replace")
        out.seek(0)
        text = out.read().decode(errors="replace").strip().splitlines()
    if proc.returncode != 0 or not text:
        raise CaseFailed(f"{Path(argv[0]).name} exited {proc.returncode}: {stderr[-400:]}")
    return json.loads(text[-1]), usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fjord", default=str(REPO_ROOT / ".build/release/fjord"))
    ap.add_argument("--client-bench", default=str(REPO_ROOT / ".build/release/fjord-client-bench"))
    ap.add_argument("--sizes", default="100,1024")
    ap.add_argument("--counts", default="100:500000,1024:200000")
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=1_000_000,
                    help="producer batch.size for both clients (default librdkafka's 1,000,000)")
    ap.add_argument("--quick", action="store_true", help="1/10 of the counts")
    ap.add_argument("--json", dest="json_path")
    args = ap.parse_args(argv)
    counts = {int(k): int(v) for k, v in (pair.split(":") for pair in args.counts.split(","))}
    workdir = Path(tempfile.mkdtemp(prefix="fjord-client-bench-"))
    broker = start_broker("fjord", argparse.Namespace(fjord=args.fjord), workdir, "fjord")
    rows = []
    try:
        for size in [int(s) for s in args.sizes.split(",")]:
            count = counts.get(size, 100_000) // (10 if args.quick else 1)
            for client in ("fjordclient", "librdkafka"):
                topic = f"bench-{client}-{size}-{uuid.uuid4().hex[:6]}"
                create_topic(broker.bootstrap, topic, args.partitions)
                for kind in ("produce", "consume"):
                    row = {"client": client, "case": f"{kind}-{size}B", "status": "ok"}
                    try:
                        if client == "fjordclient":
                            command = [args.client_bench, kind, "--bootstrap", broker.bootstrap, "--topic", topic,
                                       "--count", str(count), "--size", str(size), "--partitions", str(args.partitions)]
                            if kind == "produce":
                                command += ["--batch-size", str(args.batch_size)]
                        elif kind == "produce":
                            command = [sys.executable, "-c", LIBRDKAFKA_PRODUCER, broker.bootstrap, topic, str(count), str(size),
                                       str(args.batch_size)]
                        else:
                            command = [sys.executable, "-c", LIBRDKAFKA_CONSUMER, broker.bootstrap, topic,
                                       str(args.partitions), str(count + (1 if client == "librdkafka" else 0))]
                        result, cpu = run_measured(command, timeout=300)
                        messages, seconds = result["messages"], result["seconds"]
                        row |= {"messages": messages, "seconds": seconds, "msgs_per_s": messages / seconds,
                                "mb_per_s": messages * size / seconds / 1e6, "client_cpu_s": cpu,
                                "msgs_per_client_cpu_s": messages / cpu if cpu > 0 else None,
                                "cpu_us_per_msg": cpu / messages * 1e6 if messages else None}
                    except (CaseFailed, OSError, ValueError) as e:
                        row |= {"status": "failed", "error": str(e)}
                    log(f"{client} {row['case']}: {row.get('msgs_per_s', 0):,.0f} msg/s, "
                        f"{row.get('cpu_us_per_msg') or 0:.2f} CPU µs/msg {row.get('error', '')}")
                    rows.append(row)
    finally:
        broker.stop()
    print("| client | case | msgs/s | MB/s | client CPU s | CPU µs/msg | msgs per client CPU s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        if r["status"] != "ok":
            print(f"| {r['client']} | {r['case']} | FAIL: {r['error'][:100]} | | | | |")
            continue
        print(f"| {r['client']} | {r['case']} | {r['msgs_per_s']:,.0f} | {r['mb_per_s']:.1f} | {r['client_cpu_s']:.2f} | "
              f"{r['cpu_us_per_msg']:.2f} | {r['msgs_per_client_cpu_s']:,.0f} |")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps({"rows": rows, "started": time.strftime("%Y-%m-%dT%H:%M:%S")}, indent=2) + "\n")
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
