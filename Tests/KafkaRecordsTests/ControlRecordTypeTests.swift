import NIOCore
import Testing

@testable import KafkaRecords

/// Control record keys as Kafka writes and reads them, and a control batch built with the builder's option.
@Suite struct ControlRecordTypeTests {
    @Test func keysAreVersionZeroThenTheType() throws {
        let key = ControlRecordType.snapshotHeader.key
        #expect(Array(key.readableBytesView) == [0, 0, 0, 3])
        #expect(try ControlRecordType(parsingKey: ControlRecordType.kraftVoters.key) == .kraftVoters)
        #expect(ControlRecordType.kraftVersion.rawValue == 5)
        #expect(ControlRecordType(rawValue: 42).description == "UNKNOWN(42)")
    }

    @Test func aNewerKeyVersionIsReadByItsFirstFields() throws {
        var key = ByteBuffer()
        key.writeInteger(Int16(3))
        key.writeInteger(Int16(4))
        key.writeInteger(Int32(99))  // a field of a future version
        #expect(try ControlRecordType(parsingKey: key) == .snapshotFooter)
    }

    @Test(arguments: [[UInt8](), [0, 0, 0], [0xFF, 0xFF, 0, 1]])
    func shortOrNegativeKeysAreErrors(bytes: [UInt8]) {
        #expect(throws: RecordBatchError.self) { try ControlRecordType(parsingKey: ByteBuffer(bytes: bytes)) }
        #expect(throws: RecordBatchError.self) { try ControlRecordType(parsingKey: nil) }
    }

    @Test func aControlBatchCarriesItsAttributeAndKeys() throws {
        var options = RecordBatchBuilder.Options()
        options.isControl = true
        options.partitionLeaderEpoch = 7
        var builder = RecordBatchBuilder(options: options)
        builder.append(timestamp: 5, key: ControlRecordType.snapshotHeader.key, value: ByteBuffer(bytes: [0, 0]))
        builder.append(timestamp: 5, key: ControlRecordType.kraftVersion.key, value: ByteBuffer(bytes: [0, 1]))
        let batch = try builder.build()
        try batch.validate()
        #expect(batch.isControl && !batch.isTransactional)
        #expect(batch.partitionLeaderEpoch == 7)
        let types = try batch.records().map { record throws(RecordBatchError) in
            try ControlRecordType(parsingKey: record.key)
        }
        #expect(types == [.snapshotHeader, .kraftVersion])
    }
}
