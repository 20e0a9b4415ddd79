"""A node with `process.roles` set, as an operator runs Kafka 4 (issue 12 item 3): it refuses to start unformatted
with Kafka's message, `fjord storage format --standalone` prepares it, and it then serves clients as the single
combined node, advertising its broker listener only (the controller listener comes first in `listeners`, on its
own port)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import _start, _track, fjord_bin, free_port
from datapath_clients import (TIMEOUT_S, admin, confluent_consume, confluent_produce, create_topic,  # noqa: F401
                              drop_admin_clients, make_records, now_ms)  # drop_admin_clients: autouse fixture


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


def test_a_controller_only_node_is_refused_clearly(tmp_path):
    """Combined nodes form multi-node quorums (test_kraft_quorum.py); a node with one role alone is not supported yet
    and says so instead of starting something that cannot work."""
    port, controller_port = free_port(), free_port()
    config = write_config(tmp_path, port, controller_port)
    text = config.read_text().replace("process.roles=broker,controller", "process.roles=controller")
    text = text.replace(f"controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}",
                        f"controller.quorum.voters=1@127.0.0.1:{controller_port}")
    text = text.replace(f",PLAINTEXT://127.0.0.1:{port}", "")
    config.write_text(text)
    cluster_id = fjord("storage", "random-uuid").stdout.strip()
    done = fjord("storage", "format", "-t", cluster_id, "-c", str(config))
    assert done.returncode == 0, done
    done = fjord("broker", "--config", str(config))
    assert done.returncode != 0 and "process.roles=controller is not supported yet" in done.stderr, done
