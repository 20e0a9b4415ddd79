"""The harness against an independent broker (Tansu): proves fixtures and client
checks work before Fjord exists, and keeps them honest afterwards.

kcat is left out: Debian 12's kcat (librdkafka 2.0.2) fails Tansu 0.6.0's
ApiVersions response ("Read underflow"), a Tansu/old-librdkafka issue.
"""

import pytest

from interop_clients import aiokafka_metadata, confluent_metadata, kafka_python_metadata

TANSU_NODE_ID = 111  # Tansu's fixed node id


@pytest.mark.parametrize("metadata", [confluent_metadata, kafka_python_metadata, aiokafka_metadata],
                         ids=["confluent-kafka", "kafka-python", "aiokafka"])
def test_tansu_metadata(tansu, metadata):
    brokers, cluster_id = metadata(tansu.bootstrap)
    assert brokers == {TANSU_NODE_ID: ("127.0.0.1", tansu.port)}
    assert cluster_id
    assert tansu.alive()
