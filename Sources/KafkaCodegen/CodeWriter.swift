/// Accumulates indented Swift source text.
struct CodeWriter {
    private(set) var text = ""
    private var depth = 0

    mutating func line(_ content: String) {
        if content.isEmpty {
            text += "\n"
        } else {
            text += String(repeating: "    ", count: depth) + content + "\n"
        }
    }

    mutating func blank() { text += "\n" }

    /// A `///` comment, wrapped at 110 columns.
    mutating func doc(_ content: String) {
        let words = content.split(whereSeparator: \.isWhitespace)
        var current = ""
        for word in words {
            if !current.isEmpty, current.count + word.count + 1 > 110 {
                line("/// " + current)
                current = ""
            }
            current += (current.isEmpty ? "" : " ") + word
        }
        if !current.isEmpty { line("/// " + current) }
    }

    /// Appends already-indented text at the current depth.
    mutating func raw(_ block: String) {
        for content in block.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            line(String(content))
        }
    }

    mutating func indent(_ enabled: Bool = true, _ body: (inout CodeWriter) throws -> Void) rethrows {
        if enabled { depth += 1 }
        try body(&self)
        if enabled { depth -= 1 }
    }
}
