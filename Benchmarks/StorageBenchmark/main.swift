// fjord-storage-bench: PartitionLog append/read/lookup throughput beside the raw sequential rate of the same disk,
// measured in the same run (plain pwrite/pread of the same byte count to a file in the same folder).
//
//   swift build -c release --product fjord-storage-bench
//   .build/release/fjord-storage-bench [--dir <folder on the disk to test>] [--megabytes 256] [--repeat 3]
//
// Not part of `make test`; it prints a Markdown table and decides nothing.
import FjordStorage
import KafkaProtocol
import KafkaRecords
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

struct Options {
    var directory = "./.fjord-storage-bench"
    var megabytes = 256
    var repetitions = 3

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--dir": directory = iterator.next() ?? directory
            case "--megabytes": megabytes = iterator.next().flatMap(Int.init) ?? megabytes
            case "--repeat": repetitions = iterator.next().flatMap(Int.init) ?? repetitions
            default:
                print("usage: fjord-storage-bench [--dir folder] [--megabytes n] [--repeat n]")
                exit(2)
            }
        }
    }
}

func now() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

func removeTree(_ path: String) {
    if let handle = opendir(path) {
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != ".", name != ".." { unlink(path + "/" + name) }
        }
        closedir(handle)
    }
    rmdir(path)
}

/// One batch of about `size` bytes: 1 KiB records (fewer for small batches), uncompressed, random-ish values.
func makeBatch(size: Int) -> ByteBuffer {
    var builder = RecordBatchBuilder()
    let recordSize = min(size - 80, 1000)
    var state: UInt64 = 0x1234_5678
    var appended = 61
    while appended + recordSize + 20 <= size || builder.recordCount == 0 {
        var value = ByteBuffer()
        for _ in 0..<(recordSize / 8) {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            value.writeInteger(state)
        }
        builder.append(timestamp: 1_700_000_000_000 + Int64(builder.recordCount), key: nil, value: value)
        appended += recordSize + 20
    }
    return try! builder.build().buffer
}

/// Sequential pwrite of `count` copies of `buffer` to a new file; optionally fsync at the end. Seconds.
func rawWrite(path: String, buffer: ByteBuffer, count: Int, sync: Bool) -> Double {
    let descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o644)
    precondition(descriptor >= 0, "open \(path)")
    let start = now()
    var position: off_t = 0
    buffer.withUnsafeReadableBytes { bytes in
        for _ in 0..<count {
            var done = 0
            while done < bytes.count {
                let written = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, position + off_t(done))
                precondition(written > 0, "pwrite")
                done += written
            }
            position += off_t(bytes.count)
        }
    }
    if sync { fsync(descriptor) }
    let elapsed = now() - start
    close(descriptor)
    return elapsed
}

/// Sequential pread of the whole file in 1 MiB chunks. Seconds.
func rawRead(path: String) -> Double {
    let descriptor = open(path, O_RDONLY)
    var buffer = [UInt8](repeating: 0, count: 1 << 20)
    let start = now()
    var position: off_t = 0
    while true {
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, position) }
        if count <= 0 { break }
        position += off_t(count)
    }
    let elapsed = now() - start
    close(descriptor)
    return elapsed
}

func openLog(_ directory: String) -> PartitionLog {
    try! PartitionLog(
        directory: directory, topicPartition: TopicPartition("bench", 0), topicID: .zero,
        configuration: LogConfiguration()
    )
}

/// Appends `count` copies of `batch`; optionally flushes at the end. Seconds.
func logAppend(directory: String, batch: ByteBuffer, count: Int, sync: Bool) -> Double {
    removeTree(directory)
    let log = openLog(directory)
    let start = now()
    for _ in 0..<count { _ = try! log.append(batch, leaderEpoch: 0) }
    if sync { try! log.flush() }
    let elapsed = now() - start
    try! log.close()
    return elapsed
}

/// Reads the whole log into memory through `read` slices of up to 1 MiB. Seconds.
func logRead(directory: String) -> Double {
    let log = openLog(directory)
    let end = log.logEndOffset
    let start = now()
    var offset: Int64 = 0
    var buffer = ByteBuffer()
    while offset < end {
        let result = try! log.read(from: offset, maximumBytes: 1 << 20, upperBound: end)
        let slice = result.slice!
        buffer = try! log.bytes(of: slice)
        // The next batch starts after the last one returned.
        var last = RecordBatchSequence(buffer, mode: .fetch).makeIterator()
        var next = offset
        while let batch = try! last.next() { next = batch.nextOffset }
        offset = next
    }
    let elapsed = now() - start
    try! log.close()
    return elapsed
}

/// Average microseconds of offset lookups (locate the batch of a random offset) and timestamp lookups (a random
/// timestamp of the log: time index, header scan, then decoding one batch's records).
func lookups(directory: String, samples: Int) -> (offset: Double, timestamp: Double) {
    let log = openLog(directory)
    let end = log.logEndOffset
    var state: UInt64 = 42
    func random(_ bound: Int64) -> Int64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int64((state >> 11) % UInt64(bound))
    }
    var start = now()
    for _ in 0..<samples { _ = try! log.read(from: random(end), maximumBytes: 1, upperBound: end) }
    let offsetMicros = (now() - start) / Double(samples) * 1e6
    start = now()
    for _ in 0..<samples { _ = try! log.offset(forTimestamp: 1_700_000_000_000 + random(end / 16 * 16)) }
    let timestampMicros = (now() - start) / Double(samples) * 1e6
    try! log.close()
    return (offsetMicros, timestampMicros)
}

let options = Options(CommandLine.arguments)
mkdir(options.directory, 0o755)
let totalBytes = options.megabytes << 20
let rawPath = options.directory + "/raw.bin"
let logDirectory = options.directory + "/bench-0"
func rate(_ seconds: Double) -> Double { Double(totalBytes) / seconds / 1e6 }
func format(_ value: Double) -> String { String(Int(value.rounded())) }
func percent(_ value: Double) -> String { String(Int((value * 100).rounded())) + "%" }
func fixed2(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    let fraction = hundredths % 100
    return "\(hundredths / 100)." + (fraction < 10 ? "0" : "") + "\(fraction)"
}

print(
    "fjord-storage-bench: \(options.megabytes) MiB per run, median of \(options.repetitions), folder \(options.directory)"
)
print("")
print(
    "| batch | log append MB/s | raw write MB/s | append/raw | log append+fsync MB/s | raw write+fsync MB/s | append/raw (fsync) |"
)
print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
var lastBatchSize = 0
for size in [1 << 10, 16 << 10, 1 << 20] {
    let batch = makeBatch(size: size)
    let count = totalBytes / batch.readableBytes
    var results: [String: [Double]] = [:]
    for _ in 0..<options.repetitions {
        results["raw", default: []].append(rawWrite(path: rawPath, buffer: batch, count: count, sync: false))
        results["log", default: []].append(logAppend(directory: logDirectory, batch: batch, count: count, sync: false))
        results["rawSync", default: []].append(rawWrite(path: rawPath, buffer: batch, count: count, sync: true))
        results["logSync", default: []].append(
            logAppend(directory: logDirectory, batch: batch, count: count, sync: true))
    }
    let log = rate(median(results["log"]!))
    let raw = rate(median(results["raw"]!))
    let logSync = rate(median(results["logSync"]!))
    let rawSync = rate(median(results["rawSync"]!))
    print(
        "| \(size >> 10) KiB (\(batch.readableBytes) B) | \(format(log)) | \(format(raw)) | \(percent(log / raw)) | \(format(logSync)) | \(format(rawSync)) | \(percent(logSync / rawSync)) |"
    )
    lastBatchSize = size
}

// Reads and lookups over a log of 16 KiB batches whose timestamps grow (16 per batch, as a producer's would).
let batch = makeBatch(size: 16 << 10)
let count = totalBytes / batch.readableBytes
_ = rawWrite(path: rawPath, buffer: batch, count: count, sync: false)
do {
    removeTree(logDirectory)
    let log = openLog(logDirectory)
    var patched = batch
    for index in 0..<count {
        let first = 1_700_000_000_000 + Int64(index) * 16
        patched.setInteger(first, at: patched.readerIndex + 27)  // baseTimestamp; the CRC is redone below
        var view = try! RecordBatch(buffer: patched)
        view.setMaxTimestamp(first + 15)
        patched = view.buffer
        _ = try! log.append(patched, leaderEpoch: 0)
    }
    try! log.close()
}
var logReads = [Double]()
var rawReads = [Double]()
for _ in 0..<options.repetitions {
    logReads.append(logRead(directory: logDirectory))
    rawReads.append(rawRead(path: rawPath))
}
print("")
print("| read (page cache, 16 KiB batches) | log MB/s | raw MB/s | log/raw |")
print("| --- | ---: | ---: | ---: |")
print(
    "| sequential, 1 MiB reads into memory | \(format(rate(median(logReads)))) | \(format(rate(median(rawReads)))) | \(percent(median(rawReads) / median(logReads))) |"
)
let lookup = lookups(directory: logDirectory, samples: 20_000)
print("")
print("| lookup (\(count) batches, 1 segment) | µs per lookup |")
print("| --- | ---: |")
print("| offset → batch position (index + scan) | \(fixed2(lookup.offset)) |")
print("| timestamp → first offset (time index + scan + decode) | \(fixed2(lookup.timestamp)) |")
removeTree(logDirectory)
unlink(rawPath)
rmdir(options.directory)
_ = lastBatchSize
