"""What tools written for Kafka 3.x still send, and what two brokers on one host run into (issue 11 item 12).

`message.format.version` (and `message.downconversion.enable`) were deprecated no-ops in Kafka 3.x and are gone
in Kafka 4; admin tools and client test suites still send them in CreateTopics, AlterConfigs and
IncrementalAlterConfigs. Fjord accepts them as 3.x did — validated, stored, described, ignored — with one log
line, instead of failing the whole request. A listener that cannot bind names the key to change."""

from __future__ import annotations

import socket
import subprocess

from confluent_kafka import KafkaError
from confluent_kafka.admin import (AlterConfigOpType, ConfigEntry, ConfigResource, ConfigSource, NewTopic)

from conftest import fjord_bin, free_port
from datapath_clients import (TIMEOUT_S, admin, confluent_consume, confluent_produce, drop_admin_clients,  # noqa: F401
                              make_records, now_ms)
from waiting import wait_until


def describe(bootstrap: str, topic: str) -> dict[str, ConfigEntry]:
    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    return admin(bootstrap).describe_configs([res])[res].result(timeout=TIMEOUT_S)


def deprecation_lines(broker) -> list[str]:
    return [line for line in broker.log_text().splitlines() if "deprecated configs accepted and ignored" in line]


def test_message_format_version_is_accepted_described_and_ignored(broker):
    b = broker.bootstrap
    a = admin(b)
    # CreateTopics with the key, as a 3.x tool sends it: the topic is created, the value kept and described.
    a.create_topics([NewTopic("legacy", 1, 1, config={"message.format.version": "2.8-IV1"})])["legacy"].result(TIMEOUT_S)
    entries = describe(b, "legacy")
    assert entries["message.format.version"].value == "2.8-IV1"
    assert entries["message.format.version"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    wait_until(lambda: len(deprecation_lines(broker)) == 1, 30, "one log line for the CreateTopics")
    assert "message.format.version" in deprecation_lines(broker)[0]

    # A topic without it describes Kafka 3.x's default.
    a.create_topics([NewTopic("modern", 1, 1)])["modern"].result(TIMEOUT_S)
    assert describe(b, "modern")["message.format.version"].value == "3.0-IV1"
    assert describe(b, "modern")["message.format.version"].is_default

    # IncrementalAlterConfigs and the legacy AlterConfigs take it too, each with its log line.
    res = ConfigResource(ConfigResource.Type.TOPIC, "legacy", incremental_configs=[
        ConfigEntry("message.format.version", "0.10.2", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("message.downconversion.enable", "false", incremental_operation=AlterConfigOpType.SET)])
    a.incremental_alter_configs([res])[res].result(TIMEOUT_S)
    entries = describe(b, "legacy")
    assert entries["message.format.version"].value == "0.10.2"
    assert entries["message.downconversion.enable"].value == "false"
    res = ConfigResource(ConfigResource.Type.TOPIC, "legacy", set_config={"message.format.version": "3.0",
                                                                          "retention.ms": "3600000"})
    a.alter_configs([res])[res].result(TIMEOUT_S)
    assert describe(b, "legacy")["retention.ms"].value == "3600000"
    wait_until(lambda: len(deprecation_lines(broker)) == 3, 30, "one log line per request")

    # A value that is no version is still INVALID_CONFIG, as in 3.x.
    res = ConfigResource(ConfigResource.Type.TOPIC, "legacy", incremental_configs=[
        ConfigEntry("message.format.version", "banana", incremental_operation=AlterConfigOpType.SET)])
    err = a.incremental_alter_configs([res])[res].exception(TIMEOUT_S)
    assert err is not None and err.args[0].code() == KafkaError.INVALID_CONFIG, err

    # And it changes nothing: records go in and come out as v2 batches, as for any topic.
    records = make_records(20, now_ms())
    confluent_produce(b, "legacy", records)
    got = confluent_consume(b, "legacy", 1, 20)
    assert [m.value() for m in got] == [r.value for r in records]


def occupied_port() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s


def start_and_fail(tmp_path, **props: str) -> str:
    argv = [fjord_bin(), "broker", "--override", f"log.dirs={tmp_path}/data"]
    for key, value in props.items():
        argv += ["--override", f"{key.replace('_', '.')}={value}"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0, done
    return done.stdout + done.stderr


def test_a_listener_that_cannot_bind_is_named_with_its_key(tmp_path):
    taken = occupied_port()
    try:
        port = taken.getsockname()[1]
        out = start_and_fail(tmp_path / "kafka", listeners=f"PLAINTEXT://127.0.0.1:{port}",
                             metrics_listener=f"127.0.0.1:{free_port()}")
        assert f"'listeners'" in out and f"127.0.0.1:{port}" in out and "Address already in use" in out, out
        out = start_and_fail(tmp_path / "metrics", listeners=f"PLAINTEXT://127.0.0.1:{free_port()}",
                             metrics_listener=f"127.0.0.1:{port}")
        assert "'metrics.listener'" in out and f"127.0.0.1:{port}" in out and "Address already in use" in out, out
    finally:
        taken.close()
