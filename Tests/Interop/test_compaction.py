"""Log compaction (`cleanup.policy=compact`) seen by a real client: after the log cleaner has run, a consumer
reading from the beginning sees one record per key below the active segment, and the last value it reads for
every key is the latest written — also after a SIGKILL and restart (recovery settles any interrupted swap)."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from conftest import restart_broker, running_fjord
from datapath_clients import (create_topic, drop_admin_clients,  # noqa: F401 (autouse fixture)
                              wait_for_topic)
from waiting import GENEROUS_S

TOPIC = "compacted"
KEYS = 50
UPDATES = 20


def active_base_offset(data_dir: Path) -> int:
    """The base offset of the partition's active segment: its newest `<20 digits>.log` file."""
    folder = data_dir / f"{TOPIC}-0"
    bases = [int(p.name[:20]) for p in folder.iterdir() if p.name.endswith(".log") and len(p.name) == 24]
    return max(bases)


def read_all(bootstrap: str) -> list[tuple[int, str, str | None]]:
    """(offset, key, value) of every record from the beginning up to the high watermark."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "compaction-check", "enable.auto.commit": False,
                  "auto.offset.reset": "earliest"})
    try:
        _, high = c.get_watermark_offsets(TopicPartition(TOPIC, 0), timeout=GENEROUS_S)
        c.assign([TopicPartition(TOPIC, 0, OFFSET_BEGINNING)])
        rows: list[tuple[int, str, str | None]] = []
        deadline = time.monotonic() + GENEROUS_S
        while time.monotonic() < deadline and (not rows or rows[-1][0] < high - 1):
            for m in c.consume(num_messages=1000, timeout=0.3):
                assert m.error() is None, f"consumer error: {m.error()}"
                rows.append((m.offset(), m.key().decode(), m.value().decode() if m.value() is not None else None))
        return rows
    finally:
        c.close()


def compacted_state(broker, latest: dict[str, str]) -> tuple[bool, str]:
    """Whether the log looks compacted: unique keys below the active segment, the latest value last per key."""
    rows = read_all(broker.bootstrap)
    active = active_base_offset(broker.data_dir)
    offsets = [o for o, _, _ in rows]
    assert offsets == sorted(set(offsets)), "offsets must increase"
    below = [k for o, k, _ in rows if o < active]
    in_active = len(rows) - len(below)
    last = {}
    for _, k, v in rows:
        last[k] = v
    if last != latest:
        return False, f"latest values differ for {[k for k in latest if last.get(k) != latest[k]][:5]}"
    if len(below) != len(set(below)) or len(rows) > KEYS + in_active:
        return False, f"{len(rows)} records, {in_active} in the active segment, {len(below) - len(set(below))} duplicates"
    return True, "ok"


def wait_compacted(broker, latest: dict[str, str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        done, why = compacted_state(broker, latest)
        if done:
            return
        assert time.monotonic() < deadline, f"not compacted after {timeout} s: {why}"
        time.sleep(0.5)


def test_compacted_topic_keeps_latest_value_per_key(request: pytest.FixtureRequest, tmp_path: Path):
    with running_fjord(request, tmp_path, {"log.cleaner.backoff.ms": "200"}) as broker:
        b = broker.bootstrap
        create_topic(b, TOPIC, config={"cleanup.policy": "compact", "segment.bytes": "2048",
                                       "min.cleanable.dirty.ratio": "0.01"})
        p = Producer({"bootstrap.servers": b, "acks": "all", "linger.ms": 5, "enable.idempotence": True})
        latest: dict[str, str] = {}
        errors: list[str] = []
        for update in range(UPDATES):
            for key in range(KEYS):
                k, v = f"key-{key}", f"value-{key}-{update}"
                p.produce(TOPIC, key=k, value=v, partition=0,
                          on_delivery=lambda err, _msg: err is not None and errors.append(str(err)))
                latest[k] = v
            p.flush(GENEROUS_S)
        assert p.flush(GENEROUS_S) == 0 and not errors, errors
        assert len(list((broker.data_dir / f"{TOPIC}-0").glob("*.log"))) > 5, "segment.bytes should roll often"
        wait_compacted(broker, latest)

        restart_broker(broker, hard=True)
        wait_for_topic(b, TOPIC, 1)
        done, why = compacted_state(broker, latest)
        assert done, f"after SIGKILL and restart: {why}"

        # Updates after the restart are compacted as well.
        latest = {f"key-{key}": f"after-restart-{key}" for key in range(KEYS)}
        # The old producer's connection died with the broker: a new one.
        p = Producer({"bootstrap.servers": b, "acks": "all", "linger.ms": 5})
        for round_ in range(3):
            for key in range(KEYS):
                p.produce(TOPIC, key=f"key-{key}", value=f"after-restart-{key}" if round_ == 2 else f"r{round_}",
                          partition=0)
            assert p.flush(GENEROUS_S) == 0
        wait_compacted(broker, latest)


def test_consumer_offsets_are_compacted_and_survive(request: pytest.FixtureRequest, tmp_path: Path):
    """__consumer_offsets is an ordinary compacted log: many commits of one group's offsets shrink to about one
    record per partition, and the group's last commit is what a restart (SIGKILL) gives back."""
    overrides = {"log.cleaner.backoff.ms": "200", "offsets.topic.num.partitions": "1",
                 "offsets.topic.segment.bytes": "1024", "group.initial.rebalance.delay.ms": "0"}
    with running_fjord(request, tmp_path, overrides) as broker:
        b = broker.bootstrap
        create_topic(b, "work", partitions=2)
        c = Consumer({"bootstrap.servers": b, "group.id": "compacting-group", "enable.auto.commit": False})
        try:
            for i in range(200):
                c.commit(offsets=[TopicPartition("work", 0, i), TopicPartition("work", 1, 1000 + i)], asynchronous=False)
        finally:
            c.close()

        def offsets_records() -> int:
            reader = Consumer({"bootstrap.servers": b, "group.id": "reader", "enable.auto.commit": False})
            try:
                _, high = reader.get_watermark_offsets(TopicPartition("__consumer_offsets", 0), timeout=GENEROUS_S)
                reader.assign([TopicPartition("__consumer_offsets", 0, OFFSET_BEGINNING)])
                count, last = 0, -1
                deadline = time.monotonic() + GENEROUS_S
                while last < high - 1 and time.monotonic() < deadline:
                    for m in reader.consume(num_messages=1000, timeout=0.3):
                        if m.error() is None:
                            count, last = count + 1, m.offset()
                return count
            finally:
                reader.close()

        # 200 commits × 2 partitions were written; compaction leaves the latest per key plus the active segment.
        deadline = time.monotonic() + 60
        while (count := offsets_records()) > 100:
            assert time.monotonic() < deadline, f"__consumer_offsets still holds {count} records"
            time.sleep(0.5)

        restart_broker(broker, hard=True)
        c = Consumer({"bootstrap.servers": b, "group.id": "compacting-group", "enable.auto.commit": False})
        try:
            got = c.committed([TopicPartition("work", 0), TopicPartition("work", 1)], timeout=GENEROUS_S)
        finally:
            c.close()
        assert [tp.offset for tp in got] == [199, 1199]
