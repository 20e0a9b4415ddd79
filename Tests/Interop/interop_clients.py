"""Cluster-metadata checks with each client library, shared by the tests.

Every function returns the broker list it saw as {node_id: (host, port)} and
the cluster id, so a test can compare what a broker advertises across clients.
"""

from __future__ import annotations

import asyncio
import json
import subprocess

TIMEOUT_S = 10


def kcat_metadata(bootstrap: str) -> tuple[dict[int, tuple[str, int]], dict]:
    """`kcat -L -J`: JSON with brokers [{"id": 1, "name": "host:port"}]."""
    out = subprocess.run(
        ["kcat", "-b", bootstrap, "-L", "-J", "-m", str(TIMEOUT_S)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT_S + 20,
    )
    assert out.returncode == 0, f"kcat exited {out.returncode}\n{out.stderr}"
    doc = json.loads(out.stdout)
    brokers = {}
    for b in doc["brokers"]:
        host, _, port = b["name"].rpartition(":")
        brokers[b["id"]] = (host, int(port))
    return brokers, doc


def confluent_metadata(bootstrap: str) -> tuple[dict[int, tuple[str, int]], str | None]:
    from confluent_kafka.admin import AdminClient

    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=TIMEOUT_S)
    return {b.id: (b.host, b.port) for b in md.brokers.values()}, md.cluster_id


def kafka_python_metadata(bootstrap: str) -> tuple[dict[int, tuple[str, int]], str | None]:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="fjord-interop",
                             request_timeout_ms=TIMEOUT_S * 1000)
    try:
        cluster = admin.describe_cluster()
        admin.list_topics()
    finally:
        admin.close()
    brokers = {}
    for b in cluster["brokers"]:
        node = b.get("broker_id", b.get("node_id"))  # 3.x: broker_id, 2.x: node_id
        brokers[node] = (b["host"], b["port"])
    return brokers, cluster["cluster_id"]


def aiokafka_metadata(bootstrap: str) -> tuple[dict[int, tuple[str, int]], str | None]:
    from aiokafka.admin import AIOKafkaAdminClient

    async def run():
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="fjord-interop",
                                    request_timeout_ms=TIMEOUT_S * 1000)
        await asyncio.wait_for(admin.start(), TIMEOUT_S * 2)
        try:
            cluster = await asyncio.wait_for(admin.describe_cluster(), TIMEOUT_S * 2)
            await asyncio.wait_for(admin.list_topics(), TIMEOUT_S * 2)
        finally:
            await admin.close()
        return cluster

    cluster = asyncio.run(run())
    return {b["node_id"]: (b["host"], b["port"]) for b in cluster["brokers"]}, cluster["cluster_id"]
