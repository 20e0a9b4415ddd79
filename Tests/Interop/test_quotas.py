"""Client quotas (issue 14, item 4): producer_byte_rate and consumer_byte_rate per client id and user, with
defaults, set with `fjord quota` (AlterClientQuotas, ClientQuotaRecords in the metadata log) and shown by DescribeClientQuotas;
a client over its quota is told `throttle_time_ms` and its connection is not read for that long (KIP-219), so its
rate settles at the quota while an unthrottled client beside it keeps its throughput.

The broker measures over 2 windows of 1 s (`quota.window.num`, `quota.window.size.seconds`; Kafka's defaults are 11
and 1) so that the first burst is short and the steady rate shows within seconds."""

from __future__ import annotations

import json
import subprocess
import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import fjord_bin, running_fjord
from datapath_clients import drop_admin_clients, create_topic  # noqa: F401 (autouse fixture)

QUOTA = 1_000_000  # bytes per second
OVERRIDES = {"quota.window.num": "2", "quota.window.size.seconds": "1"}


def fj(bootstrap: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([fjord_bin(), *args, "--bootstrap", bootstrap], capture_output=True, text=True, timeout=60)


def produce_for(bootstrap: str, client_id: str, topic: str, seconds: float, acked: list) -> None:
    """Produces 10 KB records as fast as the client will take them for `seconds`; appends (time, bytes) per ack."""
    p = Producer({"bootstrap.servers": bootstrap, "client.id": client_id, "linger.ms": 5, "batch.size": 65536,
                  "queue.buffering.max.kbytes": 4096, "message.timeout.ms": 60000})
    value = b"q" * 10_000

    def delivered(err, msg):
        if err is None:
            acked.append((time.monotonic(), len(msg.value())))

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            p.produce(topic, value, on_delivery=delivered)
        except BufferError:
            p.poll(0.05)
        p.poll(0)
    p.flush(30)


def rate_between(acked: list, start: float, end: float) -> float:
    return sum(size for t, size in acked if start <= t < end) / (end - start)


def test_a_producer_over_its_quota_is_held_to_it_while_another_is_not(request, tmp_path):
    with running_fjord(request, tmp_path, OVERRIDES) as b:
        create_topic(b.bootstrap, "quota-slow")
        create_topic(b.bootstrap, "quota-fast")
        done = fj(b.bootstrap, "quota", "set", "--client-id", "slow", "--config", f"producer_byte_rate={QUOTA}")
        assert done.returncode == 0, done.stderr
        listed = json.loads(fj(b.bootstrap, "quota", "describe", "--format", "json").stdout)
        assert listed == {"quotas": [{"entity": "client-id=slow", "user": None, "client_id": "slow",
                                      "values": {"producer_byte_rate": QUOTA}}]}
        refused = fj(b.bootstrap, "quota", "set", "--client-id", "slow", "--config", "producer_byte_rate=1.5")
        assert refused.returncode != 0 and "whole number" in refused.stderr, refused.stderr

        slow: list = []
        fast: list = []
        start = time.monotonic()
        threads = [threading.Thread(target=produce_for, args=(b.bootstrap, "slow", "quota-slow", 8, slow)),
                   threading.Thread(target=produce_for, args=(b.bootstrap, "fast", "quota-fast", 8, fast))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        # After the first windows' burst, the throttled producer runs at its quota (within 10%), the other far above.
        slow_rate = rate_between(slow, start + 3, start + 8)
        fast_rate = rate_between(fast, start + 3, start + 8)
        assert 0.9 * QUOTA <= slow_rate <= 1.1 * QUOTA, (slow_rate, fast_rate)
        assert fast_rate > 3 * QUOTA, (slow_rate, fast_rate)

        # The throttling shows in /metrics.
        import re
        import urllib.request
        text = urllib.request.urlopen(f"http://127.0.0.1:{b.metrics_port}/metrics", timeout=10).read().decode()
        throttled = re.search(r'fjord_client_quota_throttle_time_ms_total\{type="produce"\} (\d+)', text)
        assert throttled and int(throttled[1]) > 1000, text[-2000:]

        # Removing the quota lifts it.
        done = fj(b.bootstrap, "quota", "delete", "--client-id", "slow", "--key", "producer_byte_rate")
        assert done.returncode == 0, done.stderr
        assert json.loads(fj(b.bootstrap, "quota", "describe", "--format", "json").stdout) == {"quotas": []}


def test_a_default_consumer_quota_throttles_every_client_id(request, tmp_path):
    with running_fjord(request, tmp_path, OVERRIDES) as b:
        create_topic(b.bootstrap, "quota-read")
        filler: list = []
        produce_for(b.bootstrap, "filler", "quota-read", 3, filler)
        total = sum(size for _, size in filler)
        assert total > 6 * QUOTA
        done = fj(b.bootstrap, "quota", "set", "--client-id-default", "--config", f"consumer_byte_rate={QUOTA}")
        assert done.returncode == 0, done.stderr
        c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "quota-readers", "client.id": "reader",
                      "auto.offset.reset": "earliest", "fetch.max.bytes": 100_000, "message.max.bytes": 100_000,
                      "max.partition.fetch.bytes": 100_000})
        c.assign([TopicPartition("quota-read", 0, 0)])
        read: list = []
        start = time.monotonic()
        while time.monotonic() < start + 7:
            msg = c.poll(0.2)
            if msg is not None and msg.error() is None:
                read.append((time.monotonic(), len(msg.value())))
        c.close()
        rate = rate_between(read, start + 2, start + 7)
        assert 0.8 * QUOTA <= rate <= 1.2 * QUOTA, rate
