#!/usr/bin/env python3
"""Client benchmark: FjordClient against librdkafka on the same Fjord broker in the same run.

Each case runs the client in a process of its own and measures that process's CPU time (user + system of
every thread, from wait4's rusage: the kernel's nanosecond run time, not clock ticks) and wall time:
  produce-<size>   COUNT records of SIZE bytes, acks=1, linger.ms=5, batch.size=1,000,000 (librdkafka's default,
                   given to every client), idempotence off, to a 4-partition topic
  consume-<size>   every record of that topic from the beginning (assign, no group)

Clients (--clients, default all three):
  fjordclient        `fjord-client-bench` (Benchmarks/ClientBenchmark, built in release), Swift.
  librdkafka         `librdkafka-bench` (Benchmarks/LibrdkafkaBenchmark/librdkafka_bench.c, built by make bench):
                     librdkafka driven from C with the same loop as fjord-client-bench, against the librdkafka of
                     the confluent-kafka wheel (dlopen; --librdkafka PATH picks another), so no interpreter sits
                     between the records and librdkafka.
  librdkafka-python  confluent-kafka, a small Python program: includes the interpreter's start-up and its cost of
                     calling produce()/consume() per record (how librdkafka was measured before; kept to show that).

Every case runs --repeat times (default 3; the clients take turns in rotating order); tables show the median and
the min-max spread, the JSON keeps every run.

Usage:
  .venv/bin/python Benchmarks/client_bench.py --json /tmp/client.json
  .venv/bin/python Benchmarks/client_bench.py --quick --clients fjordclient,librdkafka
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from broker_bench import CaseFailed, create_topic, fmt_spread, log, spread, start_broker  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
CLIENTS = ("fjordclient", "librdkafka", "librdkafka-python")

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

# The interpreter alone: what every librdkafka-python run pays before its first record.
PYTHON_STARTUP = "import confluent_kafka"


def run_measured(argv: list[str], timeout: float) -> tuple[str, float, float]:
    """Runs argv; returns (its stdout, the CPU seconds of the process and its threads from wait4, wall seconds from
    spawn to exit)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise CaseFailed(f"{Path(argv[0]).name} did not finish within {timeout:.0f}s")
            time.sleep(0.01)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text = out.read().decode(errors="replace").strip()
        stderr = err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise CaseFailed(f"{Path(argv[0]).name} exited {proc.returncode}: {stderr[-400:]}")
    return text, usage.ru_utime + usage.ru_stime, wall


def json_line(text: str, argv0: str) -> dict:
    lines = text.splitlines()
    if not lines:
        raise CaseFailed(f"{Path(argv0).name} printed no result")
    return json.loads(lines[-1])


def wheel_librdkafka() -> str:
    """The librdkafka shared library of the confluent-kafka wheel (what the Python client and broker_bench.py use),
    else the system's."""
    try:
        import confluent_kafka
        libs = Path(confluent_kafka.__file__).resolve().parent.parent / "confluent_kafka.libs"
        bundled = sorted(libs.glob("librdkafka*.so*"))
        if bundled:
            return str(bundled[0])
    except ImportError:
        pass
    return "librdkafka.so.1"


# --------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fjord", default=str(REPO_ROOT / ".build/release/fjord"))
    ap.add_argument("--client-bench", default=str(REPO_ROOT / ".build/release/fjord-client-bench"))
    ap.add_argument("--librdkafka-bench", default=str(REPO_ROOT / ".build/bench/librdkafka-bench"),
                    help="the C driver (cc -O2 -o BIN Benchmarks/LibrdkafkaBenchmark/librdkafka_bench.c -ldl)")
    ap.add_argument("--librdkafka", default=None,
                    help="librdkafka shared library for the C driver (default: the confluent-kafka wheel's)")
    ap.add_argument("--clients", default=",".join(CLIENTS), help="comma list of " + ", ".join(CLIENTS))
    ap.add_argument("--sizes", default="100,1024")
    ap.add_argument("--counts", default="100:500000,1024:200000")
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=1_000_000,
                    help="producer batch.size for every client (default librdkafka's 1,000,000)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of every case (default 3)")
    ap.add_argument("--quick", action="store_true", help="1/10 of the counts")
    ap.add_argument("--json", dest="json_path")
    args = ap.parse_args(argv)
    args.fjord = str(Path(args.fjord).absolute())  # the broker runs in its data dir
    clients = [c.strip() for c in args.clients.split(",") if c.strip()]
    for c in clients:
        if c not in CLIENTS:
            ap.error(f"unknown client {c!r}")
    if "librdkafka" in clients and not os.access(args.librdkafka_bench, os.X_OK):
        ap.error(f"{args.librdkafka_bench} not found (make bench builds it)")
    args.librdkafka = args.librdkafka or wheel_librdkafka()
    counts = {int(k): int(v) for k, v in (pair.split(":") for pair in args.counts.split(","))}
    workdir = Path(tempfile.mkdtemp(prefix="fjord-client-bench-"))
    python_startup = []
    if "librdkafka-python" in clients:
        for _ in range(3):
            python_startup.append(run_measured([sys.executable, "-c", PYTHON_STARTUP], timeout=60)[1])
    broker = start_broker("fjord", argparse.Namespace(fjord=args.fjord), workdir, "fjord")
    rows = []
    versions: dict[str, str] = {}
    t_start = time.time()
    try:
        for repetition in range(args.repeat):
            order = clients[repetition % len(clients):] + clients[:repetition % len(clients)]
            for size in [int(s) for s in args.sizes.split(",")]:
                count = counts.get(size, 100_000) // (10 if args.quick else 1)
                for client in order:
                    topic = f"bench-{client}-{size}-{uuid.uuid4().hex[:6]}"
                    create_topic(broker.bootstrap, topic, args.partitions)
                    for kind in ("produce", "consume"):
                        row = {"client": client, "case": f"{kind}-{size}B", "repetition": repetition, "status": "ok"}
                        try:
                            messages, seconds, cpu = run_case(args, client, kind, broker.bootstrap, topic, count,
                                                              size, versions)
                            row |= {"messages": messages, "seconds": seconds, "msgs_per_s": messages / seconds,
                                    "mb_per_s": messages * size / seconds / 1e6, "client_cpu_s": cpu,
                                    "msgs_per_client_cpu_s": messages / cpu if cpu > 0 else None,
                                    "cpu_us_per_msg": cpu / messages * 1e6 if messages else None}
                            if messages < count:
                                raise CaseFailed(f"{messages}/{count} records")
                        except (CaseFailed, OSError, ValueError) as e:
                            row |= {"status": "failed", "error": str(e)}
                        log(f"{client} {row['case']} #{repetition + 1}: {row.get('msgs_per_s') or 0:,.0f} msg/s, "
                            f"{row.get('cpu_us_per_msg') or 0:.2f} CPU µs/msg {row.get('error', '')}")
                        rows.append(row)
    finally:
        broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    summary = summarize(rows, clients)
    facts = {"librdkafka": versions.get("librdkafka"), "librdkafka_library": args.librdkafka,
             "python_startup_cpu_s": spread(python_startup) if python_startup else None,
             "repeat": args.repeat, "batch_size": args.batch_size, "partitions": args.partitions,
             "quick": args.quick, "fjord": args.fjord}
    print(f"## Client results: median (min–max) of {args.repeat} run{'s' if args.repeat > 1 else ''}\n")
    if versions.get("librdkafka"):
        print(f"librdkafka: {versions['librdkafka']} ({args.librdkafka}), driven from C by librdkafka-bench.")
    if python_startup:
        print(f"librdkafka-python: interpreter start-up with `import confluent_kafka` "
              f"{spread(python_startup)['median'] * 1e3:.0f} ms of CPU per run (included in its figures).")
    print()
    print("| client | case | ok runs | msgs/s | MB/s | client CPU s | CPU µs/msg | msgs per client CPU s |")
    print("|---|---|---|---|---|---|---|---|")
    for e in summary:
        s = e["stats"]
        print(f"| {e['client']} | {e['case']} | {e['ok']}/{e['runs']} | {fmt_spread(s.get('msgs_per_s'), ',.0f')} | "
              f"{fmt_spread(s.get('mb_per_s'), '.1f')} | {fmt_spread(s.get('client_cpu_s'), '.3f')} | "
              f"{fmt_spread(s.get('cpu_us_per_msg'), '.2f')} | {fmt_spread(s.get('msgs_per_client_cpu_s'), ',.0f')} |")
    for e in summary:
        for err in e["errors"]:
            print(f"\n- FAIL {e['client']} {e['case']} {err[:300]}")
    print(f"\nWall time {time.time() - t_start:.0f}s.")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps({"facts": facts, "rows": rows, "summary": summary,
                                                    "started": time.strftime("%Y-%m-%dT%H:%M:%S",
                                                                             time.localtime(t_start))},
                                                   indent=2) + "\n")
    return 0 if all(r["status"] == "ok" for r in rows) else 1


def run_case(args, client: str, kind: str, bootstrap: str, topic: str, count: int, size: int,
             versions: dict) -> tuple[int, float, float]:
    """One client process; returns (records, seconds, client CPU seconds)."""
    if client in ("fjordclient", "librdkafka"):
        binary = args.client_bench if client == "fjordclient" else args.librdkafka_bench
        command = [binary, kind, "--bootstrap", bootstrap, "--topic", topic,
                   "--count", str(count), "--size", str(size), "--partitions", str(args.partitions)]
        if kind == "produce":
            command += ["--batch-size", str(args.batch_size)]
        if client == "librdkafka":
            command += ["--librdkafka", args.librdkafka]
        text, cpu, _ = run_measured(command, timeout=300)
        result = json_line(text, command[0])
        if "librdkafka" in result:
            versions["librdkafka"] = result["librdkafka"]
        return result["messages"], result["seconds"], cpu
    if kind == "produce":
        command = [sys.executable, "-c", LIBRDKAFKA_PRODUCER, bootstrap, topic, str(count), str(size),
                   str(args.batch_size)]
    else:  # + the producer's probe record
        command = [sys.executable, "-c", LIBRDKAFKA_CONSUMER, bootstrap, topic, str(args.partitions), str(count + 1)]
    text, cpu, _ = run_measured(command, timeout=300)
    result = json_line(text, command[0])
    return min(result["messages"], count), result["seconds"], cpu


def summarize(rows: list[dict], clients: list[str]) -> list[dict]:
    keys = ["msgs_per_s", "mb_per_s", "seconds", "client_cpu_s", "cpu_us_per_msg", "msgs_per_client_cpu_s"]
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["case"], r["client"]), []).append(r)
    out = []
    for (case, client), rs in groups.items():
        ok = [r for r in rs if r["status"] == "ok"]
        stats = {k: spread([r[k] for r in ok if r.get(k) is not None]) for k in keys
                 if any(r.get(k) is not None for r in ok)}
        out.append({"client": client, "case": case, "runs": len(rs), "ok": len(ok),
                    "errors": [f"#{r['repetition'] + 1}: {r['error']}" for r in rs if r["status"] != "ok"],
                    "stats": stats})
    size_of = {e["case"]: int(re.sub(r"\D", "", e["case"])) for e in out}
    return sorted(out, key=lambda e: (size_of[e["case"]], e["case"].startswith("consume"), clients.index(e["client"])))


if __name__ == "__main__":
    raise SystemExit(main())
