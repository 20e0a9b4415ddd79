/// Turns Kafka spec names into Swift names (STYLE.md §3: `GroupId` → `groupID`).
enum SwiftNames {
    static let keywords: Set<String> = [
        "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init", "inout",
        "internal", "let", "open", "operator", "private", "precedencegroup", "protocol", "public", "rethrows",
        "static", "struct", "subscript", "typealias", "var", "break", "case", "catch", "continue", "default",
        "defer", "do", "else", "fallthrough", "for", "guard", "if", "in", "repeat", "return", "throw", "switch",
        "where", "while", "as", "await", "false", "is", "nil", "self", "super", "throws", "true", "try", "Type",
    ]

    /// `CorrelationId` → `correlationID`, `TopicIds` → `topicIDs`, `Type` → `type`.
    static func property(_ specName: String) -> String {
        var name = typeName(specName)
        // Lower-case the leading run of capitals, keeping the last one when a word follows ("ACLs" stays "acls").
        let characters = Array(name)
        var prefixLength = 0
        while prefixLength < characters.count, characters[prefixLength].isUppercase { prefixLength += 1 }
        if prefixLength > 1, prefixLength < characters.count, characters[prefixLength].isLowercase {
            prefixLength -= 1
        }
        prefixLength = max(prefixLength, 1)
        name = String(characters[..<prefixLength]).lowercased() + String(characters[prefixLength...])
        return name
    }

    /// Type names keep the spec's spelling except the `Id` word, which becomes `ID`.
    static func typeName(_ specName: String) -> String {
        var result = ""
        let characters = Array(specName)
        var index = 0
        while index < characters.count {
            let isWordStart = index == 0 || characters[index - 1].isLowercase || characters[index - 1].isNumber
            if isWordStart, characters[index] == "I", index + 1 < characters.count, characters[index + 1] == "d" {
                let next = index + 2
                if next == characters.count || characters[next].isUppercase {
                    result += "ID"
                    index += 2
                    continue
                }
                if characters[next] == "s", next + 1 == characters.count || characters[next + 1].isUppercase {
                    result += "IDs"
                    index += 3
                    continue
                }
            }
            result.append(characters[index])
            index += 1
        }
        return result
    }

    /// The name escaped with backticks where Swift would read it as a keyword.
    static func escaped(_ name: String) -> String {
        keywords.contains(name) ? "`\(name)`" : name
    }
}
