"""ACLs (issue 14, item 3) through real admin clients, and their enforcement on the data path and groups.

- Without `authorizer.class.name` the ACL APIs answer SECURITY_DISABLED, as Kafka's brokers do.
- With Kafka's `StandardAuthorizer` named there, confluent-kafka (librdkafka) and kafka-python create, describe
  (every ACL, and a MATCH filter that finds the literal, wildcard and prefixed ACLs that apply to one name) and
  delete ACLs; they are AccessControlEntryRecords in the metadata log, so a restarted broker still has them.
- The ACLs are enforced for the principal every plaintext connection has, `User:ANONYMOUS`: a topic it may not
  write refuses its records (TOPIC_AUTHORIZATION_FAILED) while another takes them, one it may not read refuses its
  fetches, one it may not describe is missing from the topic list, a group it may not read refuses to be joined
  (GROUP_AUTHORIZATION_FAILED), and once ALTER on the cluster is denied, creating ACLs answers
  CLUSTER_AUTHORIZATION_FAILED. `super.users` bypasses every ACL.
- Admin operations and transactions: DeleteTopics needs DELETE, CreatePartitions ALTER, DescribeConfigs
  DESCRIBE_CONFIGS, CreateTopics CREATE (on the cluster, else on the topic: a prefixed deny refuses the names it
  covers), and a transactional producer WRITE on its transactional id (InitProducerId), while another id commits."""

from __future__ import annotations

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation, AclPermissionType, ResourcePatternType,
                                   ResourceType)

from conftest import restart_broker, running_fjord
from datapath_clients import (drop_admin_clients,  # noqa: F401 (autouse fixture)
                              TIMEOUT_S, admin, create_topic)
from waiting import wait_for, wait_until

# confluent-kafka names the cluster resource type (code 4) BROKER.
STANDARD_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
ANONYMOUS = "User:ANONYMOUS"
EVERY_ACL = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None, AclOperation.ANY,
                             AclPermissionType.ANY)


def authorized(request, tmp_path, **extra: str):
    overrides = {"authorizer.class.name": STANDARD_AUTHORIZER, "allow.everyone.if.no.acl.found": "true"}
    overrides.update({k.replace("_", "."): v for k, v in extra.items()})
    return running_fjord(request, tmp_path, overrides)


def acl(resource: ResourceType, name: str, principal: str, operation: AclOperation, permission: AclPermissionType,
        pattern: ResourcePatternType = ResourcePatternType.LITERAL) -> AclBinding:
    return AclBinding(resource, name, pattern, principal, "*", operation, permission)


def create_acls(bootstrap: str, bindings: list[AclBinding]) -> None:
    for future in admin(bootstrap).create_acls(bindings, request_timeout=TIMEOUT_S).values():
        future.result(timeout=TIMEOUT_S)


def describe(bootstrap: str, acl_filter: AclBindingFilter = EVERY_ACL) -> set[tuple]:
    found = admin(bootstrap).describe_acls(acl_filter, request_timeout=TIMEOUT_S).result(timeout=TIMEOUT_S)
    return {key(b) for b in found}


def key(b: AclBinding) -> tuple:
    return (b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation, b.permission_type)


def test_acl_apis_answer_security_disabled_without_an_authorizer(broker):
    # librdkafka does not surface DescribeAcls' top-level error (it returns no ACLs); kafka-python does.
    from kafka import KafkaAdminClient
    from kafka.admin import ACLFilter, ACLOperation, ACLPermissionType, ResourcePatternFilter
    from kafka.admin import ResourceType as KResourceType, ACLResourcePatternType
    from kafka.errors import SecurityDisabledError

    kp = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=TIMEOUT_S * 1000)
    try:
        with pytest.raises(SecurityDisabledError):
            kp.describe_acls(ACLFilter(
                principal=None, host="*", operation=ACLOperation.ANY, permission_type=ACLPermissionType.ANY,
                resource_pattern=ResourcePatternFilter(KResourceType.ANY, None, ACLResourcePatternType.ANY)))
    finally:
        kp.close()
    binding = acl(ResourceType.TOPIC, "t", "User:alice", AclOperation.READ, AclPermissionType.ALLOW)
    [future] = admin(broker.bootstrap).create_acls([binding], request_timeout=TIMEOUT_S).values()
    with pytest.raises(KafkaException) as info:
        future.result(timeout=TIMEOUT_S)
    assert info.value.args[0].code() == KafkaError.SECURITY_DISABLED


def test_acls_are_created_described_matched_deleted_and_kept_across_a_restart(request, tmp_path):
    with authorized(request, tmp_path) as b:
        bindings = [
            acl(ResourceType.TOPIC, "orders", "User:alice", AclOperation.READ, AclPermissionType.ALLOW),
            acl(ResourceType.TOPIC, "ord", "User:alice", AclOperation.WRITE, AclPermissionType.ALLOW,
                ResourcePatternType.PREFIXED),
            acl(ResourceType.TOPIC, "*", "User:bob", AclOperation.DESCRIBE, AclPermissionType.DENY),
            acl(ResourceType.TOPIC, "payments", "User:bob", AclOperation.ALL, AclPermissionType.ALLOW),
            acl(ResourceType.GROUP, "billing", "User:*", AclOperation.READ, AclPermissionType.ALLOW),
            # An ACL on the cluster means the others need one too (no longer "no ACL found"): this one keeps the
            # test's own principal allowed to manage ACLs.
            acl(ResourceType.BROKER, "kafka-cluster", ANONYMOUS, AclOperation.ALL, AclPermissionType.ALLOW),
        ]
        create_acls(b.bootstrap, bindings)
        create_acls(b.bootstrap, bindings[:1])  # an ACL that exists already: accepted, not added twice
        assert describe(b.bootstrap) == {key(x) for x in bindings}

        # MATCH: every ACL that applies to the topic "orders": its literal ACL, the wildcard and the prefix "ord".
        match = AclBindingFilter(ResourceType.TOPIC, "orders", ResourcePatternType.MATCH, None, None,
                                 AclOperation.ANY, AclPermissionType.ANY)
        assert describe(b.bootstrap, match) == {key(x) for x in bindings[:3]}
        by_principal = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, "User:bob", None,
                                        AclOperation.ANY, AclPermissionType.ANY)
        assert describe(b.bootstrap, by_principal) == {key(x) for x in bindings[2:4]}

        # kafka-python reads the same ACLs.
        from kafka import KafkaAdminClient
        from kafka.admin import ACLFilter, ACLOperation, ACLPermissionType, ResourcePatternFilter
        from kafka.admin import ResourceType as KResourceType, ACLResourcePatternType

        kp = KafkaAdminClient(bootstrap_servers=b.bootstrap, request_timeout_ms=TIMEOUT_S * 1000)
        try:
            found, error = kp.describe_acls(ACLFilter(
                principal=None, host="*", operation=ACLOperation.ANY, permission_type=ACLPermissionType.ANY,
                resource_pattern=ResourcePatternFilter(KResourceType.GROUP, None, ACLResourcePatternType.ANY)))
            assert error.errno == 0
            assert [(a.resource_pattern.resource_name, a.principal, a.operation.name) for a in found] == \
                [("billing", "User:*", "READ")]
        finally:
            kp.close()

        # Deleting by filter answers the ACLs it removed; the others stay.
        deleted = admin(b.bootstrap).delete_acls([by_principal], request_timeout=TIMEOUT_S)[by_principal]
        assert {key(x) for x in deleted.result(timeout=TIMEOUT_S)} == {key(x) for x in bindings[2:4]}
        remaining = {key(x) for x in bindings[:2] + bindings[4:]}
        assert describe(b.bootstrap) == remaining

        restart_broker(b, hard=True)
        assert describe(b.bootstrap) == remaining


def test_acls_are_enforced_on_produce_fetch_metadata_groups_and_acl_changes(request, tmp_path):
    with authorized(request, tmp_path) as b:
        for topic in ("open", "closed", "hidden"):
            create_topic(b.bootstrap, topic, 1)
        # Once an ACL names a resource, "no ACL found" no longer applies to it: DESCRIBE is allowed explicitly so
        # that the WRITE and READ denials are what the clients meet.
        create_acls(b.bootstrap, [
            acl(ResourceType.TOPIC, "closed", ANONYMOUS, AclOperation.DESCRIBE, AclPermissionType.ALLOW),
            acl(ResourceType.GROUP, "blocked", ANONYMOUS, AclOperation.DESCRIBE, AclPermissionType.ALLOW),
            acl(ResourceType.TOPIC, "closed", ANONYMOUS, AclOperation.WRITE, AclPermissionType.DENY),
            acl(ResourceType.TOPIC, "closed", ANONYMOUS, AclOperation.READ, AclPermissionType.DENY),
            acl(ResourceType.TOPIC, "hidden", ANONYMOUS, AclOperation.ALL, AclPermissionType.DENY),
            acl(ResourceType.GROUP, "blocked", ANONYMOUS, AclOperation.READ, AclPermissionType.DENY),
        ])

        # Produce: the denied topic refuses, the open one takes the records.
        outcomes: dict[str, KafkaError | None] = {}
        producer = Producer({"bootstrap.servers": b.bootstrap, "message.timeout.ms": 10000})
        for topic in ("open", "closed"):
            producer.produce(topic, b"v", partition=0, on_delivery=lambda err, m: outcomes.__setitem__(m.topic(), err))
        assert producer.flush(TIMEOUT_S) == 0
        assert outcomes["open"] is None
        assert outcomes["closed"].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED

        # Metadata: a topic the principal may not describe is not listed.
        topics = set(admin(b.bootstrap).list_topics(timeout=TIMEOUT_S).topics)
        assert {"open", "closed"} <= topics and "hidden" not in topics

        # Fetch: the denied topic refuses the consumer's fetches; the open one serves them.
        consumer = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "readers", "enable.auto.commit": False})
        try:
            consumer.assign([TopicPartition("closed", 0, 0)])
            error = wait_for(lambda: (lambda m: m.error() if m is not None and m.error() else None)(
                consumer.poll(0.5)), TIMEOUT_S, "no error fetching a topic READ is denied on")
            assert error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
            consumer.assign([TopicPartition("open", 0, 0)])
            message = wait_for(lambda: (lambda m: m if m is not None and not m.error() else None)(
                consumer.poll(0.5)), TIMEOUT_S, "nothing read from the open topic")
            assert message.value() == b"v"
        finally:
            consumer.close()

        # Groups: joining a group READ is denied on fails.
        member = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "blocked", "session.timeout.ms": 6000})
        try:
            member.subscribe(["open"])
            error = wait_for(lambda: (lambda m: m.error() if m is not None and m.error() else None)(
                member.poll(0.5)), TIMEOUT_S, "no error joining a group READ is denied on")
            assert error.code() == KafkaError.GROUP_AUTHORIZATION_FAILED
        finally:
            member.close()

        # ACL changes need ALTER on the cluster.
        create_acls(b.bootstrap, [
            acl(ResourceType.BROKER, "kafka-cluster", ANONYMOUS, AclOperation.ALTER, AclPermissionType.DENY)])
        [future] = admin(b.bootstrap).create_acls(
            [acl(ResourceType.TOPIC, "open", ANONYMOUS, AclOperation.ALL, AclPermissionType.DENY)],
            request_timeout=TIMEOUT_S).values()
        with pytest.raises(KafkaException) as info:
            future.result(timeout=TIMEOUT_S)
        assert info.value.args[0].code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED


def test_a_super_user_passes_every_acl(request, tmp_path):
    with authorized(request, tmp_path, super_users=ANONYMOUS, allow_everyone_if_no_acl_found="false") as b:
        create_topic(b.bootstrap, "guarded", 1)
        create_acls(b.bootstrap, [
            acl(ResourceType.TOPIC, "guarded", ANONYMOUS, AclOperation.ALL, AclPermissionType.DENY)])
        producer = Producer({"bootstrap.servers": b.bootstrap})
        failures: list = []
        producer.produce("guarded", b"v", partition=0, on_delivery=lambda err, _m: failures.append(err))
        assert producer.flush(TIMEOUT_S) == 0
        assert failures == [None]
        assert "guarded" in admin(b.bootstrap).list_topics(timeout=TIMEOUT_S).topics


def test_acls_are_enforced_on_admin_operations_and_transactions(request, tmp_path):
    from confluent_kafka.admin import ConfigResource, NewPartitions, NewTopic

    with authorized(request, tmp_path) as b:
        for topic in ("kept", "fixed"):
            create_topic(b.bootstrap, topic, 1)
        create_acls(b.bootstrap, [
            acl(ResourceType.TOPIC, "kept", ANONYMOUS, AclOperation.DESCRIBE, AclPermissionType.ALLOW),
            acl(ResourceType.TOPIC, "kept", ANONYMOUS, AclOperation.DELETE, AclPermissionType.DENY),
            acl(ResourceType.TOPIC, "fixed", ANONYMOUS, AclOperation.DESCRIBE, AclPermissionType.ALLOW),
            acl(ResourceType.TOPIC, "fixed", ANONYMOUS, AclOperation.ALTER, AclPermissionType.DENY),
            acl(ResourceType.TOPIC, "fixed", ANONYMOUS, AclOperation.DESCRIBE_CONFIGS, AclPermissionType.DENY),
            # CREATE is asked of the cluster first, then of the topic: without the cluster's, the prefixed deny
            # decides.
            acl(ResourceType.BROKER, "kafka-cluster", ANONYMOUS, AclOperation.CREATE, AclPermissionType.DENY),
            acl(ResourceType.TOPIC, "forbidden-", ANONYMOUS, AclOperation.CREATE, AclPermissionType.DENY,
                ResourcePatternType.PREFIXED),
            # DESCRIBE allowed (FindCoordinator asks it), WRITE denied (InitProducerId asks it).
            acl(ResourceType.TRANSACTIONAL_ID, "payments", ANONYMOUS, AclOperation.DESCRIBE, AclPermissionType.ALLOW),
            acl(ResourceType.TRANSACTIONAL_ID, "payments", ANONYMOUS, AclOperation.WRITE, AclPermissionType.DENY),
        ])
        client = admin(b.bootstrap)

        def error_of(future) -> int:
            with pytest.raises(KafkaException) as info:
                future.result(timeout=TIMEOUT_S)
            return info.value.args[0].code()

        # DeleteTopics needs DELETE, CreatePartitions ALTER, DescribeConfigs DESCRIBE_CONFIGS on the topic, and
        # CreateTopics CREATE (here denied by a prefixed ACL); each refused one is left as it was.
        assert error_of(client.delete_topics(["kept"], operation_timeout=10)["kept"]) == \
            KafkaError.TOPIC_AUTHORIZATION_FAILED
        assert error_of(client.create_partitions([NewPartitions("fixed", 3)])["fixed"]) == \
            KafkaError.TOPIC_AUTHORIZATION_FAILED
        resource = ConfigResource(ConfigResource.Type.TOPIC, "fixed")
        assert error_of(client.describe_configs([resource])[resource]) == KafkaError.TOPIC_AUTHORIZATION_FAILED
        assert error_of(client.create_topics([NewTopic("forbidden-x", 1)])["forbidden-x"]) == \
            KafkaError.TOPIC_AUTHORIZATION_FAILED
        client.create_topics([NewTopic("allowed-x", 1)])["allowed-x"].result(timeout=TIMEOUT_S)
        metadata = client.list_topics(timeout=TIMEOUT_S)
        assert {"kept", "fixed", "allowed-x"} <= set(metadata.topics) and "forbidden-x" not in metadata.topics
        assert len(metadata.topics["fixed"].partitions) == 1

        # A transactional producer needs WRITE on its transactional id (InitProducerId refuses it); another id is
        # free to commit a transaction.
        refused = Producer({"bootstrap.servers": b.bootstrap, "transactional.id": "payments"})
        with pytest.raises(KafkaException) as info:
            refused.init_transactions(TIMEOUT_S)
        assert info.value.args[0].code() == KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
        allowed = Producer({"bootstrap.servers": b.bootstrap, "transactional.id": "orders"})
        allowed.init_transactions(TIMEOUT_S)
        allowed.begin_transaction()
        allowed.produce("allowed-x", b"in a transaction", partition=0)
        allowed.commit_transaction(TIMEOUT_S)
