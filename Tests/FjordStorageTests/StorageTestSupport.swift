import FjordTestSupport
import Foundation
import KafkaRecords
import NIOCore
import Testing

@testable import FjordStorage

enum LogChecks {
    /// Every record of the log from `from`, in offset order.
    static func allRecords(_ log: PartitionLog, from: Int64? = nil) throws -> [Record] {
        var records = [Record]()
        var offset = from ?? log.logStartOffset
        let end = log.logEndOffset
        while offset < end {
            let result = try log.read(from: offset, maximumBytes: 1 << 22, upperBound: end)
            guard let slice = result.slice else { break }
            let batches = try RecordBatchSequence(try log.bytes(of: slice), mode: .fetch).batches()
            for batch in batches {
                #expect(batch.isCRCValid)
                records += try batch.records().filter { $0.offset >= offset }
                offset = batch.nextOffset
            }
        }
        return records
    }

    /// Checks the files of a partition folder: every `.log` is complete CRC-valid batches with increasing offsets
    /// and nothing after them, and every index entry points at the batch it claims.
    static func checkFolder(_ directory: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        var previousEnd: Int64?
        for name in names
        where name.hasSuffix(".log") || name.hasSuffix(".index") || name.hasSuffix(".timeindex")
            || name.hasSuffix(".txnindex")
        {
            let problems = try SegmentInspector.inspect(path: directory + "/" + name, verifyIndex: true).allProblems
            #expect(problems.isEmpty, "\(name): \(problems)", sourceLocation: sourceLocation)
            if name.hasSuffix(".log") {
                let (batches, trailing) = try SegmentInspector.batches(ofLog: directory + "/" + name)
                #expect(trailing == 0, sourceLocation: sourceLocation)
                let allValid = batches.allSatisfy { $0.crcValid }
                #expect(allValid, sourceLocation: sourceLocation)
                if let first = batches.first {
                    #expect(
                        first.batch.baseOffset >= SegmentInspector.baseOffset(ofFile: name),
                        sourceLocation: sourceLocation)
                    if let previousEnd {
                        #expect(first.batch.baseOffset >= previousEnd, sourceLocation: sourceLocation)
                    }
                }
                if let last = batches.last { previousEnd = last.batch.nextOffset }
            }
        }
    }

    /// CRC-32C over every record's key and value, in order (the crash writer's checksum).
    static func contentChecksum(_ records: [Record]) -> UInt32 {
        var checksum: UInt32 = 0
        for record in records {
            if let key = record.key { checksum = CRC32C.update(checksum, key) }
            if let value = record.value { checksum = CRC32C.update(checksum, value) }
        }
        return checksum
    }

    /// Open descriptors of this process on files below `folder` (Linux: the targets of /proc/self/fd). Only
    /// those: other suites run in parallel in the same process and open sockets and files of their own.
    static func openDescriptorCount(under folder: String) -> Int {
        let root = URL(fileURLWithPath: folder).resolvingSymlinksInPath().path + "/"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return entries.count { entry in
            let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + entry)
            return target?.hasPrefix(root) ?? false
        }
    }
}
