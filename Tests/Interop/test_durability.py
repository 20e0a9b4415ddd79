"""Everything is still there after a broker restart, graceful (SIGTERM) or hard (SIGKILL): topics, partition
counts, configs, records (bytes, keys, headers, timestamps, offsets), log start offsets, and the broker keeps
appending after the last offset."""

from __future__ import annotations

import threading
import time

from confluent_kafka import Producer, TopicPartition
from confluent_kafka.admin import ConfigResource, ConfigSource, OffsetSpec

from conftest import restart_broker
from datapath_clients import (drop_admin_clients,  # noqa: F401 (autouse fixture)
                              TIMEOUT_S, admin, check_consumed, confluent_consume, confluent_consumer,
                              confluent_produce, confluent_rows, create_topic, make_records, now_ms, wait_for_topic)


def watermarks(bootstrap: str, topic: str, partitions: int) -> list[tuple[int, int]]:
    c = confluent_consumer(bootstrap)
    try:
        return [c.get_watermark_offsets(TopicPartition(topic, p), timeout=TIMEOUT_S) for p in range(partitions)]
    finally:
        c.close()


def test_everything_survives_graceful_restart(broker):
    b = broker.bootstrap
    create_topic(b, "kept", 3, {"retention.ms": "86400000", "max.message.bytes": "500000"})
    create_topic(b, "kept-too", 1)
    records = make_records(3_000, now_ms() - 60_000)
    d1 = confluent_produce(b, "kept", records[:1_500], **{"acks": "all", "compression.type": "zstd"})
    d2 = confluent_produce(b, "kept", records[1_500:], **{"acks": "all", "compression.type": "none"})
    assert d1.errors() == d2.errors() == []
    small = make_records(50, now_ms() - 1000, tag="s")
    confluent_produce(b, "kept-too", small, acks="all")
    tp = TopicPartition("kept-too", 0)
    admin(b).delete_records([TopicPartition("kept-too", 0, 20)])[tp].result(timeout=TIMEOUT_S)
    before = watermarks(b, "kept", 3)
    cluster_id = admin(b).list_topics(timeout=TIMEOUT_S).cluster_id

    restart_broker(broker)
    assert "--- restart (SIGTERM, exit 0) ---" in broker.log_text(), "SIGTERM did not exit 0"

    md = admin(b).list_topics(timeout=TIMEOUT_S)
    assert md.cluster_id == cluster_id
    wait_for_topic(b, "kept", 3)
    wait_for_topic(b, "kept-too", 1)
    assert watermarks(b, "kept", 3) == before
    assert watermarks(b, "kept-too", 1) == [(20, 50)], "DeleteRecords' log start offset was lost"

    res = ConfigResource(ConfigResource.Type.TOPIC, "kept")
    e = admin(b).describe_configs([res])[res].result(timeout=TIMEOUT_S)
    assert (e["retention.ms"].value, e["retention.ms"].source) == ("86400000", ConfigSource.DYNAMIC_TOPIC_CONFIG.value)
    assert e["max.message.bytes"].value == "500000"

    seen = check_consumed(records, confluent_rows(confluent_consume(b, "kept", 3, len(records))))
    for d in (d1, d2):
        for seq, partition, offset, _, _ in d.reports:
            assert seen[seq] == (partition, offset)
    msgs = confluent_consume(b, "kept-too", 1, 30)
    assert [m.offset() for m in msgs] == list(range(20, 50))

    # Appends continue after the recovered end.
    more = make_records(30, now_ms(), tag="after")
    d3 = confluent_produce(b, "kept", more, acks="all")
    for seq, partition, offset, err, _ in d3.reports:
        assert err is None
        assert offset >= before[partition][1], f"offset {offset} reused in partition {partition}"


def test_acked_records_survive_sigkill(broker):
    """A producer (acks=all) writes continuously; the broker is SIGKILLed mid-stream. After a restart on the
    same data directory every record acknowledged before the kill is readable, intact and at its acked offset,
    and nothing acknowledged is duplicated."""
    b = broker.bootstrap
    create_topic(b, "crash", 2)
    records = make_records(100_000, now_ms() - 60_000)
    acked: dict[int, tuple[int, int]] = {}
    lock = threading.Lock()
    killed = threading.Event()

    reported = 0  # delivery reports, acks and failures

    def on_delivery(seq):
        def cb(err, msg):
            nonlocal reported
            reported += 1
            if err is None:
                with lock:
                    if not killed.is_set():
                        acked[seq] = (msg.partition(), msg.offset())
        return cb

    p = Producer({"bootstrap.servers": b, "acks": "all", "linger.ms": 2, "compression.type": "lz4",
                  "message.timeout.ms": 5000, "retries": 0})
    sent = 0
    # The loop ends at 20,000 acks; the deadline only ends a broker that stopped acknowledging (a debug build on a
    # loaded 2-core machine is slow, and this test is about what survives, not about throughput). At most 5,000
    # records are in flight: enough to kill the broker mid-stream, and a slow broker can neither exhaust the
    # 100,000 records nor lose the CPU to this loop spinning on a full queue.
    deadline = time.monotonic() + 180
    while len(acked) < 20_000 and time.monotonic() < deadline:
        if sent - reported >= 5_000 or sent == len(records):
            p.poll(0.01)
            continue
        r = records[sent]
        try:
            p.produce("crash", r.value, r.key, headers=list(r.headers), timestamp=r.timestamp,
                      on_delivery=on_delivery(r.seq))
            sent += 1
        except BufferError:
            p.poll(0.01)
            continue
        p.poll(0)
    assert len(acked) >= 20_000, f"only {len(acked)} acks in 180 s"
    # Kill while the producer still has records in flight.
    with lock:
        killed.set()
        broker.proc.kill()
    acked_at_kill = dict(acked)
    p.flush(10)  # whatever is left fails or times out; those records are not acked

    restart_broker(broker, hard=True)
    wait_for_topic(b, "crash", 2)
    hw = sum(h for _, h in watermarks(b, "crash", 2))
    assert hw >= len(acked_at_kill), f"high watermarks sum {hw} < {len(acked_at_kill)} acked records"
    msgs = confluent_consume(b, "crash", 2, hw)
    rows = confluent_rows(msgs)
    # Records produced but never acked may or may not be there; acked ones must be, exactly where acked.
    by_seq = {r.seq: r for r in records}
    got = {}
    for row in rows:
        from datapath_clients import seq_of_value
        seq = seq_of_value(row[3])
        assert seq not in got, f"seq {seq} stored twice"
        got[seq] = row
    missing = [s for s in acked_at_kill if s not in got]
    assert not missing, f"{len(missing)} acked records lost after SIGKILL, first {sorted(missing)[:10]}"
    for seq, (partition, offset) in acked_at_kill.items():
        row = got[seq]
        assert (row[0], row[1]) == (partition, offset), f"seq {seq} acked at {(partition, offset)}, found at {row[:2]}"
        r = by_seq[seq]
        assert (row[2], row[3], row[5]) == (r.key, r.value, r.timestamp)
    check_consumed([by_seq[s] for s in got], rows)

    # The restarted broker accepts appends after whatever survived.
    d = confluent_produce(b, "crash", make_records(10, now_ms(), tag="post"), acks="all")
    assert d.errors() == []
