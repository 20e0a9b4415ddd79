import Dispatch
import FjordTestSupport
import Foundation
import KafkaProtocol
import KafkaRecords
import NIOConcurrencyHelpers
import NIOCore
import Testing

@testable import FjordStorage

@Suite struct ConcurrencyTests {
    /// Flow: 1. one thread appends 1,500 batches whose record values name their own offsets; 2. three threads read
    /// at random offsets meanwhile, bounded by the log end they saw; 3. every read returns whole CRC-valid batches
    /// with consecutive offsets and the right contents, never bytes past the published end. The appender waits at
    /// a few points until the readers have made progress, so reads overlap appends however the (possibly loaded)
    /// machine schedules the threads.
    @Test func readsRunConcurrentlyWithAppendsAndSeeOnlyCompleteBatches() throws {
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var configuration = LogConfiguration()
        configuration.segmentBytesMax = 16 * 1024
        configuration.indexIntervalBytes = 512
        let log = try PartitionLog(
            directory: directory, topicPartition: TopicPartition("c", 0), topicID: KafkaUUIDFixture.id,
            configuration: configuration
        )
        let done = NIOLockedValueBox(false)
        let failures = NIOLockedValueBox([String]())
        let reads = NIOLockedValueBox(0)
        // Threads of their own (not a pool sized to the cores), so readers really run while the appender does.
        let finished = DispatchGroup()
        @Sendable func work(_ worker: Int) {
            if worker == 0 {
                defer { done.withLockedValue { $0 = true } }
                for index in 0..<1_500 {
                    if index > 0, index % 300 == 0 {
                        // Checkpoints at 300, 600, ...: 3 more reads each, so at least 12 happen between appends.
                        let goal = index / 300 * 3
                        let deadline = ContinuousClock.now + .seconds(60)
                        while reads.withLockedValue({ $0 }) < goal, ContinuousClock.now < deadline { usleep(1000) }
                    }
                    var builder = RecordBatchBuilder()
                    let next = log.logEndOffset
                    for record in 0..<(1 + index % 7) {
                        builder.append(
                            timestamp: 1_000 + Int64(index), key: nil,
                            value: ByteBuffer(string: "o\(next + Int64(record))"))
                    }
                    do { _ = try log.append(try builder.build().buffer, leaderEpoch: 0) } catch {
                        failures.withLockedValue { $0.append("append: \(error)") }
                    }
                }
                return
            }
            var random = SeededGenerator(seed: UInt64(worker))
            while !done.withLockedValue({ $0 }) {
                let end = log.logEndOffset
                guard end > 0 else { continue }
                let offset = Int64(random.next(below: Int(end)))
                do {
                    let result = try log.read(from: offset, maximumBytes: 1 + random.next(below: 8192), upperBound: end)
                    let slice = try #require(result.slice)
                    let bytes = try log.bytes(of: slice)
                    var sequence = RecordBatchSequence(bytes, mode: .fetch).makeIterator()
                    var expected: Int64?
                    while let batch = try sequence.next() {
                        guard batch.isCRCValid else { throw LogError(.corrupt, "CRC at \(batch.baseOffset)") }
                        if let expected, batch.baseOffset != expected {
                            throw LogError(.corrupt, "gap before \(batch.baseOffset)")
                        }
                        for record in try batch.records() where String(buffer: record.value!) != "o\(record.offset)" {
                            throw LogError(.corrupt, "record \(record.offset) holds \(String(buffer: record.value!))")
                        }
                        guard batch.lastOffset < end else { throw LogError(.corrupt, "read past the bound \(end)") }
                        expected = batch.nextOffset
                    }
                    guard sequence.trailingPartialBytes == 0, expected != nil else {
                        throw LogError(.corrupt, "partial batch")
                    }
                    reads.withLockedValue { $0 += 1 }
                } catch {
                    failures.withLockedValue { $0.append("read at \(offset): \(error)") }
                }
            }
        }
        for worker in 0..<4 {
            finished.enter()
            Thread {
                work(worker)
                finished.leave()
            }.start()
        }
        finished.wait()
        #expect(failures.withLockedValue { $0 }.isEmpty, "\(failures.withLockedValue { $0.prefix(5) })")
        #expect(reads.withLockedValue { $0 } > 10)
        #expect(log.segmentCount > 3)
        try log.close()
        try LogChecks.checkFolder(directory)
    }

    /// Flow: 1. build one partition of 3 segments and copy its folder to 2,000 partitions, with a clean-shutdown
    /// marker; 2. open the data folder with a file cache of 128; 3. the open is fast, reads no sealed segment, and
    /// the process's descriptors stay bounded; 4. reads from 400 partitions' oldest segments load them lazily and
    /// still keep descriptors bounded; 5. a slice's file still duplicates for sendfile after being evicted.
    @Test func thousandsOfPartitionsOpenLazilyWithBoundedDescriptors() throws {
        let root = StorageFixtures.temporaryDirectory()
        defer {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: root + "/data")) ?? [] {
                LogManager.removeTree(root + "/data/" + name)
            }
            try? FileManager.default.removeItem(atPath: root)
        }
        var configuration = LogConfiguration()
        configuration.segmentIndexBytesMax = 4096
        configuration.indexIntervalBytes = 64
        let template = root + "/template"
        let seedLog = try PartitionLog(
            directory: template, topicPartition: TopicPartition("lazy", 0), topicID: KafkaUUIDFixture.id,
            configuration: configuration
        )
        for segment in 0..<3 {
            for index in 0..<4 {
                _ = try seedLog.append(StorageFixtures.batch(count: 5, prefix: "s\(segment)i\(index)"), leaderEpoch: -1)
            }
            if segment < 2 { try seedLog.roll() }
        }
        try seedLog.close()
        let data = root + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let partitions = 2_000
        let copyStarted = ContinuousClock.now
        // Plain POSIX writes: Foundation's copyItem takes ~15 ms per folder here.
        let files = try FileManager.default.contentsOfDirectory(atPath: template).map { name in
            (name, [UInt8](try Data(contentsOf: URL(fileURLWithPath: template + "/" + name))))
        }
        for partition in 0..<partitions {
            let folder = data + "/lazy-\(partition)"
            mkdir(folder, 0o755)
            for (name, bytes) in files {
                let descriptor = open(folder + "/" + name, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
                close(descriptor)
            }
        }
        print("copied \(partitions) partition folders in \(ContinuousClock.now - copyStarted)")
        _ = FileManager.default.createFile(atPath: data + "/" + LogManager.cleanShutdownMarker, contents: Data())

        // Without the bound, the 2,000 active segments alone would hold 2,000+ descriptors.
        let cache = SegmentFileCache(maximumOpenFiles: 128)
        let manager = LogManager(dataDirectories: [data], clock: ManualClock(), fileCache: cache)
        let started = ContinuousClock.now
        let logs = try manager.loadExisting { _ in configuration }
        let elapsed = ContinuousClock.now - started
        print(
            "opened \(partitions) partitions × 3 segments in \(elapsed), \(LogChecks.openDescriptorCount(under: data)) descriptors"
        )
        #expect(logs.count == partitions)
        #expect(manager.previousShutdownWasClean)
        // About 1.5 s here; the bound only catches pathological opens (what is read is checked just below), with
        // room for a loaded CI machine running other suites at the same time.
        #expect(elapsed < .seconds(60))
        #expect(logs.values.allSatisfy { $0.loadedSegmentCount == 1 && $0.recoveryReport.lazySegments == 2 })
        #expect(logs.values.allSatisfy { $0.logEndOffset == 60 })
        #expect(cache.openFileCount <= 128)
        // The cache's bound, plus the data folder's lock and directory handles.
        #expect(LogChecks.openDescriptorCount(under: data) <= 128 + 4)

        let first = try #require(logs[TopicPartition("lazy", 0)])
        let slice = try #require(try first.read(from: 0, maximumBytes: 1 << 20, upperBound: 60).slice)
        for partition in stride(from: 0, to: partitions, by: 5) {
            let log = try #require(logs[TopicPartition("lazy", Int32(partition))])
            let result = try log.read(from: Int64(partition % 20), maximumBytes: 1 << 20, upperBound: 60)
            let records = try StorageFixtures.records(try log.bytes(of: try #require(result.slice)))
            #expect(records.first?.offset == Int64(partition % 20 / 5 * 5))
            #expect(String(buffer: records.first!.value!) == "s0i\(partition % 20 / 5)-0")
        }
        #expect(cache.openFileCount <= 128)
        // The cache's bound, plus the data folder's lock and directory handles.
        #expect(LogChecks.openDescriptorCount(under: data) <= 128 + 4)
        #expect(!slice.file.isOpen || cache.openFileCount <= 128)
        let handle = try slice.file.duplicateHandle()
        let readBack = try handle.withUnsafeFileDescriptor { descriptor -> [UInt8] in
            var bytes = [UInt8](repeating: 0, count: 8)
            _ = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, 8, off_t(slice.position)) }
            return bytes
        }
        try handle.close()
        #expect(readBack == [0, 0, 0, 0, 0, 0, 0, 0])  // base offset 0 of the first batch
        print("test body done in \(ContinuousClock.now - started)")
        // No shutdown: it would fsync 2,000 freshly copied folders, which tests nothing here and takes long.
    }

    /// Flow: 1. a cache of 4 descriptors; 2. write 12 files; 3. at most 4 stay open, and every file still reads.
    @Test func segmentFileCacheEvictsLeastRecentlyUsed() throws {
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cache = SegmentFileCache(maximumOpenFiles: 4)
        var files = [SegmentFile]()
        for index in 0..<12 {
            let file = try SegmentFile(path: directory + "/f\(index)", create: true, cache: cache)
            try file.write(ByteBuffer(string: "file \(index)"), at: 0)
            files.append(file)
            #expect(cache.openFileCount <= 4)
        }
        for (index, file) in files.enumerated() {
            #expect(String(buffer: try file.read(at: 0, length: 100)) == "file \(index)")
            #expect(cache.openFileCount <= 4)
        }
        #expect(files.filter(\.isOpen).count <= 4)
        files.removeAll()
        #expect(cache.openFileCount == 0)
    }
}
