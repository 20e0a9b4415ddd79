import NIOCore
import Testing

@testable import KafkaRecords

@Suite struct RecordBatchPatchTests {
    @Test(arguments: CompressionCodec.allCases)
    func patchingOffsetAndEpochKeepsCRC(compression: CompressionCodec) throws {
        var batch = try Sample.batch(Sample.records(count: 10), compression: compression)
        let crcBefore = batch.crc
        batch.setBaseOffset(123_456_789_012)
        batch.setPartitionLeaderEpoch(17)
        #expect(batch.crc == crcBefore)
        try batch.validate()
        #expect(batch.baseOffset == 123_456_789_012)
        #expect(batch.partitionLeaderEpoch == 17)
        #expect(try batch.records().map(\.offset) == (0..<10).map { 123_456_789_012 + Int64($0) })
    }

    @Test(arguments: CompressionCodec.allCases)
    func logAppendTimeStampingProducesValidCRC(compression: CompressionCodec) throws {
        var batch = try Sample.batch(Sample.records(count: 10), compression: compression)
        batch.stampLogAppendTime(1_800_000_000_000)
        try batch.validate()
        #expect(batch.timestampType == .logAppendTime)
        #expect(batch.maxTimestamp == 1_800_000_000_000)
        #expect(batch.compression == compression)
        #expect(try batch.records().allSatisfy { $0.timestamp == 1_800_000_000_000 })
    }

    @Test func setMaxTimestampRecomputesCRC() throws {
        var batch = try Sample.batch(Sample.records(count: 2))
        batch.setMaxTimestamp(42)
        try batch.validate()
        #expect(batch.maxTimestamp == 42)
    }

    @Test func patchingASliceOfALargerBuffer() throws {
        var blob = ByteBuffer(string: "prefix")
        blob.moveReaderIndex(forwardBy: 6)
        try RecordBatchBuilder().build(into: &blob)
        var batch = try RecordBatchSequence(blob, mode: .produce).batches()[0]
        batch.setBaseOffset(5)
        batch.stampLogAppendTime(9)
        try batch.validate()
        #expect(batch.baseOffset == 5)
    }

    @Test func corruptedByteFailsCRC() throws {
        let original = try Sample.batch(Sample.records(count: 5))
        // Every byte from attributes to the end is covered by the CRC.
        for position in stride(from: RecordBatch.Offset.attributes, to: original.sizeInBytes, by: 3) {
            var bytes = original.buffer
            bytes.setInteger(bytes.getInteger(at: position, as: UInt8.self)! ^ 0x40, at: position)
            let corrupted = try RecordBatch(buffer: bytes)
            #expect(!corrupted.isCRCValid)
            #expect { try corrupted.validate() } throws: { error in
                let code = (error as? RecordBatchError)?.code
                // Flipping a compression bit may be caught as an unknown codec before the CRC.
                return code == .crcMismatch || code == .unsupportedCompression
            }
        }
        var crcByte = original.buffer
        crcByte.setInteger(crcByte.getInteger(at: 18, as: UInt8.self)! ^ 1, at: 18)
        #expect { try RecordBatch(buffer: crcByte).validate() } throws: {
            ($0 as? RecordBatchError)?.code == .crcMismatch
        }
    }
}
