/// Reads Java `.properties` text, the format of Kafka's `server.properties`.
///
/// Supported: `key=value`, `key: value` and `key value`; `#` and `!` comment lines; a trailing backslash
/// continues the line; `\t`, `\n`, `\\`, `\=`, `\:` and `\uXXXX` escapes.
public enum PropertiesFile {
    public static func parse(_ text: String) throws(ConfigurationError) -> [(key: String, value: String)] {
        var entries = [(key: String, value: String)]()
        var logical = ""
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = String(rawLine)
            if line.hasSuffix("\r") { line.removeLast() }
            let trimmed =
                logical.isEmpty
                ? line.drop { $0 == " " || $0 == "\t" } : Substring(line.drop { $0 == " " || $0 == "\t" })
            if logical.isEmpty, trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix("!") { continue }
            let trailingBackslashes = trimmed.reversed().prefix { $0 == "\\" }.count
            if trailingBackslashes % 2 == 1 {
                logical += trimmed.dropLast()
                continue
            }
            logical += trimmed
            entries.append(try entry(logical))
            logical = ""
        }
        if !logical.isEmpty { entries.append(try entry(logical)) }
        return entries
    }

    private static func entry(_ line: String) throws(ConfigurationError) -> (key: String, value: String) {
        var key = ""
        var index = line.startIndex
        while index < line.endIndex {
            let character = line[index]
            if character == "\\" {
                let next = line.index(after: index)
                guard next < line.endIndex else { break }
                key.append(line[next])
                index = line.index(after: next)
                continue
            }
            if character == "=" || character == ":" || character == " " || character == "\t" { break }
            key.append(character)
            index = line.index(after: index)
        }
        var rest = line[index...].drop { $0 == " " || $0 == "\t" }
        if let first = rest.first, first == "=" || first == ":" {
            rest = rest.dropFirst().drop { $0 == " " || $0 == "\t" }
        }
        return (key, try unescape(String(rest), key: key))
    }

    private static func unescape(_ text: String, key: String) throws(ConfigurationError) -> String {
        var result = ""
        var iterator = Array(text).makeIterator()
        while let character = iterator.next() {
            guard character == "\\" else {
                result.append(character)
                continue
            }
            guard let escaped = iterator.next() else { break }
            switch escaped {
            case "t": result.append("\t")
            case "n": result.append("\n")
            case "r": result.append("\r")
            case "f": result.append("\u{0C}")
            case "u":
                var hex = ""
                for _ in 0..<4 { if let digit = iterator.next() { hex.append(digit) } }
                guard let scalar = UInt32(hex, radix: 16).flatMap(Unicode.Scalar.init) else {
                    throw ConfigurationError(key: key, "malformed \\u escape '\\u\(hex)'")
                }
                result.unicodeScalars.append(scalar)
            default: result.append(escaped)
            }
        }
        return result
    }
}
