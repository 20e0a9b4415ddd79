"""Transactions with librdkafka (confluent-kafka): exactly-once writes across partitions plus offset commits.

What a user of Kafka relies on, checked end to end against a real broker process:
- a committed transaction's records are read by read_committed consumers, an aborted one's never are, and
  read_uncommitted consumers see both (control records are never delivered as messages);
- an open transaction holds read_committed consumers back at its first offset (the last stable offset);
- a second producer with the same transactional.id fences the first and aborts its open transaction;
- consume-transform-produce: offsets sent with send_offsets_to_transaction become the group's committed offsets
  only when the transaction commits;
- the coordinator aborts a transaction that outlives transaction.timeout.ms;
- after SIGKILL of the broker, committed transactions stay committed (records and offsets), and a transaction
  left open is aborted, never half-applied.
"""

from __future__ import annotations

import time

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from conftest import restart_broker, running_fjord
from datapath_clients import create_topic, drop_admin_clients  # noqa: F401 (autouse fixture)

TIMEOUT_S = 10


def txn_producer(bootstrap: str, txn_id: str, **conf) -> Producer:
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id, "linger.ms": 5, **conf})
    p.init_transactions(TIMEOUT_S * 3)
    return p


def produce_values(p: Producer, topic: str, values: list[str], partition: int | None = None,
                   partitions: int | None = None) -> None:
    """Produces each value (as key and value) to `partition`, or round-robin over `partitions`, or by key."""
    for i, v in enumerate(values):
        if partition is not None:
            kwargs = {"partition": partition}
        elif partitions is not None:
            kwargs = {"partition": i % partitions}
        else:
            kwargs = {}
        p.produce(topic, v.encode(), key=v.encode(), **kwargs)
    p.poll(0)


def read_all(bootstrap: str, topic: str, partitions: int, isolation: str, settle: float = 2.0,
             timeout: float = 60, expect: int | None = None) -> list[str]:
    """Every message value of the topic from the beginning, with the given isolation level: consumes until
    `expect` values arrived and nothing more came for `settle` seconds (or, without `expect`, until quiet — which
    on a slow machine can be before the first fetch answered: pass `expect`). `timeout` only ends a read that
    never gets there."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "txn-reader", "enable.auto.commit": False,
                  "auto.offset.reset": "earliest", "isolation.level": isolation})
    try:
        c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        values: list[str] = []
        deadline = time.monotonic() + timeout
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            msgs = c.consume(num_messages=1000, timeout=0.2)
            for m in msgs:
                if m.error() is not None:
                    assert m.error().code() == KafkaError._PARTITION_EOF, m.error()
                    continue
                values.append(m.value().decode())
            if msgs:
                quiet_since = time.monotonic()
            enough = expect is None or len(values) >= expect
            if enough and time.monotonic() - quiet_since >= settle:
                break
        return values
    finally:
        c.close()


def test_commit_is_visible_and_abort_is_not(broker):
    bs = broker.bootstrap
    create_topic(bs, "tx-basic", partitions=2)
    p = txn_producer(bs, "tx-basic-producer")
    p.begin_transaction()
    produce_values(p, "tx-basic", [f"c1-{i}" for i in range(10)], partitions=2)
    p.commit_transaction(TIMEOUT_S)
    p.begin_transaction()
    produce_values(p, "tx-basic", [f"ab-{i}" for i in range(5)], partitions=2)
    p.flush(TIMEOUT_S)  # the records reach the log before the abort
    p.abort_transaction(TIMEOUT_S)
    p.begin_transaction()
    produce_values(p, "tx-basic", [f"c2-{i}" for i in range(3)], partitions=2)
    p.commit_transaction(TIMEOUT_S)

    committed = read_all(bs, "tx-basic", 2, "read_committed", expect=13)
    assert sorted(committed) == sorted([f"c1-{i}" for i in range(10)] + [f"c2-{i}" for i in range(3)])
    everything = read_all(bs, "tx-basic", 2, "read_uncommitted", expect=18)
    assert sorted(everything) == sorted(committed + [f"ab-{i}" for i in range(5)])
    # Each partition ends with the markers: 18 records, 3 transactions × 2 partitions = 6 control records.
    c = Consumer({"bootstrap.servers": bs, "group.id": "wm"})
    try:
        ends = [c.get_watermark_offsets(TopicPartition("tx-basic", i), timeout=TIMEOUT_S)[1] for i in range(2)]
    finally:
        c.close()
    assert sum(ends) == 18 + 6


def test_open_transaction_holds_read_committed_back(broker):
    bs = broker.bootstrap
    create_topic(bs, "tx-lso", partitions=1)
    plain = Producer({"bootstrap.servers": bs})
    plain.produce("tx-lso", b"before", partition=0)
    plain.flush(TIMEOUT_S)
    p = txn_producer(bs, "tx-lso-producer")
    p.begin_transaction()
    produce_values(p, "tx-lso", ["open-1", "open-2"], partition=0)
    p.flush(TIMEOUT_S)
    # A non-transactional record after the open transaction: read_committed may not pass the open one to get it.
    plain.produce("tx-lso", b"after", partition=0)
    plain.flush(TIMEOUT_S)

    # "before" must arrive (however long a loaded machine takes), then nothing more for 1.5 s: without `expect`,
    # a consumer slower than `settle` to fetch anything would return [] and fail.
    assert read_all(bs, "tx-lso", 1, "read_committed", settle=1.5, expect=1) == ["before"]
    assert read_all(bs, "tx-lso", 1, "read_uncommitted", expect=4) == ["before", "open-1", "open-2", "after"]
    p.commit_transaction(TIMEOUT_S)
    assert read_all(bs, "tx-lso", 1, "read_committed", expect=4) == ["before", "open-1", "open-2", "after"]


def test_a_new_producer_with_the_same_id_fences_the_old_one(broker):
    bs = broker.bootstrap
    create_topic(bs, "tx-fence", partitions=1)
    old = txn_producer(bs, "tx-fence-id")
    old.begin_transaction()
    produce_values(old, "tx-fence", ["zombie-1", "zombie-2"])
    old.flush(TIMEOUT_S)

    new = txn_producer(bs, "tx-fence-id")  # aborts the old producer's open transaction
    new.begin_transaction()
    produce_values(new, "tx-fence", ["fresh"])
    new.commit_transaction(TIMEOUT_S)

    with pytest.raises(KafkaException) as failure:
        produce_values(old, "tx-fence", ["zombie-3"])
        old.commit_transaction(TIMEOUT_S)
    error = failure.value.args[0]
    assert error.fatal() or error.txn_requires_abort(), error
    assert error.code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH,
                            KafkaError._STATE), error
    assert read_all(bs, "tx-fence", 1, "read_committed", expect=1) == ["fresh"]


def test_offsets_sent_with_the_transaction_commit_with_it(broker):
    bs = broker.bootstrap
    create_topic(bs, "tx-in", partitions=1)
    create_topic(bs, "tx-out", partitions=1)
    plain = Producer({"bootstrap.servers": bs})
    for i in range(20):
        plain.produce("tx-in", f"in-{i}".encode(), partition=0)
    plain.flush(TIMEOUT_S)

    consumer = Consumer({"bootstrap.servers": bs, "group.id": "tx-eos", "enable.auto.commit": False,
                         "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
    producer = txn_producer(bs, "tx-eos-producer")
    try:
        consumer.assign([TopicPartition("tx-in", 0, 0)])

        def transform(n: int, commit: bool) -> None:
            got = []
            deadline = time.monotonic() + TIMEOUT_S * 2
            while len(got) < n and time.monotonic() < deadline:
                got += [m for m in consumer.consume(num_messages=n - len(got), timeout=0.5) if m.error() is None]
            assert len(got) == n
            producer.begin_transaction()
            for m in got:
                producer.produce("tx-out", m.value().upper(), partition=0)
            producer.send_offsets_to_transaction(consumer.position(consumer.assignment()),
                                                 consumer.consumer_group_metadata(), TIMEOUT_S)
            if commit:
                producer.commit_transaction(TIMEOUT_S)
            else:
                producer.abort_transaction(TIMEOUT_S)

        transform(10, commit=True)
        committed = consumer.committed([TopicPartition("tx-in", 0)], timeout=TIMEOUT_S)
        assert committed[0].offset == 10
        transform(5, commit=False)
        committed = consumer.committed([TopicPartition("tx-in", 0)], timeout=TIMEOUT_S)
        assert committed[0].offset == 10, "an aborted transaction's offsets must not be committed"
    finally:
        consumer.close()
    assert read_all(bs, "tx-out", 1, "read_committed", expect=10) == [f"IN-{i}" for i in range(10)]


def test_the_coordinator_aborts_a_transaction_that_times_out(tmp_path, request):
    with running_fjord(request, tmp_path, {"transaction.abort.timed.out.transaction.cleanup.interval.ms": "200"}) as b:
        bs = b.bootstrap
        create_topic(bs, "tx-timeout", partitions=1)
        p = txn_producer(bs, "tx-timeout-producer", **{"transaction.timeout.ms": 2000})
        p.begin_transaction()
        produce_values(p, "tx-timeout", ["stale"], partition=0)
        p.flush(TIMEOUT_S)
        plain = Producer({"bootstrap.servers": bs})
        plain.produce("tx-timeout", b"later", partition=0)
        plain.flush(TIMEOUT_S)
        # The open transaction blocks read_committed until the coordinator aborts it (2 s + a tick).
        assert read_all(bs, "tx-timeout", 1, "read_committed", expect=1, timeout=60) == ["later"]
        with pytest.raises(KafkaException):
            p.commit_transaction(TIMEOUT_S)


def test_transactions_survive_sigkill(tmp_path, request):
    with running_fjord(request, tmp_path, {"transaction.abort.timed.out.transaction.cleanup.interval.ms": "200"}) as b:
        bs = b.bootstrap
        create_topic(bs, "tx-kill", partitions=2)
        consumer = Consumer({"bootstrap.servers": bs, "group.id": "tx-kill-group", "enable.auto.commit": False})
        group_metadata = consumer.consumer_group_metadata()
        consumer.close()

        p = txn_producer(bs, "tx-kill-producer", **{"transaction.timeout.ms": 3000})
        p.begin_transaction()
        produce_values(p, "tx-kill", [f"kept-{i}" for i in range(6)])
        p.send_offsets_to_transaction([TopicPartition("tx-kill", 0, 42)], group_metadata, TIMEOUT_S)
        p.commit_transaction(TIMEOUT_S)  # acknowledged: must survive
        p.begin_transaction()
        produce_values(p, "tx-kill", [f"open-{i}" for i in range(4)])
        p.send_offsets_to_transaction([TopicPartition("tx-kill", 0, 99)], group_metadata, TIMEOUT_S)
        p.flush(TIMEOUT_S)

        restart_broker(b, hard=True)

        # The open transaction is aborted by its timeout after the restart: read_committed gets past it and
        # never sees its records; the committed one is intact, offsets included.
        values = read_all(bs, "tx-kill", 2, "read_committed", expect=6, timeout=60)
        assert sorted(values) == sorted(f"kept-{i}" for i in range(6))
        c = Consumer({"bootstrap.servers": bs, "group.id": "tx-kill-group", "enable.auto.commit": False})
        try:
            committed = c.committed([TopicPartition("tx-kill", 0)], timeout=TIMEOUT_S)
        finally:
            c.close()
        assert committed[0].offset == 42
        # The same transactional id starts again cleanly.
        again = txn_producer(bs, "tx-kill-producer")
        again.begin_transaction()
        produce_values(again, "tx-kill", ["after-restart"])
        again.commit_transaction(TIMEOUT_S)
        values = read_all(bs, "tx-kill", 2, "read_committed", expect=7)
        assert sorted(values) == sorted([f"kept-{i}" for i in range(6)] + ["after-restart"])
