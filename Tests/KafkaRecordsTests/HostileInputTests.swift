import FjordTestSupport
import Foundation
import NIOCore
import Testing

@testable import KafkaRecords

@Suite struct HostileInputTests {
    @Test func truncatedBatchesThrow() throws {
        let batch = try Sample.batch(Sample.records(count: 8))
        for length in 0..<batch.sizeInBytes {
            let prefix = batch.buffer.getSlice(at: 0, length: length)!
            #expect(throws: RecordBatchError.self, "prefix of \(length) bytes") {
                let view = try RecordBatch(buffer: prefix)
                try view.validate()
            }
            #expect(throws: RecordBatchError.self) {
                _ = try RecordBatchSequence(prefix, mode: .produce).batches()
            }
            // Fetch mode stops quietly at the partial batch.
            var iterator = RecordBatchSequence(prefix, mode: .fetch).makeIterator()
            if length >= 17 {
                #expect(try iterator.next() == nil)
                #expect(iterator.trailingPartialBytes == length)
            }
        }
    }

    @Test func fetchModeReturnsCompleteBatchesBeforeAPartialOne() throws {
        var blob = ByteBuffer()
        blob.writeImmutableBuffer(try Sample.batch(Sample.records(count: 2)).buffer)
        let second = try Sample.batch(Sample.records(count: 4))
        blob.writeImmutableBuffer(second.buffer.getSlice(at: 0, length: 30)!)
        var iterator = RecordBatchSequence(blob, mode: .fetch).makeIterator()
        #expect(try iterator.next()?.recordCount == 2)
        #expect(try iterator.next() == nil)
        #expect(iterator.trailingPartialBytes == 30)
        #expect(throws: RecordBatchError.self) { try RecordBatchSequence(blob, mode: .produce).batches() }
    }

    @Test func garbageThrows() {
        var generator = SeededGenerator(seed: 1)
        for size in [0, 1, 12, 17, 60, 61, 62, 200, 5000] {
            let bytes = ByteBuffer(bytes: (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) })
            #expect(throws: RecordBatchError.self) { try RecordBatchSequence(bytes, mode: .produce).batches() }
        }
    }

    @Test func hugeDeclaredCountsAndLengthsThrowWithoutAllocating() throws {
        var batch = try Sample.batch(Sample.records(count: 1))
        var bytes = batch.buffer
        bytes.setInteger(Int32.max, at: RecordBatch.Offset.recordCount)
        batch = try RecordBatch(buffer: bytes)
        #expect(throws: RecordBatchError.self) { try batch.records() }
        bytes.setInteger(Int32.max, at: RecordBatch.Offset.lastOffsetDelta)
        batch = try RecordBatch(buffer: bytes)
        batch.updateCRC()
        #expect { try batch.validate() } throws: { ($0 as? RecordBatchError)?.code == .invalidRecordCount }

        // A record whose length varint claims 2 GiB.
        var builder = RecordBatchBuilder()
        builder.append(timestamp: 0, key: nil, value: nil)
        var tiny = try builder.build().buffer
        tiny.setBytes([0xFE, 0xFF, 0xFF, 0xFF, 0x0F], at: RecordBatch.headerSize)
        #expect { try RecordBatch(buffer: tiny).records() } throws: {
            ($0 as? RecordBatchError)?.code == .invalidRecord
        }
    }

    @Test func headerChecksNameTheProblem() throws {
        let original = try Sample.batch(Sample.records(count: 3)).buffer
        func code(_ patch: (inout ByteBuffer) -> Void) throws -> RecordBatchError.Code? {
            var bytes = original
            patch(&bytes)
            var batch = try RecordBatch(buffer: bytes)
            batch.updateCRC()
            do {
                try batch.validate()
                return nil
            } catch {
                return error.code
            }
        }
        #expect(try code { $0.setInteger(Int8(1), at: RecordBatch.Offset.magic) } == .unsupportedMagic)
        #expect(try code { $0.setInteger(Int16(5), at: RecordBatch.Offset.attributes) } == .unsupportedCompression)
        #expect(try code { $0.setInteger(Int32(1000), at: RecordBatch.Offset.batchLength) } == .invalidLength)
        #expect(try code { $0.setInteger(Int32(-1), at: RecordBatch.Offset.recordCount) } == .invalidRecordCount)
        #expect(try code { $0.setInteger(Int32(1), at: RecordBatch.Offset.lastOffsetDelta) } == .invalidRecordCount)
        #expect(try code { _ in } == nil)
        // Declaring fewer records than present is caught when decoding.
        var fewer = original
        fewer.setInteger(Int32(2), at: RecordBatch.Offset.recordCount)
        #expect { try RecordBatch(buffer: fewer).records() } throws: {
            ($0 as? RecordBatchError)?.code == .invalidRecordCount
        }
    }

    @Test func zipBombHitsTheLimit() throws {
        var options = RecordBatchBuilder.Options()
        options.compression = .zstd
        var builder = RecordBatchBuilder(options: options)
        builder.append(timestamp: 0, key: nil, value: ByteBuffer(repeating: 0, count: 4 << 20))
        let batch = try builder.build()
        #expect(batch.sizeInBytes < 4096)
        #expect { try batch.records(maxDecompressedBytes: 1 << 20) } throws: {
            ($0 as? RecordBatchError)?.code == .decompressedSizeLimitExceeded
        }
        #expect(try batch.records(maxDecompressedBytes: 8 << 20).count == 1)
    }

    /// Mutates valid batches at random (bit flips, byte stores, truncation, splices) and decodes the result in every
    /// way the broker and client do. Nothing may trap; errors are fine. `FUZZ_SEED=n` replays a run.
    @Test func seededMutationFuzz() throws {
        let seed =
            ProcessInfo.processInfo.environment["FUZZ_SEED"].flatMap(UInt64.init)
            ?? UInt64(Date().timeIntervalSince1970)
        print("HostileInputTests.seededMutationFuzz seed=\(seed) (replay with FUZZ_SEED=\(seed))")
        var generator = SeededGenerator(seed: seed)
        let originals = try CompressionCodec.allCases.map { codec in
            try Sample.batch(Sample.records(count: 6, seed: seed), compression: codec).buffer
        }
        var accepted = 0
        for _ in 0..<4000 {
            var bytes = Array(originals.randomElement(using: &generator)!.readableBytesView)
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                mutate(&bytes, using: &generator)
            }
            let buffer = ByteBuffer(bytes: bytes)
            if let batches = try? RecordBatchSequence(buffer, mode: .produce).batches() {
                accepted += 1
                for batch in batches {
                    _ = try? batch.records(maxDecompressedBytes: 1 << 20)
                }
            }
            // Skip validation entirely (as a careless consumer would): decoding must still be safe.
            if let batches = try? RecordBatchSequence(buffer, mode: .fetch).batches() {
                for batch in batches {
                    _ = try? batch.records(maxDecompressedBytes: 1 << 20)
                }
            }
            if let batch = try? RecordBatch(buffer: buffer) {
                _ = try? batch.records(maxDecompressedBytes: 1 << 20)
            }
        }
        print("HostileInputTests.seededMutationFuzz: \(accepted) of 4000 mutants passed produce validation")
    }

    private func mutate(_ bytes: inout [UInt8], using generator: inout SeededGenerator) {
        guard !bytes.isEmpty else {
            bytes.append(UInt8.random(in: 0...255, using: &generator))
            return
        }
        let position = Int.random(in: 0..<bytes.count, using: &generator)
        switch Int.random(in: 0..<6, using: &generator) {
        case 0: bytes[position] ^= 1 << UInt8.random(in: 0..<8, using: &generator)
        case 1: bytes[position] = [0x00, 0x01, 0x7F, 0x80, 0xFF].randomElement(using: &generator)!
        case 2: bytes.removeSubrange(position...)
        case 3:
            let count = Int.random(in: 1...8, using: &generator)
            let inserted = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            bytes.insert(contentsOf: inserted, at: position)
        case 4: bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...8, using: &generator)))
        default:
            // Change a byte inside the records section, then fix up the CRC so decoding gets past validation.
            bytes[position] = UInt8.random(in: 0...255, using: &generator)
            if bytes.count >= RecordBatch.headerSize {
                let crc = CRC32C.checksum(Array(bytes[RecordBatch.Offset.attributes...]))
                withUnsafeBytes(of: crc.bigEndian) { bytes.replaceSubrange(17..<21, with: $0) }
            }
        }
    }
}
