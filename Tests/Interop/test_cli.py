"""The `fjord` operator command line against a real broker: every subcommand in text and JSON, the error paths
an operator meets (unknown topic, bad config value, usage errors, resetting an active group), and the results
checked with an independent client (confluent-kafka).

Flow of the suite:
1. topics: create, list, describe (offsets and sizes), alter, add partitions, delete; unknown topic and usage errors;
2. configs and the cluster: set, describe, delete, a refused bad value that changes nothing, broker configs;
3. produce -> consume round trip with keys and headers, --from offset/time, templates, -v offsets;
4. a group that consumed part of a topic: describe shows the lag left, reset-offsets plans and applies;
5. an active group: reset refused, Ctrl-C commits exactly what was printed;
6. delete-offsets and group delete;
7. perf produce/consume/e2e small runs with JSON summaries; help examples and shell completion.

Every broker runs with group.initial.rebalance.delay.ms=0 so group tests take seconds. The CLI is the
broker binary ($FJORD_BIN)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import fjord_bin, running_fjord
from waiting import wait_until

OVERRIDES = {
    "group.initial.rebalance.delay.ms": "0",
    "group.min.session.timeout.ms": "1000",
    "offsets.topic.num.partitions": "3",
}
TIMEOUT_S = 60


@pytest.fixture
def cbroker(request, tmp_path):
    with running_fjord(request, tmp_path, OVERRIDES) as b:
        yield b


def fj(broker, *args: str, input: str | None = None, expect: int | None = 0) -> subprocess.CompletedProcess:
    """Runs `fjord ARGS` against `broker` (through FJORD_BOOTSTRAP) and checks the exit status."""
    env = {**os.environ, "FJORD_BOOTSTRAP": broker.bootstrap}
    done = subprocess.run([fjord_bin(), *args], input=input, capture_output=True, text=True, env=env,
                          timeout=TIMEOUT_S)
    if expect is not None:
        assert done.returncode == expect, (args, done.returncode, done.stdout, done.stderr)
    return done


def fj_json(broker, *args: str, input: str | None = None):
    return json.loads(fj(broker, *args, "--format", "json", input=input).stdout)


def committed(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        got = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=TIMEOUT_S)
        return {tp.partition: tp.offset for tp in got}
    finally:
        c.close()


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# MARK: topics

def test_topic_create_list_describe_alter_add_partitions_delete(cbroker):
    # Flow: 1. create, 2. list in text and JSON, 3. describe with offsets and sizes after a produce,
    # 4. alter configs, 5. grow partitions, 6. delete, 7. the error paths.
    topic = name("orders")
    out = fj(cbroker, "topic", "create", topic, "--partitions", "3", "--config", "retention.ms=86400000").stdout
    assert f"created topic '{topic}'" in out

    assert topic in fj(cbroker, "topic", "list").stdout.split()
    listed = fj_json(cbroker, "topic", "list")["topics"]
    assert {"name": topic, "partitions": 3, "replication_factor": 1, "internal": False} in listed

    fj(cbroker, "produce", topic, "--partition", "1", input="a\nb\nc\n")
    described = fj_json(cbroker, "topic", "describe", topic)["topics"][0]
    assert described["name"] == topic and described["configs"] == {"retention.ms": "86400000"}
    parts = {p["partition"]: p for p in described["partitions"]}
    assert sorted(parts) == [0, 1, 2]
    assert parts[1]["leader"] == 1 and parts[1]["replicas"] == [1] and parts[1]["isr"] == [1]
    assert (parts[1]["log_start_offset"], parts[1]["log_end_offset"]) == (0, 3)
    assert parts[1]["size_bytes"] > 0 and parts[0]["size_bytes"] == 0 and parts[0]["log_end_offset"] == 0
    text = fj(cbroker, "topic", "describe", topic).stdout
    assert "LOG-END" in text and "retention.ms=86400000" in text

    fj(cbroker, "topic", "alter", topic, "--config", "cleanup.policy=compact", "--delete-config", "retention.ms")
    assert fj_json(cbroker, "topic", "describe", topic)["topics"][0]["configs"] == {"cleanup.policy": "compact"}

    fj(cbroker, "topic", "add-partitions", topic, "--partitions", "5")
    assert len(fj_json(cbroker, "topic", "describe", topic)["topics"][0]["partitions"]) == 5

    again = fj(cbroker, "topic", "create", topic, expect=1)
    assert "already exists" in again.stderr
    assert fj(cbroker, "topic", "create", topic, "--if-not-exists").returncode == 0

    fj(cbroker, "topic", "delete", topic)
    assert topic not in [t["name"] for t in fj_json(cbroker, "topic", "list")["topics"]]

    missing = fj(cbroker, "topic", "describe", topic, expect=1)
    assert f"topic '{topic}' does not exist" in missing.stderr and "fjord topic list" in missing.stderr
    assert "does not exist" in fj(cbroker, "topic", "delete", topic, expect=1).stderr
    assert fj(cbroker, "topic", "delete", topic, "--if-exists").returncode == 0
    assert fj(cbroker, "topic", "create", expect=2).stderr  # missing argument
    assert fj(cbroker, "topic", "create", "x", "--partitions", "0", expect=2).stderr
    assert fj(cbroker, "topic", "list", "--format", "yaml", expect=2).stderr
    assert "host:port" in fj(cbroker, "topic", "list", "--bootstrap", "nonsense", expect=2).stderr


def test_unreachable_broker_is_a_failure_with_a_hint(tmp_path):
    from conftest import free_port
    env = {**os.environ, "FJORD_BOOTSTRAP": f"127.0.0.1:{free_port()}"}
    done = subprocess.run([fjord_bin(), "topic", "list", "--request-timeout", "3"], capture_output=True, text=True,
                          env=env, timeout=TIMEOUT_S)
    assert done.returncode == 1
    assert "cannot reach a broker" in done.stderr and "FJORD_BOOTSTRAP" in done.stderr


# MARK: configs and cluster

def test_config_set_describe_delete_and_bad_value(cbroker):
    # Flow: 1. set, 2. describe text/JSON, 3. a bad value fails and changes nothing, 4. delete, 5. broker configs,
    # 6. cluster describe.
    topic = name("cfg")
    fj(cbroker, "topic", "create", topic, "-p", "1")
    fj(cbroker, "config", "set", "--topic", topic, "retention.ms=3600000", "max.message.bytes=2000000")
    entries = {e["name"]: e for e in fj_json(cbroker, "config", "describe", "--topic", topic)["configs"]}
    assert entries["retention.ms"]["value"] == "3600000"
    assert entries["retention.ms"]["source"] == "DYNAMIC_TOPIC_CONFIG" and not entries["retention.ms"]["default"]
    assert "retention.ms" in fj(cbroker, "config", "describe", "--topic", topic).stdout

    bad = fj(cbroker, "config", "set", "--topic", topic, "retention.ms=soon", expect=1)
    assert "retention.ms" in bad.stderr and "nothing was changed" in bad.stderr
    entries = {e["name"]: e for e in fj_json(cbroker, "config", "describe", "--topic", topic)["configs"]}
    assert entries["retention.ms"]["value"] == "3600000"

    fj(cbroker, "config", "delete", "--topic", topic, "retention.ms")
    entries = {e["name"]: e for e in fj_json(cbroker, "config", "describe", "--topic", topic)["configs"]}
    assert entries["retention.ms"]["source"] != "DYNAMIC_TOPIC_CONFIG"

    broker_cfg = fj_json(cbroker, "config", "describe", "--broker", "1")
    assert broker_cfg["resource"] == {"type": "broker", "name": "1"} and len(broker_cfg["configs"]) > 5
    assert "does not exist" in fj(cbroker, "config", "describe", "--topic", name("nope"), expect=1).stderr
    fj(cbroker, "config", "describe", "--topic", topic, "--broker", "1", expect=2)
    fj(cbroker, "config", "set", "--topic", topic, "novalue", expect=2)

    cluster = fj_json(cbroker, "cluster", "describe")
    assert cluster["controller"] == 1 and cluster["cluster_id"]
    assert cluster["brokers"] == [{"id": 1, "host": "127.0.0.1", "port": cbroker.port, "controller": True}]
    assert cluster["topics"] >= 1
    assert "Cluster ID" in fj(cbroker, "cluster", "describe").stdout


# MARK: produce and consume

def test_produce_consume_round_trip_with_keys_and_headers(cbroker, tmp_path):
    # Flow: 1. produce keyed lines with headers (-v prints offsets), 2. consume as JSON and via a template,
    # 3. confluent-kafka sees the same keys and headers, 4. --from offset and time, --partition, --file,
    # 5. error paths: unknown topic, missing separator, bad --from.
    topic = name("rt")
    fj(cbroker, "topic", "create", topic, "-p", "2")
    lines = "".join(f"k{i}:value {i}\n" for i in range(6))
    out = fj(cbroker, "produce", topic, "--key-separator", ":", "--header", "source=cli", "--header", "n=1", "-v",
             input=lines).stdout.splitlines()
    assert len(out) == 6 and all(line.startswith(f"produced to {topic}-") for line in out)

    records = [json.loads(line) for line in
               fj(cbroker, "consume", topic, "--count", "6", "--format", "json").stdout.splitlines()]
    assert sorted(r["key"] for r in records) == [f"k{i}" for i in range(6)]
    assert all(r["value"] == f"value {r['key'][1:]}" for r in records)
    assert all(r["headers"] == [{"key": "source", "value": "cli"}, {"key": "n", "value": "1"}] for r in records)
    # Keys hash to partitions: the same key always lands in the same partition, in line order.
    by_partition = {}
    for r in records:
        by_partition.setdefault(r["partition"], []).append(r["offset"])
    assert all(offsets == list(range(len(offsets))) for offsets in by_partition.values())

    templ = fj(cbroker, "consume", topic, "--count", "6", "--format", "%T|%p|%o|%k|%v|%h").stdout.splitlines()
    assert sorted(line.split("|")[3] for line in templ) == [f"k{i}" for i in range(6)]
    assert all(line.startswith(f"{topic}|") and line.endswith("|source=cli,n=1") for line in templ)

    c = Consumer({"bootstrap.servers": cbroker.bootstrap, "group.id": name("check"),
                  "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    seen = {}

    def poll_one() -> bool:
        m = c.poll(0.5)
        if m is not None and not m.error():
            seen[m.key().decode()] = (m.value().decode(), m.headers())
        return len(seen) == 6

    try:
        wait_until(poll_one, TIMEOUT_S, lambda: f"confluent-kafka read {sorted(seen)} of the 6 keys")
    finally:
        c.close()
    assert seen["k3"] == ("value 3", [("source", b"cli"), ("n", b"1")])

    # One partition from an offset; values only (text format).
    p1 = [r for r in records if r["partition"] == by_partition and False] or \
        [r for r in records if r["partition"] == records[0]["partition"]]
    part = str(p1[0]["partition"])
    got = fj(cbroker, "consume", topic, "-p", part, "--from", "1", "--count", str(len(p1) - 1)).stdout.splitlines()
    assert got == [r["value"] for r in sorted(p1, key=lambda r: r["offset"])[1:]]

    # From a time: everything produced after the first batch.
    t0 = int(time.time() * 1000)
    time.sleep(0.05)
    (tmp_path / "more.txt").write_text("late-1\nlate-2\n")
    fj(cbroker, "produce", topic, "--file", str(tmp_path / "more.txt"), "--partition", "0")
    late = fj(cbroker, "consume", topic, "--from", f"@{t0}", "--count", "2").stdout.splitlines()
    assert late == ["late-1", "late-2"]
    iso_s = int(t0 / 1000) - 1
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(iso_s))
    # Every record stamped at or after that second (the CLI stamps CreateTime): the two late ones and whichever of
    # the first six were produced within it. --count ends the read; the idle timeout only stops a broken one,
    # since it runs from start-up, which a loaded machine can stretch past any short bound.
    since = [r["value"] for r in records if r["timestamp"] >= iso_s * 1000] + ["late-1", "late-2"]
    from_iso = fj(cbroker, "consume", topic, "--from", iso, "--count", str(len(since)), "--idle-timeout",
                  str(TIMEOUT_S // 2)).stdout.splitlines()
    assert sorted(from_iso) == sorted(since)
    # From the end with nothing new: --idle-timeout ends it with nothing printed.
    assert fj(cbroker, "consume", topic, "--from", "end", "--idle-timeout", "1").stdout == ""

    unknown = fj(cbroker, "produce", name("nope"), input="x\n", expect=1)
    assert "does not exist" in unknown.stderr and "fjord topic list" in unknown.stderr
    assert "does not exist" in fj(cbroker, "consume", name("nope"), "--count", "1", expect=1).stderr
    assert "no partition 7" in fj(cbroker, "produce", topic, "-p", "7", input="x\n", expect=1).stderr
    nosep = fj(cbroker, "produce", topic, "--key-separator", "=", input="a=b\nnoseparator\n", expect=1)
    assert "line 2" in nosep.stderr
    fj(cbroker, "consume", topic, "--from", "yesterday-ish", expect=2)
    fj(cbroker, "consume", topic, "--group", "g", "--from", "5", expect=2)
    fj(cbroker, "produce", topic, "--acks", "2", input="x\n", expect=2)


# MARK: groups

def produce_values(bootstrap: str, topic: str, partitions: int, per_partition: int) -> None:
    p = Producer({"bootstrap.servers": bootstrap})
    for part in range(partitions):
        for i in range(per_partition):
            p.produce(topic, value=f"p{part}-{i}".encode(), partition=part)
    assert p.flush(TIMEOUT_S) == 0


def test_group_lag_and_reset_offsets(cbroker):
    # Flow: 1. 2 partitions x 5 records, 2. consume 4 in one group (commits exactly the 4 printed), all 10 in
    # another, then 3 more arrive, 3. describe shows the lag of 3 (text and JSON) and list shows the group, 4. a dry run plans without changing,
    # 5. --execute moves the offsets (checked with confluent-kafka), 6. shift-by, to-offset, to-datetime,
    # by-duration, 7. usage errors.
    topic, group = name("lag"), name("billing")
    fj(cbroker, "topic", "create", topic, "-p", "2")
    produce_values(cbroker.bootstrap, topic, 2, 5)

    # Exactly the printed records are committed, wherever the fetches came from.
    partial = name("partial")
    assert len(fj(cbroker, "consume", topic, "--group", partial, "--count", "4").stdout.splitlines()) == 4
    assert sum(max(0, o) for o in committed(cbroker.bootstrap, partial, topic, 2).values()) == 4

    assert len(fj(cbroker, "consume", topic, "--group", group, "--count", "10").stdout.splitlines()) == 10
    assert committed(cbroker.bootstrap, group, topic, 2) == {0: 5, 1: 5}
    p = Producer({"bootstrap.servers": cbroker.bootstrap})
    for i in range(3):
        p.produce(topic, value=f"late-{i}".encode(), partition=1)
    assert p.flush(TIMEOUT_S) == 0

    report = fj_json(cbroker, "group", "describe", group)["groups"][0]
    assert report["group"] == group and report["state"] == "Empty" and report["members"] == []
    assert report["total_lag"] == 3
    rows = {r["partition"]: r for r in report["offsets"]}
    assert (rows[0]["committed_offset"], rows[0]["log_end_offset"], rows[0]["lag"]) == (5, 5, 0)
    assert (rows[1]["committed_offset"], rows[1]["log_end_offset"], rows[1]["lag"]) == (5, 8, 3)
    text = fj(cbroker, "group", "describe", group).stdout
    assert "Total lag: 3" in text and "LOG-END-OFFSET" in text
    groups = fj_json(cbroker, "group", "list")["groups"]
    assert {"group": group, "state": "Empty", "protocol_type": "consumer", "coordinator": 1} in groups
    assert group in fj(cbroker, "group", "list").stdout

    before = committed(cbroker.bootstrap, group, topic, 2)
    plan = fj_json(cbroker, "group", "reset-offsets", group, "--topic", topic, "--to-earliest")
    assert plan["executed"] is False
    assert [(m["partition"], m["current_offset"], m["new_offset"]) for m in plan["partitions"]] == \
        [(0, before[0], 0), (1, before[1], 0)]
    dry = fj(cbroker, "group", "reset-offsets", group, "--all-topics", "--to-latest")
    assert "dry run" in dry.stderr and "NEW-OFFSET" in dry.stdout
    assert committed(cbroker.bootstrap, group, topic, 2) == before

    fj(cbroker, "group", "reset-offsets", group, "--topic", topic, "--to-earliest", "--execute")
    assert committed(cbroker.bootstrap, group, topic, 2) == {0: 0, 1: 0}
    assert fj_json(cbroker, "group", "describe", group)["groups"][0]["total_lag"] == 13

    shifted = fj_json(cbroker, "group", "reset-offsets", group, "--topic", f"{topic}:1", "--shift-by", "3",
                      "--execute")
    assert shifted["executed"] and [(m["partition"], m["new_offset"]) for m in shifted["partitions"]] == [(1, 3)]
    assert committed(cbroker.bootstrap, group, topic, 2) == {0: 0, 1: 3}
    back = fj_json(cbroker, "group", "reset-offsets", group, "--topic", f"{topic}:1", "--shift-by", "-10")
    assert back["partitions"][0]["new_offset"] == 0  # clamped to the log start
    fj(cbroker, "group", "reset-offsets", group, "--all-topics", "--to-offset", "4", "--execute")
    assert committed(cbroker.bootstrap, group, topic, 2) == {0: 4, 1: 4}
    future = fj_json(cbroker, "group", "reset-offsets", group, "--all-topics", "--to-datetime", "2999-01-01T00:00:00Z")
    assert [m["new_offset"] for m in future["partitions"]] == [5, 8]
    hour = fj_json(cbroker, "group", "reset-offsets", group, "--all-topics", "--by-duration", "PT1H")
    assert [m["new_offset"] for m in hour["partitions"]] == [0, 0]
    assert committed(cbroker.bootstrap, group, topic, 2) == {0: 4, 1: 4}

    fj(cbroker, "group", "reset-offsets", group, "--all-topics", expect=2)  # no target
    fj(cbroker, "group", "reset-offsets", group, "--to-earliest", expect=2)  # no scope
    fj(cbroker, "group", "reset-offsets", group, "--all-topics", "--to-earliest", "--to-latest", expect=2)
    fj(cbroker, "group", "reset-offsets", group, "--all-topics", "--by-duration", "soon", expect=2)
    missing = fj(cbroker, "group", "describe", name("nogroup"), expect=1)
    assert "does not exist" in missing.stderr and "fjord group list" in missing.stderr


def test_active_group_refuses_reset_and_ctrl_c_commits_what_was_printed(cbroker):
    # Flow: 1. a group consumer runs in the background and prints 6 records, 2. describe shows it as a member
    # with its assignment, 3. reset --execute and group delete are refused, 4. SIGINT: exit 0, offsets of the
    # printed records committed, 5. now the reset works and delete-offsets / delete remove the group.
    topic, group = name("active"), name("live")
    fj(cbroker, "topic", "create", topic, "-p", "2")
    produce_values(cbroker.bootstrap, topic, 2, 3)
    env = {**os.environ, "FJORD_BOOTSTRAP": cbroker.bootstrap}
    proc = subprocess.Popen([fjord_bin(), "consume", topic, "--group", group, "--format", "%p:%o"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = [proc.stdout.readline().strip() for _ in range(6)]
        assert sorted(lines) == sorted(f"{p}:{o}" for p in (0, 1) for o in range(3))

        report = fj_json(cbroker, "group", "describe", group)["groups"][0]
        assert report["state"] == "Stable" and len(report["members"]) == 1
        assignment = report["members"][0]["assignment"]
        assert sorted((a["topic"], a["partition"]) for a in assignment) == [(topic, 0), (topic, 1)]
        assert all(r["member_id"] == report["members"][0]["member_id"] for r in report["offsets"])

        refused = fj(cbroker, "group", "reset-offsets", group, "--all-topics", "--to-earliest", "--execute",
                     expect=1)
        assert "active member" in refused.stderr and "stop its consumers" in refused.stderr
        assert fj(cbroker, "group", "reset-offsets", group, "--topic", topic, "--to-earliest",
                  expect=1).returncode == 1
        assert "active members" in fj(cbroker, "group", "delete", group, expect=1).stderr

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=TIMEOUT_S) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert committed(cbroker.bootstrap, group, topic, 2) == {0: 3, 1: 3}
    assert fj_json(cbroker, "group", "describe", group)["groups"][0]["state"] == "Empty"

    fj(cbroker, "group", "reset-offsets", group, "--topic", f"{topic}:0", "--to-earliest", "--execute")
    assert committed(cbroker.bootstrap, group, topic, 2) == {0: 0, 1: 3}
    assert "orders" not in fj(cbroker, "group", "delete-offsets", group, "--topic", f"{topic}:1").stderr
    assert committed(cbroker.bootstrap, group, topic, 2) == {0: 0, 1: -1001}
    fj(cbroker, "group", "delete", group)
    assert group not in [g["group"] for g in fj_json(cbroker, "group", "list")["groups"]]
    fj(cbroker, "group", "delete-offsets", group, expect=2)  # no --topic


# MARK: perf, help, completion

def test_perf_produce_consume_e2e_json(cbroker):
    # Flow: 1. perf produce 3000 records (JSON summary), 2. perf consume reads them back, 3. perf e2e measures
    # send-to-receipt latency, 4. --duration bounds a run, 5. unknown topic fails.
    topic = name("perf")
    fj(cbroker, "topic", "create", topic, "-p", "2")
    produced = fj_json(cbroker, "perf", "produce", topic, "-n", "3000", "--record-size", "64", "--acks", "1",
                       "--compression", "lz4", "--linger-ms", "2", "--batch-size", "8192")
    assert produced["mode"] == "produce" and produced["records"] == 3000 and produced["errors"] == 0
    assert produced["bytes"] == 3000 * 64 and produced["records_per_s"] > 0
    lat = produced["latency_ms"]
    assert lat["count"] == 3000 and 0 < lat["min"] <= lat["p50"] <= lat["p99"] <= lat["max"]

    consumed = fj_json(cbroker, "perf", "consume", topic, "-n", "3000")
    assert consumed["records"] == 3000 and consumed["bytes"] == 3000 * 64 and consumed["mb_per_s"] > 0

    e2e = fj_json(cbroker, "perf", "e2e", topic, "-n", "500", "--throughput", "1000", "--record-size", "32")
    assert e2e["mode"] == "e2e" and e2e["records"] == 500 and e2e["latency_ms"]["count"] == 500
    assert e2e["latency_ms"]["p50"] <= e2e["latency_ms"]["p99"]

    # --duration ends the run: 1,000,000 records at 200/s would take 5,000 s. The bound on elapsed_s leaves a loaded
    # machine room to drain what was sent; records stay under 1,000 because sending is paced at 200/s.
    bounded = fj_json(cbroker, "perf", "produce", topic, "-n", "1000000", "--throughput", "200", "--duration", "1")
    assert 0 < bounded["records"] < 1000 and bounded["elapsed_s"] < 30, bounded
    text = fj(cbroker, "perf", "produce", topic, "-n", "200", "--report-interval", "0.2").stdout
    assert "records/s" in text and "p99" in text
    assert "does not exist" in fj(cbroker, "perf", "consume", name("nope"), "-n", "1", expect=1).stderr


def test_help_has_an_example_per_subcommand_and_completion_works(cbroker):
    commands = [["topic", c] for c in ("create", "list", "describe", "alter", "delete", "add-partitions")]
    commands += [["produce"], ["consume"], ["cluster", "describe"]]
    commands += [["group", c] for c in ("list", "describe", "delete", "reset-offsets", "delete-offsets")]
    commands += [["config", c] for c in ("describe", "set", "delete")]
    commands += [["perf", c] for c in ("produce", "consume", "e2e")]
    for command in commands:
        done = fj(cbroker, *command, "--help")
        assert "Example" in done.stdout, command
    script = fj(cbroker, "--generate-completion-script", "bash").stdout
    assert "fjord" in script and "reset-offsets" in script


# MARK: transactions

def test_transaction_list_describe_and_producers(cbroker):
    topic = name("txcli")
    fj(cbroker, "topic", "create", topic, "--partitions", "2")
    p = Producer({"bootstrap.servers": cbroker.bootstrap, "transactional.id": "cli-tx"})
    p.init_transactions(TIMEOUT_S)
    p.begin_transaction()
    p.produce(topic, b"open", partition=1)
    p.flush(TIMEOUT_S)

    listed = fj_json(cbroker, "transaction", "list")["transactions"]
    assert [(t["transactional_id"], t["state"]) for t in listed] == [("cli-tx", "Ongoing")]
    assert fj_json(cbroker, "transaction", "list", "--state", "CompleteCommit")["transactions"] == []
    described = fj_json(cbroker, "transaction", "describe", "cli-tx")
    assert described["state"] == "Ongoing"
    assert described["partitions"] == [{"topic": topic, "partition": 1}]
    assert described["producer_id"] == listed[0]["producer_id"] and described["start_time_ms"] > 0
    producers = fj_json(cbroker, "transaction", "describe-producers", "--topic", f"{topic}:1")["producers"]
    assert [(x["producer_id"], x["current_transaction_start_offset"]) for x in producers] == [(described["producer_id"], 0)]
    assert "TXN-START-OFFSET" in fj(cbroker, "transaction", "describe-producers", "--topic", topic).stdout

    p.commit_transaction(TIMEOUT_S)
    assert fj_json(cbroker, "transaction", "describe", "cli-tx")["state"] == "CompleteCommit"
    producers = fj_json(cbroker, "transaction", "describe-producers", "--topic", f"{topic}:1")["producers"]
    assert producers[0]["current_transaction_start_offset"] == -1

    missing = fj(cbroker, "transaction", "describe", "no-such-id", expect=1)
    assert "does not exist" in missing.stderr


def test_transaction_abort_frees_read_committed_consumers(cbroker):
    topic = name("txabort")
    fj(cbroker, "topic", "create", topic, "--partitions", "1")
    p = Producer({"bootstrap.servers": cbroker.bootstrap, "transactional.id": "cli-abort"})
    p.init_transactions(TIMEOUT_S)
    p.begin_transaction()
    p.produce(topic, b"stuck", partition=0)
    p.flush(TIMEOUT_S)
    plain = Producer({"bootstrap.servers": cbroker.bootstrap})
    plain.produce(topic, b"after", partition=0)
    plain.flush(TIMEOUT_S)

    def read_committed(expect: int, settle: float) -> list[bytes]:
        """Reads until `expect` records arrived (generous deadline), then `settle` seconds more for any extra."""
        c = Consumer({"bootstrap.servers": cbroker.bootstrap, "group.id": name("rc"), "auto.offset.reset": "earliest",
                      "isolation.level": "read_committed", "enable.auto.commit": False})
        try:
            c.assign([TopicPartition(topic, 0, 0)])
            got, deadline = [], time.monotonic() + TIMEOUT_S
            while len(got) < expect and time.monotonic() < deadline:
                got += [m.value() for m in c.consume(num_messages=10, timeout=0.3) if m.error() is None]
            quiet_until = time.monotonic() + settle
            while time.monotonic() < quiet_until:
                got += [m.value() for m in c.consume(num_messages=10, timeout=0.3) if m.error() is None]
            return got
        finally:
            c.close()

    assert read_committed(expect=0, settle=3) == []  # held back by the open transaction
    usage = fj(cbroker, "transaction", "abort", "--topic", topic, "--start-offset", "0", expect=2)
    assert "exactly one partition" in usage.stderr
    missing = fj(cbroker, "transaction", "abort", "--topic", f"{topic}:0", "--start-offset", "5", expect=1)
    assert "no open transaction starts at offset 5" in missing.stderr
    aborted = fj_json(cbroker, "transaction", "abort", "--topic", f"{topic}:0", "--start-offset", "0")
    assert aborted["aborted"] is True and aborted["producer_id"] >= 0
    producers = fj_json(cbroker, "transaction", "describe-producers", "--topic", f"{topic}:0")["producers"]
    assert [x["current_transaction_start_offset"] for x in producers if x["producer_id"] == aborted["producer_id"]] == [-1]
    assert read_committed(expect=1, settle=1) == [b"after"]
