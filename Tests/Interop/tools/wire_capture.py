#!/usr/bin/env python3
"""Record what real clients and Fjord say to each other: the captured-bytes corpus of KafkaProtocolTests.

`make capture` runs the interoperability suite with FJORD_CAPTURE_DIR set. In that mode every Fjord broker that
conftest's `start_fjord` launches listens on a private port and advertises the port of a `RecordingProxy` in front
of it (`advertised.listeners`), so a client reaches it only through the proxy, bootstrap and metadata alike. The
proxy forwards bytes unchanged, splits both directions into Kafka frames, pairs each response with its request
by correlation id and hands the exchange to a `CaptureStore`, which keeps, per client and (API key, version), one
exchange: the largest whose request and response are each at most FJORD_CAPTURE_MAX_FRAME bytes (default 16 KiB;
a larger frame is never kept, only counted), a request without a response (acks=0, a closed connection) only
while no whole exchange of that key and version was seen. Then

    python Tests/Interop/tools/wire_capture.py merge $FJORD_CAPTURE_DIR Tests/KafkaProtocolTests/Fixtures/Captured

copies the kept exchanges into the corpus, replacing those of the same client, key and version, and rewrites
`index.json` (client software and version, the test each exchange came from, sizes).

Layout (read by Tests/KafkaProtocolTests/CapturedCorpusTests.swift; keep it stable):
    <dir>/<client>/<NN>_<ApiName>_v<V>.request.bin    request frame without its 4-byte length prefix
    <dir>/<client>/<NN>_<ApiName>_v<V>.response.bin   its response, likewise (absent when none came back)
    <dir>/<client>/<NN>_<ApiName>_v<V>.json           capture dir only: where the exchange came from
    <dir>/index.json                                  corpus only: all of the above sidecars in one file

Which client a connection belongs to comes from its first request, which every client makes an ApiVersions:
from v3 on it names the client software (`SOFTWARE_CLIENTS`; a name not listed there becomes its own client
directory, so a new client is recorded without changes here); aiokafka alone sends ApiVersions v0-v2, so such a
connection is aiokafka's unless its client id is one of the interop suite's raw-socket tests ("...hostil...").
A connection whose first request is anything else (the raw-socket tests) is forwarded but not recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
CORPUS_DIR = REPO_ROOT / "Tests/KafkaProtocolTests/Fixtures/Captured"
ENV_DIR = "FJORD_CAPTURE_DIR"
ENV_MAX_FRAME = "FJORD_CAPTURE_MAX_FRAME"
DEFAULT_MAX_FRAME = 16 * 1024
PREFIX_BYTES = 16  # what is kept of a frame too large to keep: enough for the header's key, version, correlation

# ApiVersions v3+ `client_software_name` -> corpus directory.
SOFTWARE_CLIENTS = {
    "confluent-kafka-python": "librdkafka",  # confluent-kafka (librdkafka inside the wheel)
    "librdkafka": "kcat",                    # kcat (the Debian package's librdkafka)
    "kafka-python": "kafka-python",
    "apache-kafka-java": "java",
    "fjord-client": "fjordclient",
}
OLD_APIVERSIONS_CLIENT = "aiokafka"
RAW_SOCKET_CLIENT_ID = "hostil"


def api_names() -> dict[int, str]:
    """Kafka's API names by key, read from the generated Swift table (one source of truth)."""
    text = (REPO_ROOT / "Sources/KafkaProtocol/Generated/ApiKey+Generated.swift").read_text()
    table = text.split("static let names", 1)[1].split("\n    ]", 1)[0]
    return {int(k): v for k, v in re.findall(r'(\d+): "(\w+)"', table)}


_API_NAMES: dict[int, str] | None = None


def entry_stem(api_key: int, version: int) -> str:
    global _API_NAMES
    if _API_NAMES is None:
        _API_NAMES = api_names()
    return f"{api_key:02d}_{_API_NAMES.get(api_key, f'ApiKey{api_key}')}_v{version}"


# --------------------------------------------------------------------------------------------------------------
# Frames


class FrameSplitter:
    """Splits one direction of a Kafka connection into frames (4-byte big-endian size, then that many bytes).

    A frame of at most `keep` bytes is returned whole; a larger one only as its first PREFIX_BYTES, so a hostile
    size never makes the proxy buffer it. A negative size ends the splitting (the bytes are still forwarded)."""

    def __init__(self, keep: int):
        self.keep = keep
        self.header = bytearray()
        self.size: int | None = None
        self.body = bytearray()
        self.got = 0
        self.broken = False

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """The frames completed by `data`, as (size, bytes kept)."""
        out: list[tuple[int, bytes]] = []
        i = 0
        while not self.broken:
            if self.size is None:
                if i >= len(data):
                    break
                take = min(4 - len(self.header), len(data) - i)
                self.header += data[i:i + take]
                i += take
                if len(self.header) < 4:
                    break
                self.size = struct.unpack(">i", self.header)[0]
                self.header.clear()
                self.body = bytearray()
                self.got = 0
                if self.size < 0:
                    self.broken = True
                    break
            take = min(self.size - self.got, len(data) - i)
            if take > 0:
                room = take if self.size <= self.keep else max(0, PREFIX_BYTES - len(self.body))
                self.body += data[i:i + min(take, room)]
                self.got += take
                i += take
            if self.got < self.size:
                break
            out.append((self.size, bytes(self.body)))
            self.size = None
        return out


def _string16(payload: bytes, pos: int) -> tuple[str | None, int]:
    (n,) = struct.unpack_from(">h", payload, pos)
    pos += 2
    if n < 0:
        return None, pos
    return payload[pos:pos + n].decode(errors="replace"), pos + n


def _uvarint(payload: bytes, pos: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        b = payload[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def _compact_string(payload: bytes, pos: int) -> tuple[str | None, int]:
    n, pos = _uvarint(payload, pos)
    if n == 0:
        return None, pos
    return payload[pos:pos + n - 1].decode(errors="replace"), pos + n - 1


def parse_api_versions(payload: bytes) -> dict:
    """Header fields of an ApiVersions request and, from v3 on, the client software it names."""
    api_key, version, corr = struct.unpack_from(">hhi", payload, 0)
    client_id, pos = _string16(payload, 8)
    out = {"apiKey": api_key, "apiVersion": version, "correlationId": corr, "clientId": client_id}
    if version >= 3:
        count, pos = _uvarint(payload, pos)  # request header v2: tagged fields
        for _ in range(count):
            _, pos = _uvarint(payload, pos)
            size, pos = _uvarint(payload, pos)
            pos += size
        out["softwareName"], pos = _compact_string(payload, pos)
        out["softwareVersion"], pos = _compact_string(payload, pos)
    return out


def identify(first_request: bytes) -> tuple[str | None, dict]:
    """The corpus client of a connection from its first request frame, or None (not recorded)."""
    if len(first_request) < 10 or struct.unpack_from(">h", first_request, 0)[0] != 18:
        return None, {}
    try:
        info = parse_api_versions(first_request)
    except (IndexError, struct.error, UnicodeDecodeError):
        return None, {}
    if info["apiVersion"] >= 3:
        name = info.get("softwareName") or ""
        label = SOFTWARE_CLIENTS.get(name) or re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
        return (label or None), info
    if RAW_SOCKET_CLIENT_ID in (info["clientId"] or ""):
        return None, info
    return OLD_APIVERSIONS_CLIENT, info


# --------------------------------------------------------------------------------------------------------------
# Store


@dataclass
class _Kept:
    size: int
    whole: bool  # a response came back and was kept


class CaptureStore:
    """Keeps one exchange per (client, API key, version) in `root`, written as soon as it is chosen."""

    _stores: dict[Path, "CaptureStore"] = {}
    _stores_lock = threading.Lock()

    def __init__(self, root: Path, max_frame: int):
        self.root = root
        self.max_frame = max_frame
        self.lock = threading.Lock()
        self.kept: dict[tuple[str, int, int], _Kept] = {}
        self.too_large: dict[tuple[str, int, int], int] = {}
        for meta in root.glob("*/*.json"):  # an earlier session of the same capture run
            try:
                doc = json.loads(meta.read_text())
                key = (meta.parent.name, doc["apiKey"], doc["apiVersion"])
                self.kept[key] = _Kept(doc["requestBytes"] + (doc.get("responseBytes") or 0),
                                       doc.get("responseBytes") is not None)
            except (OSError, ValueError, KeyError):
                pass

    @classmethod
    def shared(cls, root: Path, max_frame: int) -> "CaptureStore":
        root = root.resolve()
        with cls._stores_lock:
            if root not in cls._stores:
                root.mkdir(parents=True, exist_ok=True)
                cls._stores[root] = CaptureStore(root, max_frame)
            return cls._stores[root]

    def offer(self, client: str, info: dict, request: bytes, request_size: int,
              response: bytes | None, response_size: int | None, test: str | None) -> None:
        api_key, version, corr = struct.unpack_from(">hhi", request, 0)
        key = (client, api_key, version)
        too_large = request_size > self.max_frame or (response_size or 0) > self.max_frame
        whole = response is not None
        size = request_size + (response_size or 0)
        with self.lock:
            if too_large:
                self.too_large[key] = self.too_large.get(key, 0) + 1
                if key not in self.kept and self.too_large[key] == 1:
                    self._write_too_large()
                return
            kept = self.kept.get(key)
            if kept is not None and (kept.whole, kept.size) >= (whole, size):
                return
            self.kept[key] = _Kept(size, whole)
            directory = self.root / client
            directory.mkdir(exist_ok=True)
            stem = entry_stem(api_key, version)
            (directory / f"{stem}.request.bin").write_bytes(request)
            response_path = directory / f"{stem}.response.bin"
            if whole:
                response_path.write_bytes(response)
            elif response_path.exists():
                response_path.unlink()
            meta = {
                "apiKey": api_key, "apiVersion": version, "correlationId": corr,
                "clientId": info.get("clientId"), "software": info.get("softwareName"),
                "softwareVersion": info.get("softwareVersion"), "apiVersionsVersion": info.get("apiVersion"),
                "requestBytes": request_size, "responseBytes": response_size if whole else None,
                "test": test,
            }
            (directory / f"{stem}.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
            if key in self.too_large:
                self._write_too_large()

    def _write_too_large(self) -> None:
        """`too_large.json`: the client/API/version combinations seen only in frames above the size limit."""
        only = sorted(f"{c}/{entry_stem(k, v)}" for (c, k, v) in self.too_large if (c, k, v) not in self.kept)
        (self.root / "too_large.json").write_text(json.dumps(only, indent=1) + "\n")


# --------------------------------------------------------------------------------------------------------------
# Proxy


@dataclass
class _Connection:
    client: str | None = None
    info: dict = field(default_factory=dict)
    identified: bool = False
    pending: dict[int, tuple[bytes, int]] = field(default_factory=dict)  # correlation id -> (request, its size)
    lock: threading.Lock = field(default_factory=threading.Lock)
    open_directions: int = 2


def _current_test() -> str | None:
    test = os.environ.get("PYTEST_CURRENT_TEST")
    return test.rsplit(" (", 1)[0] if test else None


class RecordingProxy:
    """A transparent TCP proxy on 127.0.0.1 that records the exchanges of identified clients into a store."""

    def __init__(self, store: CaptureStore, upstream_port: int = 0, port: int = 0):
        self.store = store
        self.upstream_port = upstream_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.port = self.listener.getsockname()[1]
        self.listener.listen(128)
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False

    def start(self, upstream_port: int | None = None) -> "RecordingProxy":
        if upstream_port is not None:
            self.upstream_port = upstream_port
        threading.Thread(target=self._accept_loop, name=f"capture-proxy-{self.port}", daemon=True).start()
        return self

    def close(self) -> None:
        with self._lock:
            self._closed = True
            sockets = list(self._sockets)
        for s in [self.listener, *sockets]:
            _close(s)

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
                upstream.settimeout(None)
            except OSError:
                _close(client)  # the broker is down (restarting): the client sees a closed connection
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                if self._closed:
                    _close(client)
                    _close(upstream)
                    return
                self._sockets |= {client, upstream}
            conn = _Connection()
            threading.Thread(target=self._pump, args=(conn, client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(conn, upstream, client, False), daemon=True).start()

    def _pump(self, conn: _Connection, src: socket.socket, dst: socket.socket, requests: bool) -> None:
        """Forwards one direction. An end of stream is passed on as a half close (FIN after every byte still
        queued), as the peers would see it without the proxy; the sockets close when both directions have ended,
        or at once when one fails. (Closing a socket with unread input sends RST and drops what it had not sent
        yet: an acks=0 producer that closes right after its last Produce would lose records.)"""
        splitter = FrameSplitter(self.store.max_frame)
        failed = False
        try:
            while True:
                data = src.recv(1 << 16)
                if not data:
                    break
                if requests:
                    # Register requests before forwarding them, so their responses always find them.
                    self._requests(conn, splitter.feed(data))
                    dst.sendall(data)
                else:
                    dst.sendall(data)
                    self._responses(conn, splitter.feed(data))
        except OSError:
            failed = True
        except Exception as e:  # never let recording break the forwarding
            print(f"wire_capture: {e!r}", file=sys.stderr)
            failed = True
        if not failed:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                failed = True
        with conn.lock:
            conn.open_directions -= 1
            last = conn.open_directions == 0
        if failed or last:
            for s in (src, dst):
                _close(s)
            with self._lock:
                self._sockets -= {src, dst}
        if last:
            self._flush_unanswered(conn)

    def _requests(self, conn: _Connection, frames: list[tuple[int, bytes]]) -> None:
        for size, payload in frames:
            if not conn.identified:
                conn.identified = True
                conn.client, conn.info = identify(payload) if size == len(payload) else (None, {})
            if conn.client is None or len(payload) < 8:
                continue
            (corr,) = struct.unpack_from(">i", payload, 4)
            with conn.lock:
                conn.pending[corr] = (payload, size)

    def _responses(self, conn: _Connection, frames: list[tuple[int, bytes]]) -> None:
        for size, payload in frames:
            if conn.client is None or len(payload) < 4:
                continue
            (corr,) = struct.unpack_from(">i", payload, 0)
            with conn.lock:
                request = conn.pending.pop(corr, None)
            if request is None:
                continue
            self.store.offer(conn.client, conn.info, request[0], request[1],
                             payload if size == len(payload) else None, size, _current_test())

    def _flush_unanswered(self, conn: _Connection) -> None:
        with conn.lock:
            left = list(conn.pending.values())
            conn.pending.clear()
        for payload, size in left:
            if conn.client is not None:
                self.store.offer(conn.client, conn.info, payload, size, None, None, _current_test())


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass


# --------------------------------------------------------------------------------------------------------------
# conftest hooks


def capture_proxy(props: dict[str, str]) -> RecordingProxy | None:
    """With FJORD_CAPTURE_DIR set: a proxy for a Fjord broker about to start with `props`, whose
    `advertised.listeners` now names the proxy. None otherwise, or when the test chose its own listeners."""
    root = os.environ.get(ENV_DIR)
    if not root or "advertised.listeners" in props:
        return None
    match = re.fullmatch(r"PLAINTEXT://127\.0\.0\.1:(\d+)", props.get("listeners", ""))
    if not match:
        return None
    store = CaptureStore.shared(Path(root), int(os.environ.get(ENV_MAX_FRAME) or DEFAULT_MAX_FRAME))
    proxy = RecordingProxy(store, upstream_port=int(match.group(1)))
    props["advertised.listeners"] = f"PLAINTEXT://127.0.0.1:{proxy.port}"
    return proxy


def front(proxy: RecordingProxy, broker) -> None:
    """Puts `proxy` in front of a started conftest `BrokerProcess`: its `port` (and so `bootstrap`) becomes the
    proxy's, readiness checks (restart_broker) still probe the broker itself, and stopping it closes the proxy."""
    upstream = proxy.upstream_port  # the port of `listeners`, which is the broker's
    proxy.start()
    broker.port = proxy.port
    wait, stop = broker.wait_until_ready, broker.stop

    def wait_until_ready(*args, **kwargs):
        broker.port = upstream
        try:
            return wait(*args, **kwargs)
        finally:
            broker.port = proxy.port

    def stop_and_close(*args, **kwargs):
        try:
            return stop(*args, **kwargs)
        finally:
            proxy.close()

    broker.wait_until_ready = wait_until_ready
    broker.stop = stop_and_close


# --------------------------------------------------------------------------------------------------------------
# Merging into the corpus


def merge(source: Path, corpus: Path, prune: bool) -> dict:
    """Copies the exchanges kept in `source` into `corpus` and rewrites its index.json. With `prune`, a client
    captured in `source` loses the corpus entries this capture did not see again."""
    index_path = corpus / "index.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {}
    index.pop("_about", None)
    corpus.mkdir(parents=True, exist_ok=True)
    for client_dir in sorted(p for p in source.iterdir() if p.is_dir()):
        client = client_dir.name
        entries = index.setdefault(client, {})
        target = corpus / client
        if prune and target.exists():
            shutil.rmtree(target)
            entries.clear()
        target.mkdir(parents=True, exist_ok=True)
        for meta_path in sorted(client_dir.glob("*.json")):
            stem = meta_path.name[:-len(".json")]
            meta = json.loads(meta_path.read_text())
            shutil.copyfile(client_dir / f"{stem}.request.bin", target / f"{stem}.request.bin")
            response = client_dir / f"{stem}.response.bin"
            if response.exists():
                shutil.copyfile(response, target / f"{stem}.response.bin")
            else:
                (target / f"{stem}.response.bin").unlink(missing_ok=True)
            entries[stem] = meta
    out = {"_about": "Kafka frames exchanged between real clients and Fjord during the interop suite "
                     "(Tests/Interop/tools/wire_capture.py; regenerate with `make capture`)."}
    out.update({client: dict(sorted(index[client].items())) for client in sorted(index)})
    index_path.write_text(json.dumps(out, indent=1, sort_keys=False) + "\n")
    return out


def summary(corpus: Path) -> str:
    index = json.loads((corpus / "index.json").read_text())
    lines = []
    total = sum(p.stat().st_size for p in corpus.rglob("*.bin"))
    for client, entries in index.items():
        if client.startswith("_"):
            continue
        software = sorted({f"{m['software']} {m.get('softwareVersion')}" if m.get("software")
                           else f"ApiVersions v{m.get('apiVersionsVersion')}, client id {m.get('clientId')}"
                           for m in entries.values()})
        apis: dict[str, list[int]] = {}
        for stem, meta in entries.items():
            name = stem.split("_", 1)[1].rsplit("_v", 1)[0]
            apis.setdefault(name, []).append(meta["apiVersion"])
        described = ", ".join(f"{n} v{'/'.join(map(str, sorted(v)))}" for n, v in sorted(apis.items()))
        lines.append(f"{client} ({'; '.join(software)}): {len(entries)} exchanges: {described}")
    lines.append(f"total {total} bytes of frames")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description="Recording proxy and corpus tools (see the module docstring).")
    sub = ap.add_subparsers(dest="command", required=True)
    m = sub.add_parser("merge", help="copy a capture directory into the corpus")
    m.add_argument("source", type=Path)
    m.add_argument("corpus", type=Path, nargs="?", default=CORPUS_DIR)
    m.add_argument("--prune", action="store_true",
                   help="drop a captured client's corpus entries that this capture did not see")
    m.add_argument("--require", default="",
                   help="comma-separated clients that must be in the corpus afterwards")
    s = sub.add_parser("summary", help="what the corpus holds")
    s.add_argument("corpus", type=Path, nargs="?", default=CORPUS_DIR)
    p = sub.add_parser("proxy", help="run a recording proxy in front of a broker until interrupted")
    p.add_argument("--upstream", type=int, required=True, help="the broker's port on 127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="the proxy's port (default: a free one)")
    p.add_argument("--dir", type=Path, required=True, help="the capture directory")
    args = ap.parse_args()

    if args.command == "merge":
        if not args.source.is_dir() or not any(args.source.iterdir()):
            print(f"merge: nothing captured in {args.source}", file=sys.stderr)
            return 1
        index = merge(args.source, args.corpus, args.prune)
        print(summary(args.corpus))
        too_large = args.source / "too_large.json"
        if too_large.exists() and json.loads(too_large.read_text()):
            print(f"seen only in frames above {ENV_MAX_FRAME} (not kept): "
                  + ", ".join(json.loads(too_large.read_text())))
        missing = [c for c in filter(None, args.require.split(",")) if c not in index]
        if missing:
            print(f"merge: no exchanges of {', '.join(missing)} in the corpus", file=sys.stderr)
            return 1
        return 0
    if args.command == "summary":
        print(summary(args.corpus))
        return 0
    store = CaptureStore.shared(args.dir, int(os.environ.get(ENV_MAX_FRAME) or DEFAULT_MAX_FRAME))
    proxy = RecordingProxy(store, upstream_port=args.upstream, port=args.port).start()
    print(f"recording proxy on 127.0.0.1:{proxy.port} -> 127.0.0.1:{args.upstream}, into {args.dir}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        proxy.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
