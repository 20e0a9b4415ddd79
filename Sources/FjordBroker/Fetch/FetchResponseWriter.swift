import FjordStorage
import KafkaProtocol
import NIOCore

/// Encodes a Fetch response so that record data goes out as file slices (`sendfile`), never copied through
/// user space (DESIGN.md §3.1).
///
/// The top level is written here following the spec (`FetchResponse.json`); each partition's fields come from
/// the generated `PartitionData` encoder with `records` left null, whose encoding is then replaced: `records` is
/// the last regular field of a partition, so a null there is the encoding's last 4 bytes (int32 -1) in classic
/// versions, or the byte before the partition's tagged-field section in flexible ones. Partitions carrying data
/// have no tagged fields set, so that section is a single 0 byte.
struct FetchResponseWriter {
    struct Partition {
        var data: FetchResponse.PartitionData
        var slice: FileSlice?
    }

    struct Topic {
        var name: String
        var topicID: KafkaUUID
        var partitions: [Partition]
    }

    let version: Int16

    var isFlexible: Bool { version >= 12 }

    /// `nodeEndpoints`: the leaders named by NOT_LEADER_OR_FOLLOWER partitions (tagged field 0, v16+).
    func encode(
        throttleTimeMs: Int32 = 0, errorCode: ErrorCode, sessionID: Int32, topics: [Topic],
        nodeEndpoints: [FetchResponse.NodeEndpoint] = []
    ) -> ResponseBody {
        var body = ResponseBody()
        var buffer = ByteBuffer()
        if version >= 1 { buffer.writeInteger(throttleTimeMs) }
        if version >= 7 {
            buffer.writeInteger(errorCode.rawValue)
            buffer.writeInteger(sessionID)
        }
        buffer.writeKafkaArrayCount(topics.count, compact: isFlexible)
        for topic in topics {
            if version >= 13 {
                buffer.writeKafkaUUID(topic.topicID)
            } else {
                buffer.writeKafkaString(topic.name, compact: isFlexible)
            }
            buffer.writeKafkaArrayCount(topic.partitions.count, compact: isFlexible)
            for partition in topic.partitions {
                write(partition, into: &buffer, body: &body)
            }
            if isFlexible { buffer.writeKafkaUnsignedVarint(0) }  // topic tagged fields
        }
        if isFlexible {
            var tagged: [(tag: UInt32, write: (inout ByteBuffer) -> Void)] = []
            if version >= 16, !nodeEndpoints.isEmpty {
                let version = self.version
                tagged.append(
                    (
                        tag: 0,
                        write: { buffer in
                            buffer.writeKafkaArray(nodeEndpoints, compact: true) { endpoint, element in
                                endpoint.write(to: &element, version: version)
                            }
                        }
                    ))
            }
            buffer.writeKafkaTaggedFields(tagged, unknown: [])
        }
        body.append(buffer)
        return body
    }

    private func write(_ partition: Partition, into buffer: inout ByteBuffer, body: inout ResponseBody) {
        guard let slice = partition.slice else {
            var data = partition.data
            data.records = data.records ?? ByteBuffer()  // an empty set, as Kafka sends, not null
            data.write(to: &buffer, version: version)
            return
        }
        var data = partition.data
        data.records = nil
        data.divergingEpoch = .init()
        data.currentLeader = .init()
        data.snapshotID = .init()
        data.unknownTaggedFields = []
        data.write(to: &buffer, version: version)
        // Drop the null records (and, in flexible versions, the empty tagged section after it) ...
        buffer.moveWriterIndex(to: buffer.writerIndex - (isFlexible ? 2 : 4))
        // ... and write the real length, then the file bytes, then the tagged section again.
        if isFlexible {
            buffer.writeKafkaUnsignedVarint(UInt32(slice.length + 1))
        } else {
            buffer.writeInteger(Int32(slice.length))
        }
        body.append(buffer)
        buffer = ByteBuffer()
        body.append(slice)
        if isFlexible { buffer.writeKafkaUnsignedVarint(0) }
    }
}
