"""ApiVersions + Metadata against Fjord with four independent clients."""

import pytest

from interop_clients import (aiokafka_metadata, confluent_metadata, kafka_python_metadata,
                             kcat_metadata)

NODE_ID = 1  # the `broker` fixture starts Fjord with node.id=1


def test_kcat_lists_broker(broker):
    brokers, doc = kcat_metadata(broker.bootstrap)
    assert brokers == {NODE_ID: ("127.0.0.1", broker.port)}, doc


@pytest.mark.parametrize("metadata", [confluent_metadata, kafka_python_metadata, aiokafka_metadata],
                         ids=["confluent-kafka", "kafka-python", "aiokafka"])
def test_admin_client_sees_broker_and_cluster_id(broker, metadata):
    brokers, cluster_id = metadata(broker.bootstrap)
    assert brokers == {NODE_ID: ("127.0.0.1", broker.port)}
    assert cluster_id, f"empty cluster id: {cluster_id!r}"
    assert broker.alive()
