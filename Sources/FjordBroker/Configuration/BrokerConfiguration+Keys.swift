extension BrokerConfiguration {
    /// What a property's value must look like.
    enum ValueKind: Sendable {
        case int, long, bool, double, string, list, listenerList, roles, metricsListener

        func validate(_ value: String, key: String) throws(ConfigurationError) {
            switch self {
            case .int:
                guard Int32(value) != nil else {
                    throw ConfigurationError(key: key, "'\(value)' is not a 32-bit integer")
                }
            case .long:
                guard Int64(value) != nil else {
                    throw ConfigurationError(key: key, "'\(value)' is not a 64-bit integer")
                }
            case .bool:
                guard ["true", "false"].contains(value.lowercased()) else {
                    throw ConfigurationError(key: key, "'\(value)' is not true or false")
                }
            case .double:
                guard Double(value) != nil else { throw ConfigurationError(key: key, "'\(value)' is not a number") }
            case .string, .list: break
            case .listenerList: _ = try Listener.parseList(value, key: key)
            case .metricsListener: _ = try Listener.parseMetrics(value, key: key)
            case .roles: _ = try ProcessRole.parseList(value, key: key)
            }
        }
    }

    /// Every key `fjord broker` accepts: the ones it acts on and the common keys of a Kafka KRaft
    /// `server.properties`, so such a file loads without edits.
    static let knownKeys: [String: ValueKind] = [
        "node.id": .int, "broker.id": .int, "process.roles": .roles,
        "listeners": .listenerList, "advertised.listeners": .listenerList,
        "listener.security.protocol.map": .list, "inter.broker.listener.name": .string,
        "controller.listener.names": .list, "controller.quorum.voters": .list,
        "sasl.enabled.mechanisms": .list, "sasl.mechanism.inter.broker.protocol": .string,
        "sasl.mechanism.controller.protocol": .string, "connections.max.reauth.ms": .long,
        "connection.failed.authentication.delay.ms": .int, "sasl.server.max.receive.size": .int,
        "quota.window.num": .int, "quota.window.size.seconds": .int,
        "controller.quorum.bootstrap.servers": .list,
        "controller.quorum.election.timeout.ms": .int, "controller.quorum.election.backoff.max.ms": .int,
        "controller.quorum.fetch.timeout.ms": .int, "controller.quorum.request.timeout.ms": .int,
        "controller.quorum.retry.backoff.ms": .int, "broker.session.timeout.ms": .int,
        "broker.heartbeat.interval.ms": .int, "metadata.log.max.record.bytes.between.snapshots": .long,
        "metadata.log.max.snapshot.interval.ms": .long,
        "log.dirs": .list, "log.dir": .string, "metadata.log.dir": .string,
        "socket.request.max.bytes": .int, "socket.send.buffer.bytes": .int, "socket.receive.buffer.bytes": .int,
        "num.network.threads": .int, "num.io.threads": .int, "num.recovery.threads.per.data.dir": .int,
        "num.partitions": .int, "default.replication.factor": .int, "auto.create.topics.enable": .bool,
        "min.insync.replicas": .int, "delete.topic.enable": .bool,
        "offsets.topic.num.partitions": .int, "offsets.topic.replication.factor": .int,
        "transaction.state.log.replication.factor": .int, "transaction.state.log.min.isr": .int,
        "transaction.state.log.num.partitions": .int, "transaction.state.log.segment.bytes": .int,
        "transaction.max.timeout.ms": .int, "transactional.id.expiration.ms": .int,
        "transaction.abort.timed.out.transaction.cleanup.interval.ms": .int,
        "transaction.partition.verification.enable": .bool,
        "share.coordinator.state.topic.replication.factor": .int, "share.coordinator.state.topic.min.isr": .int,
        "group.initial.rebalance.delay.ms": .int, "group.min.session.timeout.ms": .int,
        "group.max.session.timeout.ms": .int, "group.max.size": .int,
        "group.consumer.session.timeout.ms": .int, "group.consumer.heartbeat.interval.ms": .int,
        "group.consumer.max.size": .int,
        "log.retention.hours": .int, "log.retention.minutes": .int, "log.retention.ms": .long,
        "log.retention.bytes": .long, "log.segment.bytes": .int, "log.roll.ms": .long, "log.roll.hours": .int,
        "log.retention.check.interval.ms": .long, "log.index.interval.bytes": .int, "log.index.size.max.bytes": .int,
        "log.flush.interval.messages": .long, "log.flush.interval.ms": .long, "log.cleanup.policy": .list,
        "log.segment.delete.delay.ms": .long, "message.max.bytes": .int, "compression.type": .string,
        "log.message.timestamp.type": .string, "replica.lag.time.max.ms": .long, "num.replica.fetchers": .int,
        "replication.quota.window.num": .int, "replication.quota.window.size.seconds": .int,
        "leader.replication.throttled.rate": .long, "follower.replication.throttled.rate": .long,
        "offsets.retention.minutes": .int, "unclean.leader.election.enable": .bool,
        "max.incremental.fetch.session.cache.slots": .int, "log.flush.scheduler.interval.ms": .long,
        "log.message.timestamp.before.max.ms": .long, "log.message.timestamp.after.max.ms": .long,
        "log.preallocate": .bool, "log.roll.jitter.ms": .long, "log.cleaner.delete.retention.ms": .long,
        "log.cleaner.min.compaction.lag.ms": .long, "log.cleaner.max.compaction.lag.ms": .long,
        "log.cleaner.min.cleanable.ratio": .double, "log.cleaner.enable": .bool,
        "log.cleaner.backoff.ms": .long, "log.cleaner.dedupe.buffer.size": .long,
        "offsets.topic.segment.bytes": .int, "offsets.retention.check.interval.ms": .long,
        "offset.metadata.max.bytes": .int,
        "auto.leader.rebalance.enable": .bool, "leader.imbalance.check.interval.seconds": .long,
        "leader.imbalance.per.broker.percentage": .int, "unclean.leader.election.interval.ms": .long,
        "replica.high.watermark.checkpoint.interval.ms": .long, "replica.selector.class": .string,
        "broker.rack": .string, "replica.fetch.max.bytes": .int, "replica.fetch.response.max.bytes": .int,
        "replica.fetch.wait.max.ms": .int, "replica.fetch.min.bytes": .int, "replica.fetch.backoff.ms": .int,
        "authorizer.class.name": .string, "super.users": .string, "allow.everyone.if.no.acl.found": .bool,
        // Fjord's own: the Prometheus endpoint.
        "metrics.listener": .metricsListener, "metrics.partition.level": .bool,
    ]

    /// Defaults of the broker keys that are not the broker side of a topic config, as DescribeConfigs on the
    /// broker resource reports them (source DEFAULT_CONFIG unless set in `server.properties`).
    static let defaultValues: [String: String] = [
        "num.partitions": "1", "default.replication.factor": "1", "auto.create.topics.enable": "true",
        "socket.request.max.bytes": "104857600", "delete.topic.enable": "true",
        "offsets.topic.num.partitions": "50", "offsets.topic.replication.factor": "1",
        "transaction.state.log.num.partitions": "50", "transaction.state.log.replication.factor": "1",
        "transaction.max.timeout.ms": "900000", "transactional.id.expiration.ms": "604800000",
        "transaction.abort.timed.out.transaction.cleanup.interval.ms": "10000",
        "transaction.partition.verification.enable": "true",
        "group.initial.rebalance.delay.ms": "3000", "group.min.session.timeout.ms": "6000",
        "group.max.session.timeout.ms": "1800000", "group.max.size": "2147483647", "offsets.retention.minutes": "10080",
        "group.consumer.session.timeout.ms": "45000", "group.consumer.heartbeat.interval.ms": "5000",
        "group.consumer.max.size": "2147483647",
        "log.retention.check.interval.ms": "300000", "log.flush.scheduler.interval.ms": "3000",
        "log.cleaner.enable": "true", "log.cleaner.backoff.ms": "15000", "log.cleaner.dedupe.buffer.size": "134217728",
        "max.incremental.fetch.session.cache.slots": "1000", "process.roles": "broker,controller",
        "metrics.listener": "127.0.0.1:9644", "metrics.partition.level": "false",
        "controller.quorum.election.timeout.ms": "1000", "controller.quorum.election.backoff.max.ms": "1000",
        "controller.quorum.fetch.timeout.ms": "2000", "controller.quorum.request.timeout.ms": "2000",
        "controller.quorum.retry.backoff.ms": "20", "broker.session.timeout.ms": "9000",
        "broker.heartbeat.interval.ms": "2000", "metadata.log.max.record.bytes.between.snapshots": "20971520",
        "metadata.log.max.snapshot.interval.ms": "3600000", "inter.broker.listener.name": "PLAINTEXT",
        "auto.leader.rebalance.enable": "true", "leader.imbalance.check.interval.seconds": "300",
        "leader.imbalance.per.broker.percentage": "10", "unclean.leader.election.interval.ms": "300000",
        "replica.high.watermark.checkpoint.interval.ms": "5000",
        "authorizer.class.name": "", "super.users": "", "allow.everyone.if.no.acl.found": "false",
        "sasl.enabled.mechanisms": "GSSAPI", "sasl.mechanism.inter.broker.protocol": "GSSAPI",
        "sasl.mechanism.controller.protocol": "GSSAPI", "connections.max.reauth.ms": "0",
        "connection.failed.authentication.delay.ms": "100", "sasl.server.max.receive.size": "524288",
        "quota.window.num": "11", "quota.window.size.seconds": "1",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
    ]
}
