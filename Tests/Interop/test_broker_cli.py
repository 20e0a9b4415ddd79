"""`fjord broker` as an operator runs it: start-up errors, restart, graceful shutdown."""

from __future__ import annotations

import signal
import subprocess
import time

from confluent_kafka.admin import AdminClient

from conftest import fjord_bin, free_port, start_fjord
from waiting import GENEROUS_S


def cluster_id(bootstrap: str) -> str:
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=GENEROUS_S)
    return md.cluster_id


def test_unknown_key_and_bad_value_fail_at_startup_naming_the_key(tmp_path):
    for override, named in [("no.such.setting=1", "no.such.setting"), ("node.id=abc", "node.id"),
                            ("listeners=localhost:9092", "listeners")]:
        done = subprocess.run([fjord_bin(), "broker", "--override", f"log.dirs={tmp_path}/d",
                               "--override", override], capture_output=True, text=True, timeout=30)
        assert done.returncode != 0, override
        assert named in done.stderr, done.stderr


def test_config_file_is_read(tmp_path):
    port = free_port()
    props = tmp_path / "server.properties"
    props.write_text(f"# a Kafka-style file\nnode.id=4\nlisteners=PLAINTEXT://127.0.0.1:{port}\n"
                     f"log.dirs={tmp_path}/data\nnum.partitions=3\nmetrics.listener=127.0.0.1:0\n")
    proc = subprocess.Popen([fjord_bin(), "broker", "--config", str(props)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + GENEROUS_S
        while True:
            try:
                md = AdminClient({"bootstrap.servers": f"127.0.0.1:{port}"}).list_topics(timeout=2)
                break
            except Exception:
                assert time.monotonic() < deadline and proc.poll() is None, "broker did not start"
                time.sleep(0.2)
        assert list(md.brokers) == [4]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=GENEROUS_S)


def test_sigterm_shuts_down_gracefully_and_cluster_id_survives_restart(tmp_path):
    first = start_fjord(tmp_path)
    original = cluster_id(first.bootstrap)
    first.proc.send_signal(signal.SIGTERM)
    assert first.proc.wait(timeout=GENEROUS_S) == 0  # graceful: exits 0 by itself (flushes first, so not instantly)
    assert "stopped" in first.log_text()

    second = start_fjord(tmp_path, name="fjord")  # same data directory
    try:
        assert cluster_id(second.bootstrap) == original
        meta = (tmp_path / "fjord-data" / "meta.properties").read_text()
        assert f"cluster.id={original}" in meta
    finally:
        second.proc.send_signal(signal.SIGINT)
        assert second.proc.wait(timeout=GENEROUS_S) == 0
