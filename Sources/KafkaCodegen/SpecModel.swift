import Foundation

/// One Kafka JSON message spec (`client/HeartbeatRequest.json`, `metadata/TopicRecord.json`, ...).
struct MessageSpec {
    var fileName: String
    var folder: String
    var name: String
    /// "request", "response", "header", "data" or "metadata".
    var kind: String
    var apiKey: Int?
    var listeners: [String]
    var validVersions: VersionRange
    var flexibleVersions: VersionRange
    var fields: [FieldSpec]
    var commonStructs: [StructSpec]

    /// Every struct the message defines, inline or common, by name (Kafka requires the names to be unique
    /// within one spec file, which is what lets them nest flat inside the message's Swift type).
    var structsByName: [String: StructSpec] {
        var result = [String: StructSpec]()
        func collect(_ fields: [FieldSpec]) {
            for field in fields {
                if let nested = field.nestedFields, let name = field.type.structName {
                    result[name] = StructSpec(name: name, versions: field.versions, fields: nested)
                    collect(nested)
                }
            }
        }
        for common in commonStructs {
            result[common.name] = common
            collect(common.fields)
        }
        collect(fields)
        return result
    }
}

/// A named struct: an array element type, a struct-typed field, or a common struct.
struct StructSpec {
    var name: String
    var versions: VersionRange
    var fields: [FieldSpec]
}

/// The type of a field as the spec spells it.
indirect enum FieldType: Equatable {
    case int8, int16, int32, int64, uint16, float64, bool, string, bytes, uuid, records
    case array(FieldType)
    case structure(String)

    init(parsing text: String) {
        if text.hasPrefix("[]") {
            self = .array(FieldType(parsing: String(text.dropFirst(2))))
            return
        }
        switch text {
        case "int8": self = .int8
        case "int16": self = .int16
        case "int32": self = .int32
        case "int64": self = .int64
        case "uint16": self = .uint16
        case "float64": self = .float64
        case "bool": self = .bool
        case "string": self = .string
        case "bytes": self = .bytes
        case "uuid": self = .uuid
        case "records": self = .records
        default: self = .structure(text)
        }
    }

    /// The struct this type names, directly or as the element of an array.
    var structName: String? {
        switch self {
        case .structure(let name): return name
        case .array(let element): return element.structName
        default: return nil
        }
    }
}

/// One field of a message or struct.
struct FieldSpec {
    var name: String
    var type: FieldType
    var versions: VersionRange
    var nullableVersions: VersionRange
    var taggedVersions: VersionRange
    var tag: Int?
    /// A field-level override of the message's flexible versions (`ClientId` in the request header is never compact).
    var flexibleVersions: VersionRange?
    var defaultValue: String?
    var about: String?
    var nestedFields: [FieldSpec]?

    var propertyName: String { SwiftNames.property(name) }
    var isNullable: Bool { !nullableVersions.isEmpty }
}

enum SpecParser {
    /// Reads a spec file, dropping the `//` comment lines Kafka's JSON allows.
    static func parse(fileAt url: URL, folder: String) throws -> MessageSpec {
        let text = try String(contentsOf: url, encoding: .utf8)
        let json = text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { line in line.trimmingCharacters(in: .whitespaces).hasPrefix("//") ? "" : String(line) }
            .joined(separator: "\n")
        guard let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
            throw CodegenError("\(url.lastPathComponent): not a JSON object")
        }
        let context = url.lastPathComponent
        return MessageSpec(
            fileName: url.lastPathComponent,
            folder: folder,
            name: try string(object, "name", context),
            kind: try string(object, "type", context),
            apiKey: object["apiKey"] as? Int,
            listeners: object["listeners"] as? [String] ?? [],
            validVersions: try VersionRange(parsing: try string(object, "validVersions", context)),
            flexibleVersions: try VersionRange(parsing: object["flexibleVersions"] as? String ?? "none"),
            fields: try fields(object["fields"], context),
            commonStructs: try (object["commonStructs"] as? [[String: Any]] ?? []).map { common in
                StructSpec(
                    name: try string(common, "name", context),
                    versions: try VersionRange(parsing: common["versions"] as? String ?? "0+"),
                    fields: try fields(common["fields"], context)
                )
            }
        )
    }

    private static func fields(_ value: Any?, _ context: String) throws -> [FieldSpec] {
        guard let value else { return [] }
        guard let array = value as? [[String: Any]] else { throw CodegenError("\(context): fields is not an array") }
        return try array.map { try field($0, context) }
    }

    private static func field(_ object: [String: Any], _ context: String) throws -> FieldSpec {
        let name = try string(object, "name", context)
        let context = "\(context) field \(name)"
        let defaultValue: String?
        switch object["default"] {
        case let text as String: defaultValue = text
        case let number as NSNumber: defaultValue = number.stringValue
        case nil: defaultValue = nil
        case is NSNull: defaultValue = "null"
        default: throw CodegenError("\(context): unreadable default")
        }
        return FieldSpec(
            name: name,
            type: FieldType(parsing: try string(object, "type", context)),
            // A tagged-only field may omit `versions`; it then exists exactly where it is tagged.
            versions: try VersionRange(
                parsing: object["versions"] as? String ?? string(object, "taggedVersions", context)),
            nullableVersions: try VersionRange(parsing: object["nullableVersions"] as? String ?? "none"),
            taggedVersions: try VersionRange(parsing: object["taggedVersions"] as? String ?? "none"),
            tag: object["tag"] as? Int,
            flexibleVersions: try (object["flexibleVersions"] as? String).map { try VersionRange(parsing: $0) },
            defaultValue: defaultValue,
            about: object["about"] as? String,
            nestedFields: try object["fields"].map { try fields($0, context) }
        )
    }

    private static func string(_ object: [String: Any], _ key: String, _ context: String) throws -> String {
        guard let value = object[key] as? String else { throw CodegenError("\(context): missing '\(key)'") }
        return value
    }
}
