// The child process of the storage crash tests (Tests/FjordStorageTests/CrashTests.swift).
//
// Usage: fjord-storage-crash-writer <partition folder> <seed>
//
// Opens the log as after an unclean shutdown (recovering it), prints `START <log end offset>`, then appends batches
// until it is killed, printing `ACK <first offset> <last offset> <checksum>` after each append returns — the bytes
// are then in the kernel, so a SIGKILL must not lose them. The checksum is CRC-32C over every record's key and value,
// in order, so the test can compare content regardless of offsets. every line is written with one unbuffered write(2).
import FjordStorage
import FjordTestSupport
import Glibc
import KafkaProtocol
import KafkaRecords
import NIOCore

/// Writes a line to a descriptor with one `write` call (unbuffered: the line is in the kernel when this returns).
func emit(_ line: String, to descriptor: CInt = 1) {
    var bytes = Array((line + "\n").utf8)
    var done = 0
    while done < bytes.count {
        let written = bytes.withUnsafeMutableBytes { write(descriptor, $0.baseAddress! + done, $0.count - done) }
        if written <= 0 { exit(3) }
        done += written
    }
}

let arguments = CommandLine.arguments
guard arguments.count == 3, let seed = UInt64(arguments[2]) else {
    emit("usage: fjord-storage-crash-writer <partition folder> <seed>", to: 2)
    exit(2)
}
var random = SeededGenerator(seed: seed)
var configuration = LogConfiguration()
configuration.segmentBytesMax = 256 * 1024
configuration.indexIntervalBytes = 1024
configuration.segmentIndexBytesMax = 64 * 1024

let log: PartitionLog
do {
    log = try PartitionLog(
        directory: arguments[1], topicPartition: TopicPartition("crash", 0), topicID: .zero,
        configuration: configuration, cleanShutdown: false
    )
} catch {
    emit("open failed: \(error)", to: 2)
    exit(1)
}
emit("START \(log.logEndOffset)")

let codecs: [CompressionCodec] = [.none, .none, .gzip, .snappy, .lz4, .zstd]
var sequence = 0
while true {
    var buffer = ByteBuffer()
    var checksum: UInt32 = 0
    for _ in 0..<(random.next(below: 4) == 0 ? 2 : 1) {
        var options = RecordBatchBuilder.Options()
        options.compression = codecs[random.next(below: codecs.count)]
        var builder = RecordBatchBuilder(options: options)
        for _ in 0..<(1 + random.next(below: 30)) {
            sequence += 1
            let key = ByteBuffer(string: "key-\(sequence)")
            var value = ByteBuffer()
            for _ in 0..<(1 + random.next(below: 64)) { value.writeInteger(random.next()) }
            checksum = CRC32C.update(checksum, key)
            checksum = CRC32C.update(checksum, value)
            builder.append(timestamp: 1_700_000_000_000 + Int64(sequence), key: key, value: value)
        }
        var batch = try! builder.build().buffer
        buffer.writeBuffer(&batch)
    }
    do {
        let result = try log.append(buffer, leaderEpoch: 1)
        emit("ACK \(result.firstOffset) \(result.lastOffset) \(checksum)")
    } catch {
        emit("append failed: \(error)", to: 2)
        exit(1)
    }
}
