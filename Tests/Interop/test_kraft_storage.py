"""A node with `process.roles` set, as an operator runs Kafka 4 (issue 12 item 3): it refuses to start unformatted
with Kafka's message, `fjord storage format --standalone` prepares it, and it then serves clients as the single
combined node, advertising its broker listener only (the controller listener comes first in `listeners`, on its
own port)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from confluent_kafka.admin import NewTopic

from conftest import _start, _track, fjord_bin, free_port
from datapath_clients import (TIMEOUT_S, admin, confluent_consume, confluent_produce, create_topic,  # noqa: F401
                              drop_admin_clients, make_records, now_ms)  # drop_admin_clients: autouse fixture
from waiting import wait_until


def write_config(tmp_path: Path, port: int, controller_port: int) -> Path:
    config = tmp_path / "server.properties"
    config.write_text("\n".join([
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}",
        f"listeners=CONTROLLER://127.0.0.1:{controller_port},PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names=CONTROLLER",
        f"log.dirs={tmp_path}/data",
        "metrics.listener=none",
    ]) + "\n")
    return config


def fjord(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([fjord_bin(), *args], capture_output=True, text=True, timeout=60)


def test_a_standalone_kraft_node_is_formatted_then_serves(request, tmp_path):
    port, controller_port = free_port(), free_port()
    config = write_config(tmp_path, port, controller_port)

    # Unformatted: refused with Kafka's message, and nothing is created.
    done = fjord("broker", "--config", str(config))
    assert done.returncode != 0 and "No readable meta.properties files found." in done.stderr, done
    assert not (tmp_path / "data" / "meta.properties").exists()

    # A controller without static voters must say how its quorum starts.
    cluster_id = fjord("storage", "random-uuid").stdout.strip()
    assert len(cluster_id) == 22
    done = fjord("storage", "format", "--cluster-id", cluster_id, "--config", str(config))
    assert done.returncode == 1 and "--standalone, --initial-controllers, or --no-initial-controllers" in done.stderr

    done = fjord("storage", "format", "-t", cluster_id, "-c", str(config), "--standalone")
    assert done.returncode == 0, done
    assert f"Formatting dynamic metadata voter directory {tmp_path}/data with metadata.version 4.0-IV3." in done.stdout
    assert (tmp_path / "data" / "__cluster_metadata-0" / "00000000000000000000-0000000000.checkpoint").exists()
    assert (tmp_path / "data" / "bootstrap.checkpoint").exists()
    done = fjord("storage", "format", "-t", cluster_id, "-c", str(config), "--standalone")
    assert done.returncode == 1 and "is already formatted" in done.stderr, done

    b = _start("fjord-kraft", [fjord_bin(), "broker", "--config", str(config)], port, tmp_path / "data",
               tmp_path / "fjord-kraft.log")
    _track(request, b)
    try:
        metadata = admin(b.bootstrap).list_topics(timeout=TIMEOUT_S)
        assert metadata.cluster_id == cluster_id
        assert {(n.id, n.host, n.port) for n in metadata.brokers.values()} == {(1, "127.0.0.1", port)}
        create_topic(b.bootstrap, "kraft", 1)
        records = make_records(10, now_ms())
        confluent_produce(b.bootstrap, "kraft", records)
        got = confluent_consume(b.bootstrap, "kraft", 1, 10)
        assert [m.value() for m in got] == [r.value for r in records]
        info = fjord("storage", "info", "--config", str(config))
        assert info.returncode == 0 and f"cluster.id={cluster_id}" in info.stdout, info
    finally:
        b.stop()


def test_kafkas_sample_controller_and_broker_run_a_dynamic_quorum(request, tmp_path):
    """Kafka's sample config/kraft/controller.properties and broker.properties, separate roles (test_kraft_roles.py
    runs a bigger cluster): a controller-only node formatted --standalone, and a broker-only node that knows the quorum
    only by controller.quorum.bootstrap.servers, formatted with no quorum option (--standalone is refused on a
    broker, as kafka-storage.sh refuses it). The broker finds the voters through its bootstrap server, registers and
    serves clients; Metadata lists it alone (a controller is never a broker)."""
    port, controller_port = free_port(), free_port()
    common = [f"controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}",
              "controller.listener.names=CONTROLLER", "metrics.listener=none"]
    controller_config, broker_config = tmp_path / "controller.properties", tmp_path / "broker.properties"
    controller_config.write_text("\n".join(["process.roles=controller", "node.id=1",
                                            f"listeners=CONTROLLER://127.0.0.1:{controller_port}",
                                            f"log.dirs={tmp_path}/controller", *common]) + "\n")
    broker_config.write_text("\n".join(["process.roles=broker", "node.id=2", f"listeners=PLAINTEXT://127.0.0.1:{port}",
                                        f"log.dirs={tmp_path}/broker", *common]) + "\n")
    cluster_id = fjord("storage", "random-uuid").stdout.strip()
    done = fjord("storage", "format", "-t", cluster_id, "-c", str(broker_config), "--standalone")
    assert done.returncode == 1 and "You can only use --standalone on a controller." in done.stderr, done
    done = fjord("storage", "format", "-t", cluster_id, "-c", str(broker_config))
    assert done.returncode == 0 and "Formatting metadata directory" in done.stdout, done
    done = fjord("storage", "format", "-t", cluster_id, "-c", str(controller_config), "--standalone")
    assert done.returncode == 0 and "Formatting dynamic metadata voter directory" in done.stdout, done

    controller = _start("fjord-controller", [fjord_bin(), "broker", "--config", str(controller_config)],
                        controller_port, tmp_path / "controller", tmp_path / "controller.log")
    _track(request, controller)
    try:
        broker = _start("fjord-broker", [fjord_bin(), "broker", "--config", str(broker_config)], port,
                        tmp_path / "broker", tmp_path / "broker.log")
        _track(request, broker)
        try:
            assert "voters found through controller.quorum.bootstrap.servers" in broker.log_text()
            metadata = admin(broker.bootstrap).list_topics(timeout=TIMEOUT_S)
            assert metadata.cluster_id == cluster_id
            assert {(n.id, n.port) for n in metadata.brokers.values()} == {(2, port)}
            client = admin(broker.bootstrap)
            client.create_topics([NewTopic("kraft-roles", 1, 1)])["kraft-roles"].result(timeout=TIMEOUT_S)
            wait_until(lambda: [p.leader for p in client.list_topics("kraft-roles", timeout=TIMEOUT_S).topics[
                "kraft-roles"].partitions.values()] == [2], TIMEOUT_S, "kraft-roles is not led by the broker")
            records = make_records(10, now_ms())
            confluent_produce(broker.bootstrap, "kraft-roles", records)
            got = confluent_consume(broker.bootstrap, "kraft-roles", 1, 10)
            assert [m.value() for m in got] == [r.value for r in records]
        finally:
            assert broker.stop() == 0, broker.log_text()[-3000:]
    finally:
        controller.stop()
