"""Topic administration, configs, offsets and DeleteRecords through real admin clients.

confluent-kafka's AdminClient is the main driver; kafka-python's KafkaAdminClient sends what librdkafka
checks on the client side (0 partitions) and its own describe/alter configs; aiokafka's admin creates a topic.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from confluent_kafka import (OFFSET_BEGINNING, KafkaError, KafkaException, Producer, TopicPartition)
from confluent_kafka.admin import (AlterConfigOpType, ConfigEntry, ConfigResource, ConfigSource, NewPartitions,
                                   NewTopic, OffsetSpec)

from datapath_clients import (drop_admin_clients,  # noqa: F401 (autouse fixture)
                              TIMEOUT_S, admin, confluent_consume, confluent_consumer, confluent_produce,
                              create_topic, make_records, now_ms, wait_for_topic)
from waiting import GENEROUS_S, wait_until


def create_error(bootstrap: str, topic: NewTopic, **kwargs) -> KafkaError:
    fut = admin(bootstrap).create_topics([topic], operation_timeout=10, **kwargs)[topic.topic]
    with pytest.raises(KafkaException) as info:
        fut.result(timeout=TIMEOUT_S)
    return info.value.args[0]


def kafka_python_admin(bootstrap: str):
    from kafka import KafkaAdminClient

    return KafkaAdminClient(bootstrap_servers=bootstrap, client_id="fjord-interop",
                            request_timeout_ms=TIMEOUT_S * 1000)


def topic_names(bootstrap: str) -> set[str]:
    return set(admin(bootstrap).list_topics(timeout=TIMEOUT_S).topics)


# ---- CreateTopics / DeleteTopics / CreatePartitions ----------------------------------------------------------

def test_create_topics_with_each_admin_client(broker):
    from kafka.admin import NewTopic as KNewTopic
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic as ANewTopic

    create_topic(broker.bootstrap, "by-confluent", 2)
    ka = kafka_python_admin(broker.bootstrap)
    try:
        res = ka.create_topics({"by-kafka-python": {"num_partitions": 3, "replication_factor": 1}})
        assert [t["error_code"] for t in res["topics"]] == [0], res
    finally:
        ka.close()

    async def aio():
        a = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=TIMEOUT_S * 1000)
        await a.start()
        try:
            resp = await a.create_topics([ANewTopic("by-aiokafka", 4, 1)])
            return resp
        finally:
            await a.close()

    resp = asyncio.run(aio())
    errors = [t[1] for t in resp.topic_errors] if hasattr(resp, "topic_errors") else resp
    assert errors == [0], resp
    for name, n in [("by-confluent", 2), ("by-kafka-python", 3), ("by-aiokafka", 4)]:
        wait_for_topic(broker.bootstrap, name, n)


def test_create_topics_errors(broker):
    b = broker.bootstrap
    create_topic(b, "exists", 1)
    assert create_error(b, NewTopic("exists", 1, 1)).code() == KafkaError.TOPIC_ALREADY_EXISTS

    for bad in ["bad/name", "bad name", "sp\u00e9cial", "a" * 250, ".", ".."]:
        err = create_error(b, NewTopic(bad, 1, 1))
        assert err.code() == KafkaError.TOPIC_EXCEPTION, f"{bad!r}: {err}"
    # 249 characters is the longest legal name.
    create_topic(b, "a" * 249, 1)

    # '.' and '_' collide in metric names: Kafka refuses the second.
    create_topic(b, "dot.under", 1)
    err = create_error(b, NewTopic("dot_under", 1, 1))
    assert err.code() == KafkaError.TOPIC_EXCEPTION, str(err)
    assert "dot_under" not in topic_names(b)

    err = create_error(b, NewTopic("rf2", 1, 2))
    assert err.code() == KafkaError.INVALID_REPLICATION_FACTOR, str(err)

    err = create_error(b, NewTopic("badcfg", 1, 1, config={"no.such.config": "1"}))
    assert err.code() == KafkaError.INVALID_CONFIG, str(err)
    assert "no.such.config" in err.str(), f"the error should name the key: {err.str()!r}"
    err = create_error(b, NewTopic("badval", 1, 1, config={"retention.ms": "soon"}))
    assert err.code() == KafkaError.INVALID_CONFIG, str(err)
    assert "retention.ms" in err.str(), f"the error should name the key: {err.str()!r}"
    err = create_error(b, NewTopic("badval2", 1, 1, config={"cleanup.policy": "shred"}))
    assert err.code() == KafkaError.INVALID_CONFIG, str(err)

    # librdkafka refuses 0 partitions itself; kafka-python sends it.
    ka = kafka_python_admin(b)
    try:
        res = ka.create_topics({"zero": {"num_partitions": 0, "replication_factor": 1}}, raise_errors=False)
        assert [t["error_code"] for t in res["topics"]] == [37], res  # INVALID_PARTITIONS
        res = ka.create_topics({"neg": {"num_partitions": -5, "replication_factor": 1}}, raise_errors=False)
        assert [t["error_code"] for t in res["topics"]] == [37], res
    finally:
        ka.close()

    names = topic_names(b)
    for never in ["rf2", "badcfg", "badval", "badval2", "zero", "neg", "bad/name", "."]:
        assert never not in names, f"{never!r} was created despite its error"


def test_create_topics_validate_only_creates_nothing(broker):
    fut = admin(broker.bootstrap).create_topics([NewTopic("dry", 3, 1)], validate_only=True)["dry"]
    fut.result(timeout=TIMEOUT_S)
    err = create_error(broker.bootstrap, NewTopic("dry-bad", 1, 1, config={"nope": "1"}), validate_only=True)
    assert err.code() == KafkaError.INVALID_CONFIG
    time.sleep(0.3)
    assert "dry" not in topic_names(broker.bootstrap)
    create_topic(broker.bootstrap, "dry", 3)  # and it can still be created for real


def test_delete_topic_then_recreate_is_empty(broker):
    b = broker.bootstrap
    create_topic(b, "doomed", 2)
    confluent_produce(b, "doomed", make_records(500, now_ms() - 1000), acks="all")
    assert admin(b).list_offsets({TopicPartition("doomed", 0): OffsetSpec.latest()})[
        TopicPartition("doomed", 0)].result(timeout=TIMEOUT_S).offset > 0

    admin(b).delete_topics(["doomed"], operation_timeout=10)["doomed"].result(timeout=TIMEOUT_S)
    wait_until(lambda: "doomed" not in topic_names(b), GENEROUS_S, "deleted topic still in metadata")
    # Deleting again: UNKNOWN_TOPIC_OR_PART.
    with pytest.raises(KafkaException) as info:
        admin(b).delete_topics(["doomed"], operation_timeout=10)["doomed"].result(timeout=TIMEOUT_S)
    assert info.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART

    create_topic(b, "doomed", 2)
    c = confluent_consumer(b)
    try:
        for p in range(2):
            assert c.get_watermark_offsets(TopicPartition("doomed", p), timeout=TIMEOUT_S) == (0, 0)
    finally:
        c.close()
    records = make_records(10, now_ms())
    confluent_produce(b, "doomed", records, acks="all")
    msgs = confluent_consume(b, "doomed", 2, 10)
    assert sorted(m.value() for m in msgs) == sorted(r.value for r in records)


def test_create_partitions(broker):
    b = broker.bootstrap
    create_topic(b, "grow", 1)
    admin(b).create_partitions([NewPartitions("grow", 4)])["grow"].result(timeout=TIMEOUT_S)
    wait_for_topic(b, "grow", 4)
    p = Producer({"bootstrap.servers": b, "acks": "all"})
    errs = []
    p.produce("grow", b"in-new-partition", partition=3, on_delivery=lambda e, m: errs.append((e, m.offset())))
    assert p.flush(TIMEOUT_S) == 0
    assert errs == [(None, 0)]

    # Shrinking and staying the same are INVALID_PARTITIONS; an unknown topic is UNKNOWN_TOPIC_OR_PART.
    for count in (2, 4):
        with pytest.raises(KafkaException) as info:
            admin(b).create_partitions([NewPartitions("grow", count)])["grow"].result(timeout=TIMEOUT_S)
        assert info.value.args[0].code() == KafkaError.INVALID_PARTITIONS, f"{count}: {info.value}"
    with pytest.raises(KafkaException) as info:
        admin(b).create_partitions([NewPartitions("nope", 3)])["nope"].result(timeout=TIMEOUT_S)
    assert info.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART
    wait_for_topic(b, "grow", 4)


def test_describe_cluster(broker):
    desc = admin(broker.bootstrap).describe_cluster(request_timeout=TIMEOUT_S).result(timeout=TIMEOUT_S)
    md = admin(broker.bootstrap).list_topics(timeout=TIMEOUT_S)
    assert desc.cluster_id and desc.cluster_id == md.cluster_id
    assert [(n.id, n.host, n.port) for n in desc.nodes] == [(1, "127.0.0.1", broker.port)]
    assert desc.controller is not None and desc.controller.id == 1


# ---- configs ---------------------------------------------------------------------------------------------------

def describe_topic(bootstrap: str, topic: str) -> dict[str, ConfigEntry]:
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    return admin(bootstrap).describe_configs([res])[res].result(timeout=TIMEOUT_S)


def test_describe_configs_sources_and_defaults(broker):
    b = broker.bootstrap
    create_topic(b, "cfg", 1, {"retention.ms": "123456", "cleanup.policy": "compact"})
    entries = describe_topic(b, "cfg")
    assert entries["retention.ms"].value == "123456"
    assert entries["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert entries["cleanup.policy"].value == "compact"
    assert entries["max.message.bytes"].value == "1048588"
    assert entries["max.message.bytes"].source == ConfigSource.DEFAULT_CONFIG.value
    assert entries["max.message.bytes"].is_default
    assert entries["message.timestamp.type"].value == "CreateTime"
    assert entries["compression.type"].value == "producer"
    assert not entries["retention.ms"].is_read_only

    res = ConfigResource(ConfigResource.Type.BROKER, "1")
    broker_entries = admin(b).describe_configs([res])[res].result(timeout=TIMEOUT_S)
    assert broker_entries["log.dirs"].value == str(broker.data_dir)
    assert broker_entries["log.dirs"].source == ConfigSource.STATIC_BROKER_CONFIG.value
    assert (broker_entries["message.max.bytes"].value, broker_entries["message.max.bytes"].source) == (
        "1048588", ConfigSource.DEFAULT_CONFIG.value)

    # Unknown topic: UNKNOWN_TOPIC_OR_PART.
    with pytest.raises(KafkaException) as info:
        describe_topic(b, "no-such-topic")
    assert info.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_incremental_alter_configs(broker):
    b = broker.bootstrap
    create_topic(b, "alter", 1)
    res = ConfigResource(ConfigResource.Type.TOPIC, "alter", incremental_configs=[
        ConfigEntry("retention.ms", "3600000", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("max.message.bytes", "20000", incremental_operation=AlterConfigOpType.SET)])
    admin(b).incremental_alter_configs([res])[res].result(timeout=TIMEOUT_S)
    e = describe_topic(b, "alter")
    assert (e["retention.ms"].value, e["retention.ms"].source) == ("3600000", ConfigSource.DYNAMIC_TOPIC_CONFIG.value)
    assert e["max.message.bytes"].value == "20000"

    # The new max.message.bytes applies to produce at once.
    p = Producer({"bootstrap.servers": b, "acks": "all", "message.send.max.retries": 0})
    errs = []
    p.produce("alter", b"z" * 30000, on_delivery=lambda err, m: errs.append(err))
    assert p.flush(TIMEOUT_S) == 0
    assert errs[0] is not None and errs[0].code() == KafkaError.MSG_SIZE_TOO_LARGE, errs

    res = ConfigResource(ConfigResource.Type.TOPIC, "alter", incremental_configs=[
        ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE)])
    admin(b).incremental_alter_configs([res])[res].result(timeout=TIMEOUT_S)
    e = describe_topic(b, "alter")
    assert (e["retention.ms"].value, e["retention.ms"].source) == ("604800000", ConfigSource.DEFAULT_CONFIG.value)

    for key, value, named in [("no.such.key", "1", "no.such.key"), ("retention.ms", "forever", "retention.ms"),
                              ("min.insync.replicas", "0", "min.insync.replicas")]:
        res = ConfigResource(ConfigResource.Type.TOPIC, "alter", incremental_configs=[
            ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)])
        with pytest.raises(KafkaException) as info:
            admin(b).incremental_alter_configs([res])[res].result(timeout=TIMEOUT_S)
        err = info.value.args[0]
        assert err.code() == KafkaError.INVALID_CONFIG, f"{key}={value}: {err}"
        assert named in err.str(), f"{key}={value}: message should name {named}: {err.str()!r}"
    # A rejected change changes nothing.
    e = describe_topic(b, "alter")
    assert e["max.message.bytes"].value == "20000" and e["retention.ms"].value == "604800000"
    assert e["min.insync.replicas"].value == "1"


def test_kafka_python_describe_and_alter_configs(broker):
    from kafka.admin import ConfigResource as KCR, ConfigResourceType

    b = broker.bootstrap
    create_topic(b, "kp-cfg", 1)
    ka = kafka_python_admin(b)
    try:
        got = ka.describe_configs([KCR(ConfigResourceType.TOPIC, "kp-cfg")], config_filter="all")
        flat = repr(got)
        assert "max.message.bytes" in flat and "1048588" in flat, flat[:2000]

        ka.alter_configs([KCR(ConfigResourceType.TOPIC, "kp-cfg", configs={"segment.bytes": "1048576"})])
        e = describe_topic(b, "kp-cfg")
        assert e["segment.bytes"].value == "1048576"
        assert e["segment.bytes"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value

        for configs, named in [({"bogus.key": "1"}, "bogus.key"), ({"segment.bytes": "-4"}, "segment.bytes")]:
            # raise_on_unknown=False: let the broker judge; kafka-python reports per-resource errors as strings.
            out = ka.alter_configs([KCR(ConfigResourceType.TOPIC, "kp-cfg", configs=configs)], raise_on_unknown=False)
            err = out["topic"]["kp-cfg"]
            assert isinstance(err, str) and err.startswith("[Error 40]"), f"{configs}: {out}"  # INVALID_CONFIG
            assert named in err, f"{configs}: message should name {named}: {err!r}"
        assert describe_topic(b, "kp-cfg")["segment.bytes"].value == "1048576"
    finally:
        ka.close()


def test_broker_static_config_is_the_topic_default(tmp_path, request):
    """Broker properties are the defaults of topic configs (source STATIC_BROKER_CONFIG, with the synonym
    chain), a topic override beats them, and num.partitions applies to auto-created topics."""
    from conftest import running_fjord

    with running_fjord(request, tmp_path, {"log.retention.ms": "7200000", "num.partitions": "3"}) as broker:
        b = broker.bootstrap
        create_topic(b, "inherits", 1)
        create_topic(b, "overrides", 1, {"retention.ms": "1000"})
        e = describe_topic(b, "inherits")["retention.ms"]
        assert (e.value, e.source) == ("7200000", ConfigSource.STATIC_BROKER_CONFIG.value)
        res = ConfigResource(ConfigResource.Type.TOPIC, "overrides")
        full = admin(b).describe_configs([res])[res].result(timeout=TIMEOUT_S)  # librdkafka asks for synonyms
        e = full["retention.ms"]
        assert (e.value, e.source) == ("1000", ConfigSource.DYNAMIC_TOPIC_CONFIG.value)
        chain = [(s.name, s.value, s.source) for s in e.synonyms.values()]
        assert ("log.retention.ms", "7200000", ConfigSource.STATIC_BROKER_CONFIG.value) in chain, chain

        # Auto-creation on Metadata uses num.partitions.
        def auto_made():
            return admin(b).list_topics(topic="auto-made", timeout=TIMEOUT_S).topics["auto-made"]

        wait_until(lambda: len(auto_made().partitions) == 3, GENEROUS_S, lambda: str(auto_made()))
        res = ConfigResource(ConfigResource.Type.BROKER, "1")
        be = admin(b).describe_configs([res])[res].result(timeout=TIMEOUT_S)
        assert (be["num.partitions"].value, be["num.partitions"].source) == ("3", ConfigSource.STATIC_BROKER_CONFIG.value)


def test_broker_describe_configs_lists_broker_defaults(broker):
    res = ConfigResource(ConfigResource.Type.BROKER, "1")
    be = admin(broker.bootstrap).describe_configs([res])[res].result(timeout=TIMEOUT_S)
    for key, value in [("num.partitions", "1"), ("default.replication.factor", "1"),
                       ("auto.create.topics.enable", "true")]:
        assert key in be, f"{key} missing from the broker's configs"
        assert (be[key].value, be[key].source) == (value, ConfigSource.DEFAULT_CONFIG.value)


# ---- offsets ---------------------------------------------------------------------------------------------------

def produce_timestamped(bootstrap: str, topic: str, timestamps: list[int]) -> None:
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    errs = []
    for i, ts in enumerate(timestamps):
        p.produce(topic, f"v{i}".encode(), partition=0, timestamp=ts, on_delivery=lambda e, m: errs.append(e))
    assert p.flush(TIMEOUT_S) == 0
    assert errs == [None] * len(timestamps)


def test_watermarks_offsets_for_times_and_list_offsets(broker):
    b = broker.bootstrap
    create_topic(b, "times", 1)
    base = now_ms() - 100_000
    # 100 records 10 ms apart, except offset 57 which carries the largest timestamp.
    ts = [base + 10 * i for i in range(100)]
    ts[57] = base + 50_000
    produce_timestamped(b, "times", ts)
    tp = TopicPartition("times", 0)
    c = confluent_consumer(b)
    try:
        assert c.get_watermark_offsets(tp, timeout=TIMEOUT_S) == (0, 100)
        for query, expected in [(base - 1, 0), (base, 0), (base + 255, 26), (base + 560, 56),
                                # the first offset whose timestamp is >= the target: 57 (base + 50 s) comes
                                # before 99 (base + 990 ms)
                                (base + 561, 57), (base + 990, 57), (base + 40_000, 57), (base + 50_000, 57), (base + 50_001, -1)]:
            got = c.offsets_for_times([TopicPartition("times", 0, query)], timeout=TIMEOUT_S)[0]
            assert got.error is None and got.offset == expected, f"timestamp {query - base:+}: {got}"
    finally:
        c.close()

    a = admin(b)
    for spec, expected in [(OffsetSpec.earliest(), 0), (OffsetSpec.latest(), 100), (OffsetSpec.max_timestamp(), 57),
                           (OffsetSpec.for_timestamp(base + 255), 26)]:
        info = a.list_offsets({tp: spec})[tp].result(timeout=TIMEOUT_S)
        assert info.offset == expected, f"{spec}: {info.offset}"
    info = a.list_offsets({tp: OffsetSpec.max_timestamp()})[tp].result(timeout=TIMEOUT_S)
    assert info.timestamp == base + 50_000
    assert info.leader_epoch is not None and info.leader_epoch >= 0, info.leader_epoch

    # An empty partition: earliest = latest = 0, max timestamp = -1.
    create_topic(b, "empty", 1)
    e = TopicPartition("empty", 0)
    assert a.list_offsets({e: OffsetSpec.latest()})[e].result(timeout=TIMEOUT_S).offset == 0
    assert a.list_offsets({e: OffsetSpec.max_timestamp()})[e].result(timeout=TIMEOUT_S).offset == -1


def test_delete_records_moves_log_start(broker):
    b = broker.bootstrap
    create_topic(b, "trim", 1)
    base = now_ms() - 100_000
    produce_timestamped(b, "trim", [base + i for i in range(100)])
    tp = TopicPartition("trim", 0)
    deleted = admin(b).delete_records([TopicPartition("trim", 0, 40)])[tp].result(timeout=TIMEOUT_S)
    assert deleted.low_watermark == 40, deleted  # the new low watermark

    c = confluent_consumer(b)
    try:
        assert c.get_watermark_offsets(tp, timeout=TIMEOUT_S) == (40, 100)
        # A timestamp older than the new start finds the first kept record.
        got = c.offsets_for_times([TopicPartition("trim", 0, base)], timeout=TIMEOUT_S)[0]
        assert got.offset == 40, got
    finally:
        c.close()
    assert admin(b).list_offsets({tp: OffsetSpec.earliest()})[tp].result(timeout=TIMEOUT_S).offset == 40

    # From the beginning: starts at 40.
    msgs = confluent_consume(b, "trim", 1, 60)
    assert [m.offset() for m in msgs] == list(range(40, 100))
    assert msgs[0].value() == b"v40"
    # From offset 10 (deleted) with auto.offset.reset=earliest: OFFSET_OUT_OF_RANGE, reset to 40.
    msgs = confluent_consume(b, "trim", 1, 60, start=10)
    assert [m.offset() for m in msgs][:1] == [40] and len(msgs) == 60
    # With auto.offset.reset=error the consumer reports the out-of-range offset.
    c = confluent_consumer(b, **{"auto.offset.reset": "error"})
    try:
        c.assign([TopicPartition("trim", 0, 10)])
        deadline, err = time.monotonic() + GENEROUS_S, None
        while err is None and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None:
                assert m.error() is not None, f"got a record at {m.offset()} from a deleted offset"
                err = m.error()
        assert err is not None and err.code() == KafkaError._AUTO_OFFSET_RESET, err
        assert "out of range" in err.str().lower() or "OFFSET_OUT_OF_RANGE" in err.str(), err.str()
    finally:
        c.close()

    # kafka-python with auto_offset_reset='none' raises OffsetOutOfRangeError.
    from kafka import KafkaConsumer
    from kafka.errors import OffsetOutOfRangeError
    from kafka.structs import TopicPartition as KTP

    kc = KafkaConsumer(bootstrap_servers=b, group_id=None, enable_auto_commit=False, auto_offset_reset="none")
    try:
        kc.assign([KTP("trim", 0)])
        kc.seek(KTP("trim", 0), 5)
        with pytest.raises(OffsetOutOfRangeError):
            deadline = time.monotonic() + GENEROUS_S
            while time.monotonic() < deadline:
                assert not kc.poll(timeout_ms=500), "records returned from a deleted offset"
    finally:
        kc.close()

    # Deleting beyond the high watermark: OFFSET_OUT_OF_RANGE; nothing moves.
    with pytest.raises(KafkaException) as info:
        admin(b).delete_records([TopicPartition("trim", 0, 500)])[tp].result(timeout=TIMEOUT_S)
    assert info.value.args[0].code() == KafkaError.OFFSET_OUT_OF_RANGE
    # -1 means "up to the high watermark".
    deleted = admin(b).delete_records([TopicPartition("trim", 0, -1)])[tp].result(timeout=TIMEOUT_S)
    assert deleted.low_watermark == 100
    c = confluent_consumer(b)
    try:
        assert c.get_watermark_offsets(tp, timeout=TIMEOUT_S) == (100, 100)
    finally:
        c.close()
