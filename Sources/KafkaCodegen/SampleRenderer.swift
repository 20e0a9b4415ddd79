/// Renders, for the codec tests, a `sample(version:)` for every generated type: a value with a non-default
/// value in every field the version has, plus an unknown tagged field in flexible versions, so a round trip
/// exercises every field's encoding.
struct SampleRenderer {
    let spec: MessageSpec

    func render(into out: inout CodeWriter) throws {
        let structs = spec.structsByName
        let top = SwiftNames.typeName(spec.name)
        try renderStruct(into: &out, path: top, fields: spec.fields, versions: spec.validVersions, structs: structs)
        for name in structs.keys.sorted() {
            let structure = structs[name]!
            out.blank()
            try renderStruct(
                into: &out, path: "\(top).\(SwiftNames.typeName(name))", fields: structure.fields,
                versions: structure.versions, structs: structs
            )
        }
    }

    private func renderStruct(
        into out: inout CodeWriter, path: String, fields: [FieldSpec], versions: VersionRange,
        structs: [String: StructSpec]
    ) throws {
        let renderer = StructRenderer(spec: spec, structs: structs, typeName: path, fields: fields, versions: versions)
        out.line("extension \(path): SampleProviding {")
        try out.indent { out in
            out.line("static func sample(version: Int16) -> Self {")
            try out.indent { out in
                out.line("var value = Self()")
                for (index, field) in fields.enumerated() {
                    guard let condition = field.versions.condition(within: renderer.valid) else {
                        out.line(
                            "value.\(SwiftNames.escaped(field.propertyName)) = \(try sampleValue(field, renderer: renderer, seed: index))"
                        )
                        continue
                    }
                    if condition == "false" { continue }
                    out.line(
                        "if \(condition) { value.\(SwiftNames.escaped(field.propertyName)) = \(try sampleValue(field, renderer: renderer, seed: index)) }"
                    )
                }
                if renderer.isFlexibleEver {
                    let test = renderer.flexibleCondition
                    let statement =
                        "value.unknownTaggedFields = [UnknownTaggedField(tag: 10_000, data: ByteBuffer(bytes: [0xAB, 0xCD]))]"
                    out.line(test == "true" ? statement : "if \(test) { \(statement) }")
                }
                out.line("return value")
            }
            out.line("}")
        }
        out.line("}")
    }

    private func sampleValue(_ field: FieldSpec, renderer: StructRenderer, seed: Int) throws -> String {
        let defaultValue = try renderer.defaultExpression(field)
        return sample(field.type, defaultValue: defaultValue, renderer: renderer, seed: seed + field.name.count)
    }

    private func sample(_ type: FieldType, defaultValue: String, renderer: StructRenderer, seed: Int) -> String {
        switch type {
        case .int8, .int16, .int32, .int64, .uint16:
            var value = (seed % 90) + 3
            if String(value) == defaultValue { value += 1 }
            return String(value)
        case .float64: return "\(Double(seed) + 0.5)"
        case .bool: return defaultValue == "true" ? "false" : "true"
        case .string: return "\"sample-\(seed)\""
        case .bytes, .records: return "ByteBuffer(bytes: [\(seed % 250), 1, 2, 3])"
        case .uuid: return "KafkaUUID(high: \(seed + 1), low: 0x1122_3344_5566_7788)"
        case .array(let element):
            let first = sample(element, defaultValue: "", renderer: renderer, seed: seed)
            let second = sample(element, defaultValue: "", renderer: renderer, seed: seed + 1)
            return "[\(first), \(second)]"
        case .structure(let name):
            return "\(SwiftNames.typeName(spec.name)).\(SwiftNames.typeName(name)).sample(version: version)"
        }
    }
}
