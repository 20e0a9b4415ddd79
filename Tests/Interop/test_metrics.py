"""The broker's Prometheus endpoint (metrics.listener): /metrics scraped and parsed after real clients
produced and consumed in a group, /health for probes, and what the port answers otherwise.

Flow of the main test:
1. Start a broker with metrics.partition.level=true; create a topic with two partitions.
2. Produce N records with confluent-kafka; consume M < N in a group and commit them.
3. Scrape /metrics: the topic's bytes/records in and out moved, Produce/Fetch/OffsetCommit requests were
   counted and timed, the log and partition gauges describe the topic, and the group's lag is N - M,
   both per topic and summed from its per-partition series.
"""

from __future__ import annotations

import http.client
import re
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import running_fjord
from waiting import GENEROUS_S, wait_until

GROUP_OVERRIDES = {
    "group.initial.rebalance.delay.ms": "0",
    "group.min.session.timeout.ms": "1000",
    "offsets.topic.num.partitions": "3",
}

LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def http_get(port: int, path: str, method: str = "GET") -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        body = response.read().decode()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()


def parse_exposition(text: str) -> dict[tuple[str, frozenset], float]:
    """Prometheus text format 0.0.4 → {(name, labels): value}. Checks every line is well formed."""
    samples: dict[tuple[str, frozenset], float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            assert line == "" or line.startswith("# HELP ") or line.startswith("# TYPE "), line
            continue
        if "{" in line:
            name, rest = line.split("{", 1)
            labels_text, value = rest.rsplit("} ", 1)
            labels = frozenset(LABEL.findall(labels_text))
        else:
            name, value = line.split(" ", 1)
            labels = frozenset()
        assert re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", name), line
        samples[(name, labels)] = float(value)
    return samples


class Scrape:
    def __init__(self, port: int):
        status, headers, body = http_get(port, "/metrics")
        assert status == 200, body
        assert headers["content-type"].startswith("text/plain; version=0.0.4"), headers
        self.text = body
        self.samples = parse_exposition(body)

    def value(self, name: str, **labels: str) -> float | None:
        return self.samples.get((name, frozenset(labels.items())))

    def series(self, name: str) -> dict[frozenset, float]:
        return {labels: v for (n, labels), v in self.samples.items() if n == name}


def create_topic(bootstrap: str, name: str, partitions: int, config: dict[str, str] | None = None) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1,
                                            config=config or {})])
    futures[name].result(GENEROUS_S)


@pytest.fixture
def mbroker(request, tmp_path):
    with running_fjord(request, tmp_path, {**GROUP_OVERRIDES, "metrics.partition.level": "true"}) as b:
        yield b


def test_counters_and_consumer_lag_after_produce_and_group_consume(mbroker):
    topic, group = f"metrics-{uuid.uuid4().hex[:8]}", f"metrics-group-{uuid.uuid4().hex[:6]}"
    produced, consumed = 40, 25
    create_topic(mbroker.bootstrap, topic, 2)
    before = Scrape(mbroker.metrics_port)
    assert before.value("fjord_topic_records_in_total", topic=topic) in (None, 0.0)

    producer = Producer({"bootstrap.servers": mbroker.bootstrap, "linger.ms": 5})
    for i in range(produced):
        producer.produce(topic, value=f"value-{i:04d}".encode(), key=f"k{i}".encode(), partition=i % 2)
    assert producer.flush(GENEROUS_S) == 0
    during = Scrape(mbroker.metrics_port)
    assert during.value("fjord_connections_active") >= 1

    consumer = Consumer({
        "bootstrap.servers": mbroker.bootstrap, "group.id": group, "auto.offset.reset": "earliest",
        "enable.auto.commit": False, "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
    })
    consumer.subscribe([topic])
    got = []
    deadline = time.monotonic() + GENEROUS_S
    while len(got) < consumed and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is None or message.error():
            continue
        got.append(message)
    assert len(got) == consumed
    committed = consumer.commit(asynchronous=False)
    assert sum(tp.offset for tp in committed if tp.offset >= 0) == consumed
    consumer.close()

    after = Scrape(mbroker.metrics_port)
    # Produce in: every record and at least the bytes of their values.
    assert after.value("fjord_topic_records_in_total", topic=topic) == produced
    assert after.value("fjord_topic_bytes_in_total", topic=topic) > produced * len("value-0000")
    # Fetch out: at least what the consumer was handed (librdkafka prefetches, so maybe all of it).
    assert consumed <= after.value("fjord_topic_records_out_total", topic=topic) <= produced
    assert after.value("fjord_topic_bytes_out_total", topic=topic) > consumed * len("value-0000")
    # Requests counted and timed per API.
    for api in ["Produce", "Fetch", "OffsetCommit", "JoinGroup", "SyncGroup", "Metadata"]:
        count = after.value("fjord_requests_total", api=api)
        assert count and count >= 1, api
        assert after.value("fjord_request_duration_seconds_count", api=api) is not None, api
    produce_count = after.value("fjord_requests_total", api="Produce")
    assert produce_count > (before.value("fjord_requests_total", api="Produce") or 0)
    assert after.value("fjord_request_duration_seconds_count", api="Produce") == produce_count
    assert after.value("fjord_request_duration_seconds_bucket", api="Produce", le="+Inf") == produce_count
    # Partitions and logs.
    assert after.value("fjord_topic_partitions", topic=topic) == 2
    assert after.value("fjord_topic_log_segments", topic=topic) == 2
    assert after.value("fjord_topic_log_size_bytes", topic=topic) > 0
    assert after.value("fjord_partitions") >= 2 + 3  # the topic and __consumer_offsets
    assert after.value("fjord_under_min_isr_partitions") == 0
    assert after.value("fjord_purgatory_size", operation="fetch") is not None
    # Lag: what the group has left, per topic and (partition level) per partition.
    assert after.value("fjord_consumer_group_lag", group=group, topic=topic) == produced - consumed
    per_partition = {dict(labels)["partition"]: v for labels, v in after.series("fjord_consumer_group_partition_lag").items()
                     if dict(labels)["group"] == group}
    assert set(per_partition) == {"0", "1"}
    assert sum(per_partition.values()) == produced - consumed
    ends = {dict(labels)["partition"]: v for labels, v in after.series("fjord_partition_log_end_offset").items()
            if dict(labels)["topic"] == topic}
    assert ends == {"0": produced / 2, "1": produced / 2}


def test_produce_errors_are_counted_by_code(mbroker):
    topic = f"metrics-small-{uuid.uuid4().hex[:8]}"
    create_topic(mbroker.bootstrap, topic, 1, {"max.message.bytes": "1000"})
    errors = []
    producer = Producer({"bootstrap.servers": mbroker.bootstrap, "retries": 0})
    producer.produce(topic, value=b"x" * 5000, on_delivery=lambda err, msg: errors.append(err))
    producer.flush(GENEROUS_S)
    assert errors and errors[0] is not None
    scrape = Scrape(mbroker.metrics_port)
    assert scrape.value("fjord_produce_errors_total", code="10") >= 1  # MESSAGE_TOO_LARGE


def test_health_unknown_paths_and_methods(broker):
    status, _, body = http_get(broker.metrics_port, "/health")
    assert (status, body) == (200, "ok\n")
    assert http_get(broker.metrics_port, "/nope")[0] == 404
    assert http_get(broker.metrics_port, "/metrics", method="POST")[0] == 405
    # Without metrics.partition.level, no per-partition series.
    create_topic(broker.bootstrap, "metrics-plain", 3)
    scrape = Scrape(broker.metrics_port)
    assert scrape.value("fjord_topic_partitions", topic="metrics-plain") == 3
    assert not any(name.startswith("fjord_partition_") or name == "fjord_consumer_group_partition_lag"
                   for name, _ in scrape.samples)


def test_series_of_a_deleted_topic_disappear(broker):
    topic = "metrics-doomed"
    create_topic(broker.bootstrap, topic, 1)
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    producer.produce(topic, value=b"v")
    assert producer.flush(GENEROUS_S) == 0
    assert Scrape(broker.metrics_port).value("fjord_topic_records_in_total", topic=topic) == 1
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.delete_topics([topic])[topic].result(GENEROUS_S)
    wait_until(lambda: f'topic="{topic}"' not in Scrape(broker.metrics_port).text, GENEROUS_S,
               lambda: Scrape(broker.metrics_port).text)


def test_metrics_listener_can_be_turned_off(request, tmp_path):
    with running_fjord(request, tmp_path, {"metrics.listener": "none"}) as b:
        assert b.metrics_port is None
        # The Kafka port opens a moment before the broker logs how it set up metrics: wait for the line.
        wait_until(lambda: "metrics listener off" in b.log_text(), GENEROUS_S, b.log_text)


def test_port_zero_is_reported_in_the_log(request, tmp_path):
    with running_fjord(request, tmp_path, {"metrics.listener": "127.0.0.1:0"}) as b:
        assert b.metrics_port and b.metrics_port > 0
        assert http_get(b.metrics_port, "/health")[0] == 200


def test_oversized_or_garbage_requests_close_only_their_connection(broker):
    import socket

    def exchange(payload: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", broker.metrics_port), timeout=10) as s:
            try:
                s.sendall(payload)
            except OSError:
                pass  # the server may close before reading everything
            data = b""
            while True:
                try:
                    chunk = s.recv(65536)
                except OSError:
                    break
                if not chunk:
                    break
                data += chunk
            return data

    huge_header = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n"
    answer = exchange(huge_header)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 4"), answer[:80]
    answer = exchange(b"\x00\x01garbage\r\n\r\n")
    assert answer == b"" or answer.startswith(b"HTTP/1.1 400"), answer[:80]
    body = b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"b" * 100_000
    answer = exchange(body)
    assert answer.startswith(b"HTTP/1.1 405") or answer.startswith(b"HTTP/1.1 413"), answer[:80]
    assert http_get(broker.metrics_port, "/health")[0] == 200
