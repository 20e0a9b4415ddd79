"""The official Apache Kafka Java client (kafka-clients 3.9.1) against Fjord.

The client jars come from the pinned PyPI wheel shigawire-apache-flink-libraries (pyflink/lib: kafka-clients.jar
and its slf4j-api, lz4-java, snappy-java and zstd-jni), the JDK from Debian's openjdk-17-jdk-headless; both are
installed by `make deps`. Tests/Interop/java/FjordJavaScenarios.java is compiled once per session with javac. Each
test starts a broker and runs one scenario of that program, which prints one JSON object per line; the test
asserts on exact records, offsets, states and error classes, i.e. on what the Java client hands to an application:

- Admin: topics (create with configs, validate-only, errors, list, describe by name and by id, add partitions,
  delete by name and by id), configs (describe with synonyms, incremental SET/APPEND/SUBTRACT/DELETE, invalid
  values refused with InvalidConfigurationException, validate-only, the legacy full-replace AlterConfigs), list
  offsets (earliest, latest, max timestamp, by timestamp, earliest-local, latest-tiered, read_committed) and
  delete records, consumer groups (list, describe, committed offsets, alter and delete offsets, delete groups,
  with the errors Kafka gives while the group is active), log dirs, producers and transactions;
- the idempotent producer under every codec, read back exactly and stored with the producer's codec;
- two-member groups with the classic protocol and the CooperativeStickyAssignor, and with `group.protocol=consumer`
  (KIP-848): every record read exactly once, only moved partitions revoked;
- transactions: read_committed / read_uncommitted, sendOffsetsToTransaction from a classic and a KIP-848 group
  member, fencing by a second producer with the same transactional.id;
- a 900 KiB record (read back whole even with fetch limits of 64 KiB), and RecordTooLargeException from the
  topic's max.message.bytes and from the producer's max.request.size.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import fjord_bin, running_fjord

JAVA_SOURCE = Path(__file__).resolve().parent / "java" / "FjordJavaScenarios.java"
CLIENT_JARS = ("kafka-clients.jar", "slf4j-api.jar", "lz4-java.jar", "snappy-java.jar", "zstd-jni.jar")
SCENARIO_TIMEOUT_S = 90
CODECS = ("none", "gzip", "snappy", "lz4", "zstd")

OVERRIDES = {
    "group.initial.rebalance.delay.ms": "0",
    "group.min.session.timeout.ms": "1000",
    "group.consumer.heartbeat.interval.ms": "300",
    "group.consumer.session.timeout.ms": "4000",
    "offsets.topic.num.partitions": "3",
    "transaction.state.log.num.partitions": "3",
}


# ---------------------------------------------------------------------------------------------- fixtures


def client_jar_dir() -> Path:
    """pyflink/lib of the installed wheel (pyflink is a namespace package: no __file__, only __path__)."""
    spec = importlib.util.find_spec("pyflink")
    for location in (spec.submodule_search_locations or []) if spec else []:
        lib = Path(location) / "lib"
        if (lib / "kafka-clients.jar").is_file():
            return lib
    pytest.fail("pyflink/lib/kafka-clients.jar not found: install Tests/Interop/requirements.txt (`make deps`)",
                pytrace=False)


def jdk_tool(name: str) -> str:
    home = os.environ.get("JAVA_HOME")
    path = os.path.join(home, "bin", name) if home else shutil.which(name)
    if not path or not os.access(path, os.X_OK):
        pytest.fail(f"{name} not found (install openjdk-17-jdk-headless: `make deps`)", pytrace=False)
    return path


@pytest.fixture(scope="session")
def java_classpath(tmp_path_factory) -> str:
    """Compiles FjordJavaScenarios.java once per session; the classpath to run it with."""
    lib = client_jar_dir()
    jars = [str(lib / j) for j in CLIENT_JARS]
    for j in jars:
        if not os.path.isfile(j):
            pytest.fail(f"missing client jar {j}", pytrace=False)
    out = tmp_path_factory.mktemp("java-classes")
    proc = subprocess.run([jdk_tool("javac"), "-encoding", "UTF-8", "-d", str(out), "-cp", os.pathsep.join(jars),
                           str(JAVA_SOURCE)], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        pytest.fail(f"javac failed:\n{proc.stdout}\n{proc.stderr}", pytrace=False)
    return os.pathsep.join([str(out), *jars])


@pytest.fixture
def jbroker(request, tmp_path):
    with running_fjord(request, tmp_path, OVERRIDES) as b:
        yield b


class Run:
    """The JSON events one scenario printed."""

    def __init__(self, events: list[dict]):
        self.events = events

    def all(self, event: str, **match) -> list[dict]:
        return [e for e in self.events if e["event"] == event and all(e.get(k) == v for k, v in match.items())]

    def one(self, event: str, **match) -> dict:
        found = self.all(event, **match)
        assert len(found) == 1, f"expected one {event} {match}, got {found}"
        return found[0]

    def step(self, name: str) -> dict:
        return self.one("step", step=name)

    def ok(self, name: str) -> None:
        s = self.step(name)
        assert s["ok"], f"step {name} failed: {s}"

    def error(self, name: str) -> str:
        s = self.step(name)
        assert not s["ok"], f"step {name} succeeded, expected an error"
        return s["error"]

    def records(self, **match) -> list[dict]:
        return [e["record"] for e in self.all("record", **match)]

    def index(self, event: str, **match) -> int:
        for i, e in enumerate(self.events):
            if e["event"] == event and all(e.get(k) == v for k, v in match.items()):
                return i
        raise AssertionError(f"no {event} {match}")


def run_java(classpath: str, scenario: str, broker, *args) -> Run:
    argv = [jdk_tool("java"), "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", classpath,
            "FjordJavaScenarios", scenario, broker.bootstrap, *map(str, args)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=SCENARIO_TIMEOUT_S)
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not events or events[-1]["event"] != "done":
        pytest.fail(f"java scenario {scenario} exited {proc.returncode}\n--- stdout ---\n{proc.stdout[-20000:]}"
                    f"\n--- stderr ---\n{proc.stderr[-20000:]}", pytrace=False)
    return Run(events)


def pairs(records: list[dict]) -> list[tuple[int, int, str | None]]:
    return sorted((r["partition"], r["offset"], r["value"]) for r in records)


# ---------------------------------------------------------------------------------------------- admin


def test_admin_topics(jbroker, java_classpath):
    run = run_java(java_classpath, "admin-topics", jbroker)
    cluster = run.one("cluster")
    meta = dict(line.split("=", 1) for line in (jbroker.data_dir / "meta.properties").read_text().splitlines()
                if "=" in line and not line.startswith("#"))
    assert cluster["cluster_id"] == meta["cluster.id"]
    assert cluster["controller"] == 1
    assert cluster["nodes"] == [{"id": 1, "host": "127.0.0.1", "port": jbroker.port}]

    a, b = run.one("created", topic="jt-a"), run.one("created", topic="jt-b")
    assert (a["partitions"], a["replication_factor"], a["retention_ms"], a["retention_ms_source"]) == \
        (3, 1, "3600000", "DYNAMIC_TOPIC_CONFIG")
    assert (b["partitions"], b["replication_factor"], b["retention_ms"], b["retention_ms_source"]) == \
        (1, 1, "604800000", "DEFAULT_CONFIG")
    assert run.error("create_existing") == "TopicExistsException"
    assert run.error("create_invalid_name") == "InvalidTopicException"
    assert run.error("create_replication_factor_3") == "InvalidReplicationFactorException"
    assert run.error("create_invalid_config") == "InvalidConfigurationException"
    run.ok("create_validate_only")
    assert run.one("list")["names"] == ["jt-a", "jt-b"]  # validate-only created nothing
    listed = run.one("list_internal")["topics"]
    assert {k: v for k, v in listed.items() if not v} == {"jt-a": False, "jt-b": False}
    assert all(name.startswith("__") for name, internal in listed.items() if internal)

    def partitions(n):
        return [{"partition": p, "leader": 1, "replicas": [1], "isr": [1]} for p in range(n)]

    described = {e["topic"]["name"]: e["topic"] for e in run.all("described")}
    assert described["jt-a"] == {"name": "jt-a", "topic_id": a["topic_id"], "internal": False,
                                 "partitions": partitions(3)}
    assert described["jt-b"] == {"name": "jt-b", "topic_id": b["topic_id"], "internal": False,
                                 "partitions": partitions(1)}
    assert run.one("described_by_id")["topic"] == described["jt-a"]
    assert run.error("describe_unknown") == "UnknownTopicOrPartitionException"

    run.ok("create_partitions_5")
    assert run.error("create_partitions_same") == "InvalidPartitionsException"
    assert run.error("create_partitions_fewer") == "InvalidPartitionsException"
    assert run.error("create_partitions_unknown") == "UnknownTopicOrPartitionException"
    assert run.one("described_after_create_partitions")["topic"]["partitions"] == partitions(5)

    run.ok("delete_b")
    assert run.error("delete_unknown") == "UnknownTopicOrPartitionException"
    assert run.one("list_after_delete")["names"] == ["jt-a"]
    run.ok("delete_a_by_id")
    assert run.error("delete_unknown_id") == "UnknownTopicIdException"
    assert run.one("list_after_delete_by_id")["names"] == []


def test_admin_configs(jbroker, java_classpath):
    run = run_java(java_classpath, "admin-configs", jbroker, "jc")

    def configs(label):
        return {k: (v["value"], v["source"]) for k, v in run.one("configs", label=label)["entries"].items()}

    created = run.one("configs", label="created")["entries"]
    assert created["retention.ms"]["value"] == "86400000"
    assert created["retention.ms"]["source"] == "DYNAMIC_TOPIC_CONFIG" and not created["retention.ms"]["default"]
    assert created["retention.ms"]["synonyms"][0] == "retention.ms=86400000@DYNAMIC_TOPIC_CONFIG"
    assert (created["max.message.bytes"]["value"], created["max.message.bytes"]["source"],
            created["max.message.bytes"]["default"]) == ("1048588", "DEFAULT_CONFIG", True)
    assert configs("created")["cleanup.policy"] == ("delete", "DEFAULT_CONFIG")
    broker = configs("broker")
    assert broker["message.max.bytes"] == ("1048588", "DEFAULT_CONFIG")
    assert broker["num.partitions"] == ("1", "DEFAULT_CONFIG")

    run.ok("alter")
    altered = configs("altered")
    assert altered["retention.ms"] == ("7200000", "DYNAMIC_TOPIC_CONFIG")
    assert altered["max.message.bytes"] == ("2000000", "DYNAMIC_TOPIC_CONFIG")
    assert altered["cleanup.policy"] == ("delete,compact", "DYNAMIC_TOPIC_CONFIG")  # APPEND to a list config

    # Kafka answers INVALID_CONFIG for a value that does not parse, a value outside the allowed set and an
    # unknown key; a validate-only request changes nothing.
    assert run.error("invalid_value") == "InvalidConfigurationException"
    assert run.error("invalid_enum") == "InvalidConfigurationException"
    assert run.error("unknown_key") == "InvalidConfigurationException"
    run.ok("validate_only")
    assert run.error("unknown_topic") == "UnknownTopicOrPartitionException"
    assert configs("after_refused") == altered

    run.ok("delete_and_subtract")
    reverted = configs("reverted")
    assert reverted["retention.ms"] == ("604800000", "DEFAULT_CONFIG")
    assert reverted["cleanup.policy"] == ("delete", "DYNAMIC_TOPIC_CONFIG")
    assert reverted["max.message.bytes"] == ("2000000", "DYNAMIC_TOPIC_CONFIG")

    run.ok("legacy_alter_configs")
    legacy = configs("legacy_altered")
    assert legacy["retention.ms"] == ("3600000", "DYNAMIC_TOPIC_CONFIG")
    assert legacy["max.message.bytes"] == ("1048588", "DEFAULT_CONFIG")  # not in the new set: removed
    assert legacy["cleanup.policy"] == ("delete", "DEFAULT_CONFIG")
    assert run.error("describe_unknown_topic") == "UnknownTopicOrPartitionException"


def test_list_offsets_and_delete_records(jbroker, java_classpath):
    run = run_java(java_classpath, "offsets", jbroker, "jo")
    base = run.one("base")["timestamp"]

    def ts(i):
        return base + (20_000 if i == 6 else i * 1000)

    assert [(e["meta"]["offset"], e["meta"]["timestamp"]) for e in run.all("sent")] == [(i, ts(i)) for i in range(10)]

    def lo(spec):
        e = run.one("list_offsets", spec=spec)
        return e["offset"], e["timestamp"]

    assert lo("earliest") == (0, -1)
    assert lo("latest") == (10, -1)
    assert lo("latest_committed") == (10, -1)
    assert lo("max_timestamp") == (6, ts(6))
    assert lo("ts_3500") == (4, ts(4))  # the first record at or after the time
    assert lo("ts_10000") == (6, ts(6))
    assert lo("ts_0") == (0, ts(0))
    assert lo("ts_after") == (-1, -1)
    assert lo("earliest_local") == (0, -1)
    assert lo("latest_tiered") == (-1, -1)  # no tiered storage

    run.ok("delete_records_4")
    assert run.one("low_watermark", label="delete_4")["offset"] == 4
    assert run.error("delete_records_beyond_end") == "OffsetOutOfRangeException"
    assert lo("earliest_after_delete") == (4, -1)
    assert lo("ts_0_after_delete") == (4, ts(4))
    assert lo("max_timestamp_after_delete") == (6, ts(6))
    assert lo("earliest_local_after_delete") == (4, -1)
    records = run.records()
    assert [(r["offset"], r["key"], r["value"], r["timestamp"], r["timestamp_type"]) for r in records] == \
        [(i, f"k{i}", f"v{i}", ts(i), "CreateTime") for i in range(4, 10)]
    assert run.one("consumer_offsets") == {"event": "consumer_offsets", "beginning": 4, "end": 10}
    assert (run.one("offsets_for_times")["offset"], run.one("offsets_for_times")["timestamp"]) == (4, ts(4))

    run.ok("delete_records_to_high_watermark")  # offset -1: everything below the high watermark
    assert run.one("low_watermark", label="delete_to_high_watermark")["offset"] == 10
    assert lo("earliest_after_delete_all") == (10, -1)
    assert lo("latest_after_delete_all") == (10, -1)


def test_consumer_group_admin(jbroker, java_classpath):
    topic, group = "jg", "jg-group"
    run = run_java(java_classpath, "admin-groups", jbroker, topic, group)
    member = run.records(reader="member")
    assert pairs(member) == sorted((i % 2, i // 2, f"v{i}") for i in range(6))

    def described(label):
        return run.one("group_described", label=label)["description"]

    def offsets(label):
        return run.one("group_offsets", label=label)["offsets"]

    def listed(label):
        return [g for g in run.one("groups_listed", label=label)["groups"] if g["group"] == group]

    assert listed("active") == [{"group": group, "state": "Stable", "type": "Classic", "simple": False}]
    active = described("active")
    assert (active["state"], active["type"], active["assignor"], active["coordinator"]) == \
        ("Stable", "Classic", "range", 1)
    assert [(m["client_id"], m["assignment"]) for m in active["members"]] == \
        [("java-group-member", [f"{topic}-0", f"{topic}-1"])]
    assert offsets("active") == {f"{topic}-0": {"offset": 3, "metadata": "m0"},
                                 f"{topic}-1": {"offset": 3, "metadata": "m1"}}
    # While the group has members: an admin commit is UNKNOWN_MEMBER_ID, deleting the group GROUP_NOT_EMPTY,
    # deleting offsets of a subscribed topic GROUP_SUBSCRIBED_TO_TOPIC.
    assert run.error("alter_offsets_while_active") == "UnknownMemberIdException"
    assert run.error("delete_group_while_active") == "GroupNotEmptyException"
    assert run.error("delete_offsets_while_subscribed") == "GroupSubscribedToTopicException"

    assert listed("empty") == [{"group": group, "state": "Empty", "type": "Classic", "simple": False}]
    empty = described("empty")
    assert (empty["state"], empty["assignor"], empty["members"]) == ("Empty", "", [])
    assert offsets("empty") == offsets("active")
    internal = run.one("list_internal")["topics"]
    assert internal["__consumer_offsets"] is True and internal[topic] is False

    run.ok("alter_offsets")
    assert run.error("alter_offsets_unknown_partition") == "UnknownTopicOrPartitionException"
    assert offsets("altered") == {f"{topic}-0": {"offset": 1, "metadata": "reset"},
                                  f"{topic}-1": {"offset": 2, "metadata": ""}}
    # A new member starts from the altered offsets.
    assert pairs(run.records(reader="after_alter")) == [(0, 1, "v2"), (0, 2, "v4"), (1, 2, "v5")]

    run.ok("delete_offsets_p1")
    assert offsets("offset_deleted") == {f"{topic}-0": {"offset": 1, "metadata": "reset"}}
    run.ok("delete_group")
    assert group not in run.one("groups_after_delete")["groups"]
    assert run.one("offsets_after_delete")["offsets"] == []
    assert run.error("delete_group_again") == "GroupIdNotFoundException"
    run.ok("describe_deleted_group")
    assert run.one("deleted_group_state")["state"] == "Dead"


def test_describe_log_dirs(jbroker, java_classpath):
    topic = "jl"
    run = run_java(java_classpath, "log-dirs", jbroker, topic)
    (d,) = run.all("log_dir")
    assert d["broker"] == 1 and d["error"] is None
    assert os.path.realpath(d["path"]) == os.path.realpath(jbroker.data_dir)
    assert d["total_bytes"] == shutil.disk_usage(jbroker.data_dir).total
    assert 0 < d["usable_bytes"] <= d["total_bytes"]
    log_bytes = sum(f.stat().st_size for f in (jbroker.data_dir / f"{topic}-0").glob("*.log"))
    assert log_bytes > 0
    assert d["replicas"][f"{topic}-0"] == {"size": log_bytes, "offset_lag": 0, "future": False}
    assert d["replicas"][f"{topic}-1"] == {"size": 0, "offset_lag": 0, "future": False}
    replica = run.one("replica_log_dir")
    assert (os.path.realpath(replica["dir"]), replica["lag"], replica["future_dir"]) == \
        (os.path.realpath(jbroker.data_dir), 0, None)


def test_transaction_and_producer_admin(jbroker, java_classpath):
    topic, txn_id = "jx", "jx-txn"
    run = run_java(java_classpath, "txn-admin", jbroker, topic, txn_id)
    assert [(e["meta"]["partition"], e["meta"]["offset"]) for e in run.all("sent", by="idempotent")] == \
        [(1, 0), (1, 1), (1, 2)]
    assert [(e["meta"]["partition"], e["meta"]["offset"]) for e in run.all("sent", by="transactional")] == \
        [(0, 0), (0, 1), (1, 3)]
    window = run.one("window")

    ongoing = run.one("transaction_described", label="ongoing")
    pid = ongoing["producer_id"]
    assert (ongoing["coordinator"], ongoing["state"], ongoing["epoch"], ongoing["timeout_ms"], ongoing["partitions"]) \
        == (1, "Ongoing", 0, 45000, [f"{topic}-0", f"{topic}-1"])
    assert window["before_ms"] <= ongoing["start_time_ms"] <= window["after_ms"]
    assert {"id": txn_id, "producer_id": pid, "state": "Ongoing"} in \
        run.one("transactions_listed", label="ongoing")["transactions"]
    assert run.one("transactions_filtered", label="ongoing_filter")["ids"] == [txn_id]

    producers = run.one("producers", label="ongoing")["partitions"]
    (p0,) = producers[f"{topic}-0"]
    assert (p0["producer_id"], p0["epoch"], p0["last_sequence"], p0["txn_start_offset"], p0["coordinator_epoch"]) == \
        (pid, 0, 1, 0, None)
    idem, txn = sorted(producers[f"{topic}-1"], key=lambda p: p["producer_id"] == pid)
    assert idem["producer_id"] != pid
    assert (idem["last_sequence"], idem["txn_start_offset"], idem["coordinator_epoch"]) == (2, None, None)
    assert (txn["producer_id"], txn["last_sequence"], txn["txn_start_offset"]) == (pid, 0, 3)

    def lo(spec):
        return run.one("list_offsets", spec=spec)["offset"]

    # An open transaction holds read_committed at its first offset (the last stable offset).
    assert (lo(f"{topic}-0_latest_uncommitted"), lo(f"{topic}-0_latest_committed")) == (2, 0)
    assert (lo(f"{topic}-1_latest_uncommitted"), lo(f"{topic}-1_latest_committed")) == (4, 3)

    committed = run.one("transaction_described", label="committed")
    assert (committed["state"], committed["producer_id"], committed["partitions"], committed["start_time_ms"]) == \
        ("CompleteCommit", pid, [], None)
    assert {"id": txn_id, "producer_id": pid, "state": "CompleteCommit"} in \
        run.one("transactions_listed", label="committed")["transactions"]
    assert run.one("transactions_filtered", label="ongoing_filter_after_commit")["ids"] == []
    after = run.one("producers", label="committed")["partitions"]
    for part in (f"{topic}-0", f"{topic}-1"):
        for p in after[part]:
            assert p["txn_start_offset"] is None
            if p["producer_id"] == pid:
                assert p["coordinator_epoch"] is not None and p["coordinator_epoch"] >= 0  # from the COMMIT marker
    assert [p["last_sequence"] for p in after[f"{topic}-0"]] == [1]
    # Each partition's commit marker takes one offset.
    assert lo(f"{topic}-0_latest_committed_after_commit") == 3
    assert lo(f"{topic}-1_latest_committed_after_commit") == 5
    assert run.error("describe_unknown_transaction") == "TransactionalIdNotFoundException"


# ---------------------------------------------------------------------------------------------- producer


def codec_value(codec: str, i: int) -> str:
    return f"{codec}-value-{i}-" + "fjord" * (i % 40)


@pytest.mark.parametrize("codec", CODECS)
def test_idempotent_producer_every_codec(jbroker, java_classpath, codec):
    topic, count = f"jp-{codec}", 300
    run = run_java(java_classpath, "produce-codec", jbroker, topic, codec, count)
    sent = {e["seq"]: e["meta"] for e in run.all("sent")}
    assert sorted(sent) == list(range(count))
    for i, m in sent.items():
        assert (m["partition"], m["offset"]) == (i % 3, i // 3)

    records = run.records()
    assert len(records) == count
    by_position = {(r["partition"], r["offset"]): r for r in records}
    assert len(by_position) == count
    for i in range(count):
        r = by_position[(i % 3, i // 3)]
        assert r["key"] == (None if i % 10 == 9 else f"key-{i % 7}")
        assert r["value"] == codec_value(codec, i)
        assert r["headers"] == [["seq", str(i)], ["codec", codec]]
        assert (r["timestamp"], r["timestamp_type"]) == (sent[i]["timestamp"], "CreateTime")
    for p in range(3):
        offsets = [r["offset"] for r in records if r["partition"] == p]
        assert offsets == list(range(count // 3))  # in order, no gaps, no duplicates
    metrics = run.one("producer_metrics")
    if codec != "none":
        assert metrics["compression_rate_avg"] < 0.9
    # Kafka handles a connection's requests one at a time, so pipelined batches (5 in flight) are appended in
    # order: no batch is refused (OUT_OF_ORDER_SEQUENCE_NUMBER would make the client retry and bump its epoch).
    assert (metrics["record_retry_total"], metrics["record_error_total"]) == (0, 0)

    # One idempotent producer per partition, its last sequence that of the partition's last record.
    producers = run.one("producers")["partitions"]
    pids = set()
    for p in range(3):
        (state,) = producers[f"{topic}-{p}"]
        assert (state["epoch"], state["last_sequence"], state["txn_start_offset"]) == (0, count // 3 - 1, None)
        pids.add(state["producer_id"])
    (pid,) = pids

    # The log keeps the producer's batches as they came: its codec, its producer id, contiguous sequences.
    for p in range(3):
        segment = jbroker.data_dir / f"{topic}-{p}" / "00000000000000000000.log"
        dump = subprocess.run([fjord_bin(), "log", "dump", "--format", "json", str(segment)],
                              capture_output=True, text=True, timeout=30)
        assert dump.returncode == 0, dump.stdout + dump.stderr
        doc = json.loads(dump.stdout)
        assert doc["problems"] == []
        batches = doc["entries"]
        assert {b["compression"] for b in batches} == {codec}
        assert {b["producerId"] for b in batches} == {pid}
        next_offset = 0
        for b in batches:
            assert (b["baseOffset"], b["baseSequence"]) == (next_offset, next_offset)
            next_offset = b["lastOffset"] + 1
        assert next_offset == count // 3


# ---------------------------------------------------------------------------------------------- groups


def check_two_member_group(run: Run, topic: str, group: str, count: int, group_type: str, assignor: str) -> None:
    all_parts = [f"{topic}-{p}" for p in range(4)]
    # Every record exactly once, with its key and value.
    records = run.all("record")
    got = sorted((e["record"]["partition"], e["record"]["offset"], e["record"]["key"], e["record"]["value"])
                 for e in records)
    assert got == sorted((i % 4, i // 4, f"k{i}", f"v{i}") for i in range(count))

    split = run.one("phase", name="split")
    assert sorted(split["a"] + split["b"]) == all_parts and len(split["a"]) == len(split["b"]) == 2
    owner = {}
    for name in ("a", "b"):
        for tp in split[name]:
            owner[int(tp.rsplit("-", 1)[1])] = name
    for e in records:
        i = int(e["record"]["value"][1:])
        expected = "a" if i < count // 2 else owner[e["record"]["partition"]]
        assert e["member"] == expected, e

    # Member a got everything first; when b joined only the partitions b took were revoked from a.
    first_a = run.all("rebalance", member="a")[0]
    assert (first_a["kind"], first_a["partitions"]) == ("assigned", all_parts)
    done = run.index("phase", name="all_consumed")
    before_close = [e for e in run.events[:done] if e["event"] == "rebalance"]
    revoked_a = sorted(p for e in before_close if e["member"] == "a" and e["kind"] == "revoked" for p in e["partitions"])
    assigned_b = sorted(p for e in before_close if e["member"] == "b" and e["kind"] == "assigned" for p in e["partitions"])
    assert revoked_a == assigned_b == sorted(split["b"])
    assert not [e for e in before_close if e["kind"] in ("lost",) or (e["member"] == "b" and e["kind"] == "revoked")]

    desc = run.one("group_described", label="two_members")["description"]
    assert (desc["state"], desc["type"], desc["assignor"], desc["coordinator"]) == ("Stable", group_type, assignor, 1)
    members = {m["client_id"]: m for m in desc["members"]}
    assert {k: m["assignment"] for k, m in members.items()} == {"java-a": split["a"], "java-b": split["b"]}
    if group_type == "Consumer":
        assert all(m["target_assignment"] == m["assignment"] for m in members.values())
    committed = {tp: {"offset": count // 4, "metadata": ""} for tp in all_parts}
    assert run.one("group_offsets", label="two_members")["offsets"] == committed
    listed = [g for g in run.one("groups_listed", label="two_members")["groups"] if g["group"] == group]
    assert listed == [{"group": group, "state": "Stable", "type": group_type, "simple": False}]

    closed = run.one("group_described", label="closed")["description"]
    assert (closed["state"], closed["type"], closed["members"]) == ("Empty", group_type, [])
    assert run.one("group_offsets", label="closed")["offsets"] == committed


def test_classic_group_cooperative_sticky(jbroker, java_classpath):
    run = run_java(java_classpath, "group-consume", jbroker, "jcs", "jcs-group", 200, "classic")
    check_two_member_group(run, "jcs", "jcs-group", 200, "Classic", "cooperative-sticky")


def test_consumer_protocol_group(jbroker, java_classpath):
    run = run_java(java_classpath, "group-consume", jbroker, "jkip848", "jkip848-group", 200, "consumer")
    check_two_member_group(run, "jkip848", "jkip848-group", 200, "Consumer", "uniform")


# ---------------------------------------------------------------------------------------------- transactions


def test_transactions_read_committed_and_send_offsets(jbroker, java_classpath):
    topic, tin, tout, group = "jt", "jt-in", "jt-out", "jt-ctp"
    run = run_java(java_classpath, "transactions", jbroker, topic, tin, tout, group)
    # Each transaction writes one record per partition, then its marker: a@0, b@2 (aborted), c@4.
    for txn, offset in (("a", 0), ("b", 2), ("c", 4)):
        assert sorted((e["meta"]["partition"], e["meta"]["offset"]) for e in run.all("sent", txn=txn)) == \
            [(0, offset), (1, offset)]
    assert pairs(run.records(reader="read_committed")) == \
        [(0, 0, "a0"), (0, 4, "c0"), (1, 0, "a1"), (1, 4, "c1")]
    assert pairs(run.records(reader="read_uncommitted")) == \
        [(0, 0, "a0"), (0, 2, "b0"), (0, 4, "c0"), (1, 0, "a1"), (1, 2, "b1"), (1, 4, "c1")]
    for reader in ("read_committed", "read_uncommitted"):
        pos = run.one("positions", reader=reader)
        assert pos["positions"] == pos["end_offsets"] == {f"{topic}-0": 6, f"{topic}-1": 6}

    for protocol, out in (("classic", tout), ("consumer", tout + "-848")):
        inp = run.one("ctp_input", protocol=protocol)
        assert inp["values"] == ["in-0", "in-1", "in-2", "in-3"]
        assert inp["generation"] >= 1 and inp["member_id"]
        assert run.one("ctp_committed", protocol=protocol, label="after_abort")["offset"] is None
        commit = run.one("ctp_committed", protocol=protocol, label="after_commit")
        assert (commit["offset"], commit["metadata"]) == (4, "ctp")
        assert run.one("ctp_committed", protocol=protocol, label="consumer_view")["offset"] == 4
        # The aborted transaction's two records (0, 1) and its marker (2) stay invisible.
        assert pairs(run.records(reader=f"out_read_committed_{protocol}")) == \
            [(0, 3 + i, f"IN-{i}") for i in range(4)]
        assert run.one("positions", reader=f"out_read_committed_{protocol}")["positions"] == {f"{out}-0": 8}


def test_producer_fencing(jbroker, java_classpath):
    run = run_java(java_classpath, "fencing", jbroker, "jf", "jf-txn")
    assert run.one("sent", by="first")["meta"]["offset"] == 0
    assert run.error("first_commit") == "ProducerFencedException"
    assert run.error("first_send_after_fence") == "ProducerFencedException"
    # The fenced producer's open transaction was aborted (marker at 1) before the second one's record (2).
    assert run.one("sent", by="second")["meta"]["offset"] == 2
    assert pairs(run.records(reader="read_committed")) == [(0, 2, "second-0")]
    assert pairs(run.records(reader="read_uncommitted")) == [(0, 0, "first-0"), (0, 2, "second-0")]
    assert run.one("positions", reader="read_committed")["positions"] == {"jf-0": 4}


# ---------------------------------------------------------------------------------------------- large records


def test_large_records(jbroker, java_classpath):
    run = run_java(java_classpath, "large-record", jbroker, "jbig", "jsmall")
    big = run.one("payload")
    assert big["len"] == 900 * 1024
    run.ok("send_900k")
    run.ok("send_small_after")
    # The broker refuses a batch above the topic's max.message.bytes (MESSAGE_TOO_LARGE), the producer one
    # above its max.request.size before sending it.
    assert run.error("send_900k_to_small_topic") == "RecordTooLargeException"
    assert run.error("send_1200k_over_topic_default") == "RecordTooLargeException"
    run.ok("send_small_to_small_topic")
    over = run.step("send_1200k_over_producer_limit")
    assert (over["ok"], over["error"]) == (False, "RecordTooLargeException")
    assert "max.request.size" in over["message"]

    for reader in ("large", "large_small_fetch"):
        first, second = run.records(reader=reader)
        assert (first["offset"], first["key"], first["value_len"], first["value_sha256"]) == \
            (0, "big", 900 * 1024, big["sha256"])
        assert (second["offset"], second["key"], second["value"]) == (1, "small", "after")
        assert run.one("positions", reader=reader)["end_offsets"] == {"jbig-0": 2}
    assert pairs(run.records(reader="small_topic")) == [(0, 0, "fits")]
    assert run.one("positions", reader="small_topic")["end_offsets"] == {"jsmall-0": 1}


# ---------------------------------------------------------------------------------------------- SASL


def test_sasl_plain_and_scram(request, tmp_path, java_classpath):
    """The Java client's own SASL code (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) against a SASL_PLAINTEXT listener:
    credentials created and described with its Admin, one record written per mechanism and read back, a wrong
    password refused with SaslAuthenticationException, and a deleted credential's user still described with the
    other mechanism."""
    overrides = {
        **OVERRIDES,
        "listeners": "SASL_PLAINTEXT://127.0.0.1:{port}",
        "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config":
            'org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-secret";',
    }
    with running_fjord(request, tmp_path, overrides) as b:
        run = run_java(java_classpath, "sasl", b, "jsasl", "erin")
        assert run.one("scram")["credentials"] == [{"mechanism": "SCRAM-SHA-256", "iterations": 4096},
                                                   {"mechanism": "SCRAM-SHA-512", "iterations": 8192}]
        assert [(e["mechanism"], e["offset"]) for e in run.all("sent")] == \
            [("PLAIN", 0), ("SCRAM-SHA-256", 1), ("SCRAM-SHA-512", 2)]
        assert [(e["offset"], e["value"]) for e in run.all("record")] == \
            [(0, "PLAIN"), (1, "SCRAM-SHA-256"), (2, "SCRAM-SHA-512")]
        wrong = run.step("wrong_password")
        assert (wrong["ok"], wrong["error"]) == (False, "SaslAuthenticationException")
        assert "invalid credentials with SASL mechanism SCRAM-SHA-256" in wrong["message"]
        run.ok("describe_after_delete")


def test_ssl(request, tmp_path, java_classpath):
    """The Java client over an SSL listener, trusting a PEM certificate authority (made by openssl at test time)."""
    from tls_certs import Authority
    ca = Authority(tmp_path / "certs", "java-ca")
    broker = ca.issue("broker", "/CN=broker", hosts=["127.0.0.1", "localhost"]).pem()
    overrides = {**OVERRIDES, "listeners": "SSL://127.0.0.1:{port}", "ssl.keystore.type": "PEM",
                 "ssl.keystore.location": str(broker)}
    with running_fjord(request, tmp_path, overrides) as b:
        run = run_java(java_classpath, "tls", b, "jtls", str(ca.cert))
        assert [(e["offset"], e["value"]) for e in run.all("record")] == [(i, f"tls-{i}") for i in range(20)]
