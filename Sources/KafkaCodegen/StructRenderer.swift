/// Writes the Swift declaration and codec of one message or nested struct.
///
/// Every struct of a spec file is nested flat inside the top-level message type, and every codec takes the
/// top-level version: a field exists, is nullable, is tagged or is compact according to that version.
struct StructRenderer {
    let spec: MessageSpec
    let structs: [String: StructSpec]
    /// The versions in which this struct can occur at all.
    let valid: VersionRange
    let typeName: String
    let fields: [FieldSpec]
    let contextName: String

    init(
        spec: MessageSpec, structs: [String: StructSpec], typeName: String, fields: [FieldSpec], versions: VersionRange
    ) {
        self.spec = spec
        self.structs = structs
        self.valid = spec.validVersions.intersection(versions)
        self.typeName = typeName
        self.fields = fields
        self.contextName = typeName
    }

    var isFlexibleEver: Bool { !spec.flexibleVersions.intersection(valid).isEmpty }

    /// `flexible` as a Swift expression for this struct's versions.
    var flexibleCondition: String {
        guard isFlexibleEver else { return "false" }
        return spec.flexibleVersions.condition(within: valid) ?? "true"
    }

    // MARK: Field classification

    /// Whether a regular field's encoding depends on the runtime `flexible` flag (compact lengths).
    var needsFlexibleVariable: Bool {
        isFlexibleEver
            && fields.contains { field in
                guard compactExpression(field) == "flexible", !regularVersions(field).intersection(valid).isEmpty else {
                    return false
                }
                switch field.type {
                case .string, .bytes, .records, .array: return true
                default: return false
                }
            }
    }

    /// The versions in which the field is written in the regular sequence (not in the tagged section).
    func regularVersions(_ field: FieldSpec) -> VersionRange {
        guard field.tag != nil, !field.taggedVersions.isEmpty else { return field.versions }
        if field.taggedVersions.lowest > field.versions.lowest {
            return VersionRange(lowest: field.versions.lowest, highest: field.taggedVersions.lowest - 1)
        }
        return .none
    }

    func taggedVersions(_ field: FieldSpec) -> VersionRange {
        guard field.tag != nil else { return .none }
        return field.taggedVersions.intersection(field.versions)
    }

    func compactExpression(_ field: FieldSpec) -> String {
        if let override = field.flexibleVersions {
            return override.intersection(spec.flexibleVersions).condition(within: valid) ?? "true"
        }
        guard isFlexibleEver else { return "false" }
        return flexibleCondition == "true" ? "true" : "flexible"
    }

    // MARK: Types and values

    func swiftType(_ type: FieldType) -> String {
        switch type {
        case .int8: return "Int8"
        case .int16: return "Int16"
        case .int32: return "Int32"
        case .int64: return "Int64"
        case .uint16: return "UInt16"
        case .float64: return "Double"
        case .bool: return "Bool"
        case .string: return "String"
        case .bytes, .records: return "ByteBuffer"
        case .uuid: return "KafkaUUID"
        case .array(let element): return "[\(swiftType(element))]"
        case .structure(let name): return SwiftNames.typeName(name)
        }
    }

    func declaredType(_ field: FieldSpec) -> String {
        swiftType(field.type) + (field.isNullable ? "?" : "")
    }

    /// The spec's default for the field as a Swift expression.
    func defaultExpression(_ field: FieldSpec) throws -> String {
        let text = field.defaultValue
        let isNull = text == "null" || text == "None"
        if isNull {
            guard field.isNullable else {
                throw CodegenError("\(spec.fileName): \(field.name) defaults to null but is never nullable")
            }
            return "nil"
        }
        switch field.type {
        case .int8, .int16, .int32, .int64, .uint16:
            guard let text, !text.isEmpty else { return "0" }
            guard let value = Self.parseInteger(text) else {
                throw CodegenError("\(spec.fileName): bad default '\(text)' of \(field.name)")
            }
            return String(value)
        case .float64:
            guard let text, !text.isEmpty else { return "0" }
            guard let value = Double(text) else {
                throw CodegenError("\(spec.fileName): bad default '\(text)' of \(field.name)")
            }
            return String(value)
        case .bool:
            guard let text else { return "false" }
            return text.lowercased() == "true" ? "true" : "false"
        case .string:
            let value = text ?? ""
            return "\""
                + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        case .bytes, .records: return "ByteBuffer()"
        case .uuid: return ".zero"
        case .array: return "[]"
        case .structure(let name): return "\(SwiftNames.typeName(name))()"
        }
    }

    static func parseInteger(_ text: String) -> Int64? {
        if text.lowercased().hasPrefix("0x") { return Int64(text.dropFirst(2), radix: 16) }
        if text.lowercased().hasPrefix("-0x") { return Int64(text.dropFirst(3), radix: 16).map { -$0 } }
        return Int64(text)
    }

    // MARK: Declaration

    func render(
        into out: inout CodeWriter, conformance: String, extraDeclarations: [String] = [], nested: [String] = []
    ) throws {
        out.line("public struct \(typeName): \(conformance) {")
        try out.indent {
            for declaration in extraDeclarations { $0.line(declaration) }
            if !extraDeclarations.isEmpty { $0.blank() }
            for field in fields {
                if let about = field.about, !about.isEmpty { $0.doc(about) }
                $0.line("public var \(SwiftNames.escaped(field.propertyName)): \(declaredType(field))")
            }
            $0.doc("Tagged fields of a newer version that this code does not know, kept to be written back.")
            $0.line("public var unknownTaggedFields: [UnknownTaggedField]")
            $0.blank()
            try renderInitializer(into: &$0)
            $0.blank()
            try renderDecoder(into: &$0)
            $0.blank()
            try renderEncoder(into: &$0)
            for block in nested {
                $0.blank()
                $0.raw(block)
            }
        }
        out.line("}")
    }

    private func renderInitializer(into out: inout CodeWriter) throws {
        var parameters = [String]()
        for field in fields {
            parameters.append(
                "\(SwiftNames.escaped(field.propertyName)): \(declaredType(field)) = \(try defaultExpression(field))")
        }
        parameters.append("unknownTaggedFields: [UnknownTaggedField] = []")
        out.line("public init(")
        out.indent { out in
            for (index, parameter) in parameters.enumerated() {
                out.line(parameter + (index == parameters.count - 1 ? "" : ","))
            }
        }
        out.line(") {")
        out.indent { out in
            for field in fields {
                let name = SwiftNames.escaped(field.propertyName)
                out.line("self.\(name) = \(name)")
            }
            out.line("self.unknownTaggedFields = unknownTaggedFields")
        }
        out.line("}")
    }

    // MARK: Decoding

    private func renderDecoder(into out: inout CodeWriter) throws {
        out.line("public init(from buffer: inout ByteBuffer, version: Int16) throws(DecodeError) {")
        out.indent { out in
            out.line("self.init()")
            if needsFlexibleVariable {
                out.line("let flexible = \(flexibleCondition)")
            }
            for field in fields {
                let regular = regularVersions(field)
                guard let condition = regular.condition(within: valid) else {
                    out.line(
                        "self.\(SwiftNames.escaped(field.propertyName)) = \(readExpression(field, buffer: "buffer", compact: compactExpression(field)))"
                    )
                    continue
                }
                if condition == "false" { continue }
                out.line("if \(condition) {")
                out.indent { out in
                    out.line(
                        "self.\(SwiftNames.escaped(field.propertyName)) = \(readExpression(field, buffer: "buffer", compact: compactExpression(field)))"
                    )
                }
                out.line("}")
            }
            guard isFlexibleEver else { return }
            let tagged = fields.filter { !taggedVersions($0).intersection(valid).isEmpty }.sorted { $0.tag! < $1.tag! }
            let flexibleTest = flexibleCondition
            if flexibleTest != "true" { out.line("if \(flexibleTest) {") }
            out.indent(flexibleTest != "true") { out in
                if tagged.isEmpty {
                    out.line(
                        "self.unknownTaggedFields = try buffer.readKafkaTaggedFields(\"\(contextName)\") { (_, _) throws(DecodeError) -> Bool in false }"
                    )
                    return
                }
                out.line(
                    "self.unknownTaggedFields = try buffer.readKafkaTaggedFields(\"\(contextName)\") { (tag, tagged) throws(DecodeError) -> Bool in"
                )
                out.indent { out in
                    out.line("switch tag {")
                    for field in tagged {
                        let condition = taggedVersions(field).condition(within: valid)
                        out.line("case \(field.tag!)\(condition.map { " where \($0)" } ?? ""):")
                        out.indent { out in
                            out.line(
                                "self.\(SwiftNames.escaped(field.propertyName)) = \(readExpression(field, buffer: "tagged", compact: "true"))"
                            )
                            out.line("return true")
                        }
                    }
                    out.line("default:")
                    out.indent { $0.line("return false") }
                    out.line("}")
                }
                out.line("}")
            }
            if flexibleTest != "true" { out.line("}") }
        }
        out.line("}")
    }

    /// The expression that reads `field` from `buffer` in the current version.
    func readExpression(_ field: FieldSpec, buffer: String, compact: String) -> String {
        let context = "\(contextName).\(field.propertyName)"
        guard field.isNullable else {
            return readValue(field.type, buffer: buffer, compact: compact, nullable: false, context: context)
        }
        let nullable = field.nullableVersions.condition(within: valid.intersection(field.versions))
        switch nullable {
        case nil: return readValue(field.type, buffer: buffer, compact: compact, nullable: true, context: context)
        case "false": return readValue(field.type, buffer: buffer, compact: compact, nullable: false, context: context)
        case let condition?:
            let yes = readValue(field.type, buffer: buffer, compact: compact, nullable: true, context: context)
            let no = readValue(field.type, buffer: buffer, compact: compact, nullable: false, context: context)
            return "\(condition) ? \(yes) : Optional(\(no))"
        }
    }

    func readValue(_ type: FieldType, buffer: String, compact: String, nullable: Bool, context: String) -> String {
        let maybe = nullable ? "Nullable" : ""
        switch type {
        case .int8, .int16, .int32, .int64, .uint16:
            return "try \(buffer).readKafkaInteger(as: \(swiftType(type)).self, \"\(context)\")"
        case .float64: return "try \(buffer).readKafkaFloat64(\"\(context)\")"
        case .bool: return "try \(buffer).readKafkaBool(\"\(context)\")"
        case .uuid: return "try \(buffer).readKafkaUUID(\"\(context)\")"
        case .string: return "try \(buffer).readKafka\(maybe)String(compact: \(compact), \"\(context)\")"
        case .bytes, .records: return "try \(buffer).readKafka\(maybe)Bytes(compact: \(compact), \"\(context)\")"
        case .array(let element):
            let elementType = swiftType(element)
            let minimum = minimumSize(element, compact: compact != "false")
            let readElement = readValue(element, buffer: "element", compact: compact, nullable: false, context: context)
            return
                "try \(buffer).readKafka\(maybe)Array(compact: \(compact), minimumElementSize: \(minimum), \"\(context)\") "
                + "{ (element: inout ByteBuffer) throws(DecodeError) -> \(elementType) in \(readElement) }"
        case .structure:
            let name = swiftType(type)
            if nullable {
                return "try \(buffer).readKafkaNullableStruct(\"\(context)\") "
                    + "{ (value: inout ByteBuffer) throws(DecodeError) -> \(name) in try \(name)(from: &value, version: version) }"
            }
            return "try \(name)(from: &\(buffer), version: version)"
        }
    }

    // MARK: Encoding

    private func renderEncoder(into out: inout CodeWriter) throws {
        out.line("public func write(to buffer: inout ByteBuffer, version: Int16) {")
        try out.indent { out in
            if needsFlexibleVariable {
                out.line("let flexible = \(flexibleCondition)")
            }
            for field in fields {
                let regular = regularVersions(field)
                let statement = writeStatement(
                    field, value: "self.\(SwiftNames.escaped(field.propertyName))", buffer: "buffer",
                    compact: compactExpression(field))
                guard let condition = regular.condition(within: valid) else {
                    out.line(statement)
                    continue
                }
                if condition == "false" { continue }
                out.line("if \(condition) {")
                out.indent { $0.line(statement) }
                out.line("}")
            }
            guard isFlexibleEver else { return }
            let tagged = fields.filter { !taggedVersions($0).intersection(valid).isEmpty }.sorted { $0.tag! < $1.tag! }
            let flexibleTest = flexibleCondition
            if flexibleTest != "true" { out.line("if \(flexibleTest) {") }
            try out.indent(flexibleTest != "true") { out in
                if tagged.isEmpty {
                    out.line("buffer.writeKafkaTaggedFields([], unknown: self.unknownTaggedFields)")
                    return
                }
                out.line("var taggedFields: [(tag: UInt32, write: (inout ByteBuffer) -> Void)] = []")
                for field in tagged {
                    let name = "self.\(SwiftNames.escaped(field.propertyName))"
                    var conditions = [String]()
                    if let versionCondition = taggedVersions(field).condition(within: valid) {
                        conditions.append(versionCondition)
                    }
                    // Kafka writes a tagged field only when it differs from its default.
                    conditions.append("\(name) != \(try defaultExpression(field))")
                    out.line("if \(conditions.joined(separator: ", ")) {")
                    out.indent { out in
                        out.line("let value = \(name)")
                        out.line("taggedFields.append((tag: \(field.tag!), write: { (tagged: inout ByteBuffer) in")
                        out.indent { $0.line(writeStatement(field, value: "value", buffer: "tagged", compact: "true")) }
                        out.line("}))")
                    }
                    out.line("}")
                }
                out.line("buffer.writeKafkaTaggedFields(taggedFields, unknown: self.unknownTaggedFields)")
            }
            if flexibleTest != "true" { out.line("}") }
        }
        out.line("}")
    }

    func writeStatement(_ field: FieldSpec, value: String, buffer: String, compact: String) -> String {
        guard field.isNullable else {
            return writeValue(field.type, value: value, buffer: buffer, compact: compact, nullable: false)
        }
        let nullable = field.nullableVersions.condition(within: valid.intersection(field.versions))
        let empty = (try? emptyValue(field.type)) ?? "nil"
        switch nullable {
        case nil: return writeValue(field.type, value: value, buffer: buffer, compact: compact, nullable: true)
        case "false":
            return writeValue(
                field.type, value: "(\(value) ?? \(empty))", buffer: buffer, compact: compact, nullable: false)
        case let condition?:
            let yes = writeValue(field.type, value: value, buffer: buffer, compact: compact, nullable: true)
            let no = writeValue(
                field.type, value: "(\(value) ?? \(empty))", buffer: buffer, compact: compact, nullable: false)
            return "if \(condition) { \(yes) } else { \(no) }"
        }
    }

    /// What a null is written as in a version where the field may not be null (Kafka would refuse to serialize).
    func emptyValue(_ type: FieldType) throws -> String {
        switch type {
        case .string: return "\"\""
        case .bytes, .records: return "ByteBuffer()"
        case .array: return "[]"
        case .structure(let name): return "\(SwiftNames.typeName(name))()"
        default: throw CodegenError("\(spec.fileName): nullable primitive")
        }
    }

    func writeValue(_ type: FieldType, value: String, buffer: String, compact: String, nullable: Bool) -> String {
        let maybe = nullable ? "Nullable" : ""
        switch type {
        case .int8: return "\(buffer).writeInteger(\(value), as: Int8.self)"
        case .int16, .int32, .int64, .uint16:
            return "\(buffer).writeInteger(\(value), endianness: .big, as: \(swiftType(type)).self)"
        case .float64: return "\(buffer).writeKafkaFloat64(\(value))"
        case .bool: return "\(buffer).writeKafkaBool(\(value))"
        case .uuid: return "\(buffer).writeKafkaUUID(\(value))"
        case .string: return "\(buffer).writeKafka\(maybe)String(\(value), compact: \(compact))"
        case .bytes, .records: return "\(buffer).writeKafka\(maybe)Bytes(\(value), compact: \(compact))"
        case .array(let element):
            let writeElement = writeValue(
                element, value: "element", buffer: "elementBuffer", compact: compact, nullable: false)
            return
                "\(buffer).writeKafka\(maybe)Array(\(value), compact: \(compact)) { element, elementBuffer in \(writeElement) }"
        case .structure:
            if nullable {
                return
                    "\(buffer).writeKafkaNullableStruct(\(value)) { value, valueBuffer in value.write(to: &valueBuffer, version: version) }"
            }
            return "\(value).write(to: &\(buffer), version: version)"
        }
    }

    // MARK: Sizes

    /// The fewest bytes one value of `type` can take, used to bound array counts before allocating.
    func minimumSize(_ type: FieldType, compact: Bool) -> Int {
        switch type {
        case .int8, .bool: return 1
        case .int16, .uint16: return 2
        case .int32: return 4
        case .int64, .float64: return 8
        case .uuid: return 16
        case .string: return compact ? 1 : 2
        case .bytes, .records, .array: return compact ? 1 : 4
        case .structure(let name):
            guard let structure = structs[name] else { return 1 }
            let renderer = StructRenderer(
                spec: spec, structs: structs, typeName: name, fields: structure.fields, versions: structure.versions)
            return renderer.minimumStructSize()
        }
    }

    func minimumStructSize() -> Int {
        guard !valid.isEmpty else { return 1 }
        var smallest = Int.max
        for version in valid.lowest...valid.highest {
            let flexible = spec.flexibleVersions.contains(version)
            var size = flexible ? 1 : 0
            for field in fields where regularVersions(field).contains(version) {
                if field.nullableVersions.contains(version) {
                    size +=
                        field.type.structName != nil && !isArray(field.type)
                        ? 1 : minimumSize(.string, compact: flexible)
                } else {
                    let compact = flexible && (field.flexibleVersions.map { $0.contains(version) } ?? true)
                    size += minimumSize(field.type, compact: compact)
                }
            }
            smallest = min(smallest, size)
        }
        return max(1, smallest)
    }

    private func isArray(_ type: FieldType) -> Bool {
        if case .array = type { return true }
        return false
    }
}
