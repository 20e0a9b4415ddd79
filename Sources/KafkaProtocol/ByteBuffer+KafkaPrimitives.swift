import NIOCore

// Readers and writers for the primitive types of the Kafka protocol
// (https://kafka.apache.org/protocol#protocol_types). Generated codecs call these;
// each reader checks the bytes that remain before it reads or allocates, and throws
// `DecodeError` rather than trapping.

extension ByteBuffer {
    // MARK: Fixed-width integers

    @inlinable
    public mutating func readKafkaInteger<T: FixedWidthInteger>(
        as: T.Type = T.self, _ field: StaticString
    ) throws(DecodeError) -> T {
        guard let value = readInteger(endianness: .big, as: T.self) else {
            throw DecodeError(.truncated, "\(field)")
        }
        return value
    }

    @inlinable
    public mutating func readKafkaBool(_ field: StaticString) throws(DecodeError) -> Bool {
        try readKafkaInteger(as: Int8.self, field) != 0
    }

    @inlinable
    public mutating func readKafkaFloat64(_ field: StaticString) throws(DecodeError) -> Double {
        Double(bitPattern: try readKafkaInteger(as: UInt64.self, field))
    }

    @inlinable
    public mutating func writeKafkaBool(_ value: Bool) {
        writeInteger(value ? 1 : 0, as: Int8.self)
    }

    @inlinable
    public mutating func writeKafkaFloat64(_ value: Double) {
        writeInteger(value.bitPattern, endianness: .big, as: UInt64.self)
    }

    // MARK: Variable-length integers

    /// Reads an unsigned LEB128 varint of at most `maxBytes` bytes.
    @inlinable
    public mutating func readKafkaUnsignedVarint64(_ field: StaticString, maxBytes: Int = 10) throws(DecodeError)
        -> UInt64
    {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        for _ in 0..<maxBytes {
            guard let byte = readInteger(as: UInt8.self) else { throw DecodeError(.truncated, "\(field)") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        throw DecodeError(.varintOverflow, "\(field)")
    }

    @inlinable
    public mutating func readKafkaUnsignedVarint(_ field: StaticString) throws(DecodeError) -> UInt32 {
        let value = try readKafkaUnsignedVarint64(field, maxBytes: 5)
        guard value <= UInt64(UInt32.max) else { throw DecodeError(.varintOverflow, "\(field)") }
        return UInt32(value)
    }

    /// Reads a zigzag-encoded signed 32-bit varint.
    @inlinable
    public mutating func readKafkaVarint(_ field: StaticString) throws(DecodeError) -> Int32 {
        let raw = try readKafkaUnsignedVarint(field)
        return Int32(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// Reads a zigzag-encoded signed 64-bit varint ("varlong").
    @inlinable
    public mutating func readKafkaVarlong(_ field: StaticString) throws(DecodeError) -> Int64 {
        let raw = try readKafkaUnsignedVarint64(field)
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    @inlinable
    public mutating func writeKafkaUnsignedVarint64(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            writeInteger(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        writeInteger(UInt8(value))
    }

    @inlinable
    public mutating func writeKafkaUnsignedVarint(_ value: UInt32) {
        writeKafkaUnsignedVarint64(UInt64(value))
    }

    @inlinable
    public mutating func writeKafkaVarint(_ value: Int32) {
        writeKafkaUnsignedVarint(UInt32(bitPattern: (value << 1) ^ (value >> 31)))
    }

    @inlinable
    public mutating func writeKafkaVarlong(_ value: Int64) {
        writeKafkaUnsignedVarint64(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    // MARK: Lengths

    /// Reads the length prefix of a string, bytes or array: int16/int32 in classic versions, unsigned
    /// varint of length+1 in flexible ("compact") versions. Returns -1 for null.
    @inlinable
    mutating func readKafkaLength(compact: Bool, wide: Bool, _ field: StaticString) throws(DecodeError) -> Int {
        if compact {
            return Int(try readKafkaUnsignedVarint(field)) - 1
        } else if wide {
            return Int(try readKafkaInteger(as: Int32.self, field))
        } else {
            return Int(try readKafkaInteger(as: Int16.self, field))
        }
    }

    @inlinable
    mutating func writeKafkaLength(_ length: Int, compact: Bool, wide: Bool) {
        if compact {
            writeKafkaUnsignedVarint(UInt32(truncatingIfNeeded: length + 1))
        } else if wide {
            writeInteger(Int32(truncatingIfNeeded: length), endianness: .big)
        } else {
            writeInteger(Int16(truncatingIfNeeded: length), endianness: .big)
        }
    }

    // MARK: Strings

    /// Kafka's limit for a string length (Java's `Short.MAX_VALUE`), also for compact strings.
    public static let kafkaStringLengthMax = Int(Int16.max)

    @inlinable
    public mutating func readKafkaNullableString(compact: Bool, _ field: StaticString) throws(DecodeError) -> String? {
        let length = try readKafkaLength(compact: compact, wide: false, field)
        if length < 0 {
            guard length == -1 else { throw DecodeError(.invalidLength, "\(field)") }
            return nil
        }
        guard length <= Self.kafkaStringLengthMax else { throw DecodeError(.invalidLength, "\(field)") }
        guard let string = readString(length: length) else { throw DecodeError(.truncated, "\(field)") }
        return string
    }

    @inlinable
    public mutating func readKafkaString(compact: Bool, _ field: StaticString) throws(DecodeError) -> String {
        guard let string = try readKafkaNullableString(compact: compact, field) else {
            throw DecodeError(.unexpectedNull, "\(field)")
        }
        return string
    }

    @inlinable
    public mutating func writeKafkaNullableString(_ value: String?, compact: Bool) {
        guard let value else {
            writeKafkaLength(-1, compact: compact, wide: false)
            return
        }
        writeKafkaLength(value.utf8.count, compact: compact, wide: false)
        writeString(value)
    }

    @inlinable
    public mutating func writeKafkaString(_ value: String, compact: Bool) {
        writeKafkaNullableString(value, compact: compact)
    }

    // MARK: Bytes

    /// Reads `bytes` (or `records`) as a slice of this buffer: no copy.
    @inlinable
    public mutating func readKafkaNullableBytes(compact: Bool, _ field: StaticString) throws(DecodeError) -> ByteBuffer?
    {
        let length = try readKafkaLength(compact: compact, wide: true, field)
        if length < 0 {
            guard length == -1 else { throw DecodeError(.invalidLength, "\(field)") }
            return nil
        }
        guard length <= readableBytes, let slice = readSlice(length: length) else {
            throw DecodeError(.truncated, "\(field)")
        }
        return slice
    }

    @inlinable
    public mutating func readKafkaBytes(compact: Bool, _ field: StaticString) throws(DecodeError) -> ByteBuffer {
        guard let bytes = try readKafkaNullableBytes(compact: compact, field) else {
            throw DecodeError(.unexpectedNull, "\(field)")
        }
        return bytes
    }

    @inlinable
    public mutating func writeKafkaNullableBytes(_ value: ByteBuffer?, compact: Bool) {
        guard let value else {
            writeKafkaLength(-1, compact: compact, wide: true)
            return
        }
        writeKafkaLength(value.readableBytes, compact: compact, wide: true)
        writeImmutableBuffer(value)
    }

    @inlinable
    public mutating func writeKafkaBytes(_ value: ByteBuffer, compact: Bool) {
        writeKafkaNullableBytes(value, compact: compact)
    }

    // MARK: UUID

    @inlinable
    public mutating func readKafkaUUID(_ field: StaticString) throws(DecodeError) -> KafkaUUID {
        let high = try readKafkaInteger(as: UInt64.self, field)
        let low = try readKafkaInteger(as: UInt64.self, field)
        return KafkaUUID(high: high, low: low)
    }

    @inlinable
    public mutating func writeKafkaUUID(_ value: KafkaUUID) {
        writeInteger(value.high, endianness: .big)
        writeInteger(value.low, endianness: .big)
    }

    // MARK: Arrays

    /// Reads an array's element count (nil for a null array) and checks that the remaining bytes
    /// could hold that many elements of at least `minimumElementSize` bytes each, so a hostile
    /// count can never make the decoder reserve memory the frame does not back.
    @inlinable
    public mutating func readKafkaArrayCount(
        compact: Bool, minimumElementSize: Int, _ field: StaticString
    ) throws(DecodeError) -> Int? {
        let count = try readKafkaLength(compact: compact, wide: true, field)
        if count < 0 {
            guard count == -1 else { throw DecodeError(.invalidLength, "\(field)") }
            return nil
        }
        guard count <= readableBytes / Swift.max(1, minimumElementSize) else {
            throw DecodeError(.invalidLength, "\(field)")
        }
        return count
    }

    @inlinable
    public mutating func readKafkaNullableArray<Element>(
        compact: Bool, minimumElementSize: Int, _ field: StaticString,
        _ readElement: (inout ByteBuffer) throws(DecodeError) -> Element
    ) throws(DecodeError) -> [Element]? {
        guard let count = try readKafkaArrayCount(compact: compact, minimumElementSize: minimumElementSize, field)
        else {
            return nil
        }
        var elements = [Element]()
        elements.reserveCapacity(count)
        for _ in 0..<count {
            elements.append(try readElement(&self))
        }
        return elements
    }

    @inlinable
    public mutating func readKafkaArray<Element>(
        compact: Bool, minimumElementSize: Int, _ field: StaticString,
        _ readElement: (inout ByteBuffer) throws(DecodeError) -> Element
    ) throws(DecodeError) -> [Element] {
        guard
            let elements = try readKafkaNullableArray(
                compact: compact, minimumElementSize: minimumElementSize, field, readElement
            )
        else {
            throw DecodeError(.unexpectedNull, "\(field)")
        }
        return elements
    }

    @inlinable
    public mutating func writeKafkaArrayCount(_ count: Int?, compact: Bool) {
        writeKafkaLength(count ?? -1, compact: compact, wide: true)
    }

    @inlinable
    public mutating func writeKafkaNullableArray<Element>(
        _ elements: [Element]?, compact: Bool, _ writeElement: (Element, inout ByteBuffer) -> Void
    ) {
        writeKafkaArrayCount(elements?.count, compact: compact)
        guard let elements else { return }
        for element in elements {
            writeElement(element, &self)
        }
    }

    @inlinable
    public mutating func writeKafkaArray<Element>(
        _ elements: [Element], compact: Bool, _ writeElement: (Element, inout ByteBuffer) -> Void
    ) {
        writeKafkaNullableArray(elements, compact: compact, writeElement)
    }

    // MARK: Tagged fields

    /// Reads a tagged-field section. `readKnown` decodes a tag it knows from a slice holding
    /// exactly that field's bytes and returns true; unknown tags are returned to be kept.
    @inlinable
    public mutating func readKafkaTaggedFields(
        _ field: StaticString,
        _ readKnown: (UInt32, inout ByteBuffer) throws(DecodeError) -> Bool
    ) throws(DecodeError) -> [UnknownTaggedField] {
        let count = Int(try readKafkaUnsignedVarint(field))
        // Each tagged field takes at least two bytes (tag and size).
        guard count <= readableBytes / 2 else { throw DecodeError(.invalidLength, "\(field)") }
        var unknown = [UnknownTaggedField]()
        var previousTag: Int64 = -1
        for _ in 0..<count {
            let tag = try readKafkaUnsignedVarint(field)
            // Kafka requires strictly ascending tags within a section.
            guard Int64(tag) > previousTag else { throw DecodeError(.invalidLength, "\(field) (tag order)") }
            previousTag = Int64(tag)
            let size = Int(try readKafkaUnsignedVarint(field))
            guard size <= readableBytes, var slice = readSlice(length: size) else {
                throw DecodeError(.truncated, "\(field)")
            }
            if try readKnown(tag, &slice) {
                guard slice.readableBytes == 0 else { throw DecodeError(.trailingBytes, "\(field) tag \(tag)") }
            } else {
                unknown.append(UnknownTaggedField(tag: tag, data: slice))
            }
        }
        return unknown
    }

    /// Writes a tagged-field section: the known fields whose value differs from the default (already
    /// filtered by the caller, in ascending tag order) merged with the unknown fields kept from decoding.
    @inlinable
    public mutating func writeKafkaTaggedFields(
        _ known: [(tag: UInt32, write: (inout ByteBuffer) -> Void)], unknown: [UnknownTaggedField]
    ) {
        writeKafkaUnsignedVarint(UInt32(known.count + unknown.count))
        var knownIndex = 0
        var unknownIndex = 0
        while knownIndex < known.count || unknownIndex < unknown.count {
            if unknownIndex >= unknown.count
                || (knownIndex < known.count && known[knownIndex].tag < unknown[unknownIndex].tag)
            {
                let field = known[knownIndex]
                var scratch = ByteBufferAllocator().buffer(capacity: 16)
                field.write(&scratch)
                writeKafkaUnsignedVarint(field.tag)
                writeKafkaUnsignedVarint(UInt32(scratch.readableBytes))
                writeBuffer(&scratch)
                knownIndex += 1
            } else {
                let field = unknown[unknownIndex]
                writeKafkaUnsignedVarint(field.tag)
                writeKafkaUnsignedVarint(UInt32(field.data.readableBytes))
                writeImmutableBuffer(field.data)
                unknownIndex += 1
            }
        }
    }
}

extension ByteBuffer {
    // MARK: Nullable structs

    /// A nullable struct field is preceded by an int8: -1 for null, 1 for present.
    @inlinable
    public mutating func readKafkaNullableStruct<Value>(
        _ field: StaticString, _ readValue: (inout ByteBuffer) throws(DecodeError) -> Value
    ) throws(DecodeError) -> Value? {
        let marker = try readKafkaInteger(as: Int8.self, field)
        if marker < 0 { return nil }
        return try readValue(&self)
    }

    @inlinable
    public mutating func writeKafkaNullableStruct<Value>(
        _ value: Value?, _ writeValue: (Value, inout ByteBuffer) -> Void
    ) {
        guard let value else {
            writeInteger(-1, as: Int8.self)
            return
        }
        writeInteger(1, as: Int8.self)
        writeValue(value, &self)
    }
}
