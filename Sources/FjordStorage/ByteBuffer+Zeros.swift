import NIOCore

extension ByteBuffer {
    /// Whether every readable byte is zero: the preallocated tail of an index file. Checked eight bytes at a time,
    /// because an untrimmed index is 10 MiB and a byte-by-byte collection walk is slow in debug builds, where it
    /// made opening a few dozen partitions take minutes.
    var isAllZeros: Bool {
        withUnsafeReadableBytes { bytes in
            var index = 0
            let count = bytes.count
            while index + 8 <= count {
                if bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) != 0 { return false }
                index += 8
            }
            while index < count {
                if bytes[index] != 0 { return false }
                index += 1
            }
            return true
        }
    }
}
