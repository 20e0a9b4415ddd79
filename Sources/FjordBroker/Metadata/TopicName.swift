/// Kafka's rules for topic names.
public enum TopicName {
    /// Kafka's limit (`Topic.MAX_NAME_LENGTH`).
    public static let maximumLength = 249

    /// Legal: 1-249 characters of ASCII letters, digits, '.', '_' and '-', and not "." or "..".
    public static func isValid(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= maximumLength, name != ".", name != ".." else { return false }
        return name.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII
                && (("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
                    || scalar == "." || scalar == "_" || scalar == "-")
        }
    }
}
