import CoreMetrics
import FjordController
import FjordGroups
import FjordStorage
import KafkaProtocol

extension BrokerMetrics {
    /// What a scrape needs to know of one hosted partition.
    struct PartitionSnapshot: Sendable {
        var logStartOffset: Int64
        /// The high watermark: what consumers can reach, so what lag is measured against.
        var highWatermark: Int64
        var sizeBytes: Int64
        var segments: Int
        var isLeader: Bool
        var inSyncReplicas: Int
        var minInsyncReplicas: Int
    }

    /// The group coordinator's side of a scrape.
    struct GroupSnapshot: Sendable {
        /// Committed offset per group and partition.
        var committedOffsets: [String: [TopicPartition: Int64]] = [:]
        var groupCount = 0
        var waitingJoins = 0
        var waitingSyncs = 0
    }

    /// Sets every scrape-time gauge from the broker's current state, then drops series that vanished (deleted
    /// topics, groups without offsets). Call before `render()`.
    func collect(from services: BrokerServices) {
        let image = services.image
        var partitions = [TopicPartition: PartitionSnapshot]()
        for (topicPartition, replica) in services.replicas.allReplicas {
            let partition = image.topic(named: topicPartition.topic)?.partitions.first {
                $0.index == topicPartition.partition
            }
            partitions[topicPartition] = PartitionSnapshot(
                logStartOffset: replica.log.logStartOffset, highWatermark: replica.highWatermark,
                sizeBytes: replica.log.sizeInBytes, segments: replica.log.segmentCount, isLeader: replica.isLeader,
                inSyncReplicas: partition?.inSyncReplicas.count ?? 0,
                minInsyncReplicas: replica.config.minInsyncReplicas
            )
        }
        let groups = services.groups.metricsSnapshot()
        let snapshot = GroupSnapshot(
            committedOffsets: groups.offsets.mapValues { $0.mapValues(\.offset) }, groupCount: groups.groupCount,
            waitingJoins: groups.waitingJoins,
            waitingSyncs: groups.waitingSyncs
        )
        retainTopics(Set(services.image.topicsByName.keys))
        var values = Self.gauges(partitions: partitions, groups: snapshot, partitionLevel: partitionLevel)
        var fractional = [ScrapeSeries: Double]()
        if let quorum = services.metadata.quorum {
            values.merge(quorumGauges(driver: quorum.driver, eventLoop: quorum.eventLoop)) { _, quorum in quorum }
            fractional = Self.commitLatencyGauges(quorum.driver.status.commitLatency)
        }
        publish(values, fractional: fractional)
    }

    /// The scrape-time gauges (pure, so tests can check the lag arithmetic).
    ///
    /// Lag of a group on a topic: the sum over the group's committed partitions of that topic hosted here of
    /// `max(0, high watermark − committed offset)`. Partitions the group never committed are not counted (Kafka's
    /// tools show them without a lag too).
    static func gauges(
        partitions: [TopicPartition: PartitionSnapshot], groups: GroupSnapshot, partitionLevel: Bool
    ) -> [ScrapeSeries: Int64] {
        var values = [ScrapeSeries: Int64]()
        values[ScrapeSeries("fjord_partitions")] = Int64(partitions.count)
        var underMinISR: Int64 = 0
        for (topicPartition, partition) in partitions {
            let topic = ["topic": topicPartition.topic]
            values[ScrapeSeries("fjord_topic_partitions", topic), default: 0] += 1
            values[ScrapeSeries("fjord_topic_log_size_bytes", topic), default: 0] += partition.sizeBytes
            values[ScrapeSeries("fjord_topic_log_segments", topic), default: 0] += Int64(partition.segments)
            if partition.isLeader, partition.inSyncReplicas < partition.minInsyncReplicas { underMinISR += 1 }
            if partitionLevel {
                let labels = ["topic": topicPartition.topic, "partition": String(topicPartition.partition)]
                values[ScrapeSeries("fjord_partition_log_start_offset", labels)] = partition.logStartOffset
                values[ScrapeSeries("fjord_partition_log_end_offset", labels)] = partition.highWatermark
                values[ScrapeSeries("fjord_partition_log_size_bytes", labels)] = partition.sizeBytes
            }
        }
        values[ScrapeSeries("fjord_under_min_isr_partitions")] = underMinISR
        values[ScrapeSeries("fjord_purgatory_size", ["operation": "join"])] = Int64(groups.waitingJoins)
        values[ScrapeSeries("fjord_purgatory_size", ["operation": "sync"])] = Int64(groups.waitingSyncs)
        values[ScrapeSeries("fjord_consumer_groups")] = Int64(groups.groupCount)
        for (group, offsets) in groups.committedOffsets {
            for (key, committed) in offsets where committed >= 0 {
                guard let partition = partitions[TopicPartition(key.topic, key.partition)] else { continue }
                let lag = max(0, partition.highWatermark - committed)
                values[ScrapeSeries("fjord_consumer_group_lag", ["group": group, "topic": key.topic]), default: 0] +=
                    lag
                if partitionLevel {
                    let labels = ["group": group, "topic": key.topic, "partition": String(key.partition)]
                    values[ScrapeSeries("fjord_consumer_group_partition_lag", labels)] = lag
                }
            }
        }
        return values
    }

    /// Sets each gauge (`fractional` ones take a non-integer value), making the ones first seen and destroying the
    /// ones in neither any more.
    func publish(_ values: [ScrapeSeries: Int64], fractional: [ScrapeSeries: Double] = [:]) {
        scrapeState.withLockedValue { gauges in
            func meter(_ series: ScrapeSeries) -> Meter {
                let meter =
                    gauges[series]
                    ?? Meter(
                        label: series.name,
                        dimensions: series.labels.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                        factory: factory
                    )
                gauges[series] = meter
                return meter
            }
            for (series, value) in values { meter(series).set(value) }
            for (series, value) in fractional { meter(series).set(value) }
            for (series, meter) in gauges where values[series] == nil && fractional[series] == nil {
                meter.destroy()
                gauges[series] = nil
            }
        }
    }
}
