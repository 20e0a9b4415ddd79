"""Bounded work per connection (issue 11 item 4): a client that pipelines 100,000 small requests without reading
the answers must not grow the broker's memory without bound. As Kafka mutes a connection while its request is
processed, Fjord handles a few requests per connection at a time and stops reading the socket until their answers
have left; the pipelining client then stalls on its own full socket buffers. Other clients keep working, and once
the client reads, every answer arrives, in order."""

from __future__ import annotations

import socket
import struct
import threading
import time
import urllib.request

from confluent_kafka.admin import NewTopic

from datapath_clients import TIMEOUT_S, admin, confluent_consume, confluent_produce, drop_admin_clients  # noqa: F401
from datapath_clients import make_records, now_ms
from test_hostile_data_path import recv_exactly, rss_kib
from waiting import wait_until

REQUESTS = 100_000
TOPICS = 10
PARTITIONS = 8
# Every answer is a Metadata response of ~2.5 KiB (all topics): ~250 MiB if the broker answered them all while the
# client reads nothing. The bound leaves room for the broker's own growth under load, far below that.
RSS_GROWTH_LIMIT_KIB = 96 * 1024
STALL_S = 6.0
READ_BACK = 5_000
# Answers that fit in the socket buffers (a few MiB of 2.5 KiB answers) plus the window: thousands, not 100,000.
HANDLED_WHILE_STALLED_LIMIT = 20_000


def metadata_requests_handled(broker) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{broker.metrics_port}/metrics", timeout=TIMEOUT_S) as response:
        for line in response.read().decode().splitlines():
            if line.startswith('fjord_requests_total{api="Metadata"}'):
                return int(float(line.rsplit(" ", 1)[1]))
    return 0


def metadata_v1_all_topics(correlation_id: int) -> bytes:
    client = b"pipeliner"
    body = struct.pack(">hhih", 3, 1, correlation_id, len(client)) + client + struct.pack(">i", -1)
    return struct.pack(">i", len(body)) + body


def test_pipelined_requests_without_reading_keep_memory_bounded(broker):
    b = broker.bootstrap
    futures = admin(b).create_topics([NewTopic(f"wide-{i}", PARTITIONS, 1) for i in range(TOPICS)])
    for f in futures.values():
        f.result(TIMEOUT_S)
    pid = broker.proc.pid
    baseline = rss_kib(pid)

    sock = socket.create_connection(("127.0.0.1", broker.port), timeout=TIMEOUT_S)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    payload = b"".join(metadata_v1_all_topics(i) for i in range(REQUESTS))
    sent = {"bytes": 0, "error": None}

    def send_all() -> None:
        try:
            view = memoryview(payload)
            sock.settimeout(None)  # blocks while the broker does not read; the reader below unblocks it
            while sent["bytes"] < len(view):
                sent["bytes"] += sock.send(view[sent["bytes"]:sent["bytes"] + 65536])
        except OSError as e:
            sent["error"] = e

    sender = threading.Thread(target=send_all, daemon=True)
    sender.start()
    try:
        # The client reads nothing for a while: the broker must stop reading it rather than buffer the answers.
        peak = baseline
        deadline = time.monotonic() + STALL_S
        while time.monotonic() < deadline:
            peak = max(peak, rss_kib(pid))
            time.sleep(0.1)
        assert sent["error"] is None, sent["error"]
        # The requests all fit in the kernel's socket buffers; what matters is how many the broker took out of
        # them and handled: a window's worth plus the answers the socket buffers hold, not 100,000.
        handled = metadata_requests_handled(broker)
        print(f"stalled: {handled} requests handled, RSS +{(peak - baseline) // 1024} MiB")
        assert handled < HANDLED_WHILE_STALLED_LIMIT, handled
        assert peak - baseline < RSS_GROWTH_LIMIT_KIB, f"RSS grew {(peak - baseline) // 1024} MiB while stalled"

        # Other clients are not disturbed by the stalled one.
        records = make_records(10, now_ms())
        confluent_produce(b, "wide-0", records, partition=3)
        got = confluent_consume(b, "wide-0", PARTITIONS, 10)
        assert [m.value() for m in got] == [r.value for r in records]

        # The client reads: the answers arrive in request order. It hangs up after READ_BACK of them, with answers
        # unread (the kernel resets the connection): the broker drops the requests still waiting, unhandled, and
        # goes on serving everyone else.
        sock.settimeout(TIMEOUT_S)
        for expected in range(READ_BACK):
            (size,) = struct.unpack(">i", recv_exactly(sock, 4))
            assert 0 < size < 1 << 20, size
            frame = recv_exactly(sock, size)
            (correlation_id,) = struct.unpack_from(">i", frame)
            assert correlation_id == expected
        peak = max(peak, rss_kib(pid))
        assert peak - baseline < RSS_GROWTH_LIMIT_KIB, f"RSS grew {(peak - baseline) // 1024} MiB"
    finally:
        sock.close()
    sender.join(TIMEOUT_S)
    # A broker still working through the dropped requests would go on counting them by the thousand; the count
    # stays put, far below the 100,000 sent, but for the odd metadata refresh of the test's own admin client (a
    # negative check: waiting longer only makes it stricter).
    handled = metadata_requests_handled(broker)
    time.sleep(2)
    assert metadata_requests_handled(broker) - handled < 10
    assert handled < READ_BACK + HANDLED_WHILE_STALLED_LIMIT, handled
    records = make_records(10, now_ms(), tag="after")
    confluent_produce(b, "wide-1", records, partition=0)
    assert [m.value() for m in confluent_consume(b, "wide-1", PARTITIONS, 10)] == [r.value for r in records]
    assert broker.alive()
