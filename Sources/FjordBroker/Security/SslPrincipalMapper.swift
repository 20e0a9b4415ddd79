import Foundation

/// Kafka's `ssl.principal.mapping.rules` (KIP-371): a client certificate's distinguished name becomes a principal
/// name by the first rule whose pattern matches it whole:
///
///     RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,RULE:^CN=(.*?),.*$/$1/L,DEFAULT
///
/// `RULE:pattern/replacement/` with an optional `L` or `U` (lower or upper case) after the last slash; `DEFAULT`
/// keeps the name as it is. No rule matching is an error: the connection does not authenticate.
struct SslPrincipalMapper: Sendable {
    enum Rule: Sendable {
        case keep
        case replace(pattern: String, replacement: String, caseChange: Character?)
    }

    struct Problem: Error, Sendable {
        var message: String
    }

    let rules: [Rule]
    let text: String

    init(rules text: String) throws(Problem) {
        self.text = text
        var rules: [Rule] = []
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        while !rest.isEmpty {
            if rest.hasPrefix("DEFAULT") {
                rules.append(.keep)
                rest = rest.dropFirst("DEFAULT".count)
            } else if rest.hasPrefix("RULE:") {
                rest = rest.dropFirst("RULE:".count)
                guard let (pattern, afterPattern) = Self.segment(rest),
                    let (replacement, afterReplacement) = Self.segment(afterPattern)
                else {
                    throw Problem(message: "'\(text)': a rule is RULE:pattern/replacement/ (L or U may follow)")
                }
                var caseChange: Character?
                rest = afterReplacement
                if let first = rest.first, first == "L" || first == "U" {
                    caseChange = first
                    rest = rest.dropFirst()
                }
                do {
                    _ = try NSRegularExpression(pattern: pattern)
                } catch {
                    throw Problem(message: "'\(pattern)' in ssl.principal.mapping.rules is not a valid pattern")
                }
                rules.append(.replace(pattern: pattern, replacement: replacement, caseChange: caseChange))
            } else {
                throw Problem(message: "'\(text)': each rule is DEFAULT or RULE:pattern/replacement/[LU]")
            }
            rest = rest.drop { $0 == " " }
            if rest.hasPrefix(",") { rest = rest.dropFirst().drop { $0 == " " } }
        }
        guard !rules.isEmpty else { throw Problem(message: "ssl.principal.mapping.rules is empty") }
        self.rules = rules
    }

    /// The text up to the next unescaped `/` (a `\/` is a slash in it), and what follows that slash.
    private static func segment(_ text: Substring) -> (String, Substring)? {
        var value = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character == "\\", text.index(after: index) < text.endIndex, text[text.index(after: index)] == "/" {
                value.append("/")
                index = text.index(index, offsetBy: 2)
                continue
            }
            if character == "/" { return (value, text[text.index(after: index)...]) }
            value.append(character)
            index = text.index(after: index)
        }
        return nil
    }

    /// The principal name for `distinguishedName`, or nil when no rule applies.
    func name(for distinguishedName: String) -> String? {
        for rule in rules {
            switch rule {
            case .keep:
                return distinguishedName
            case .replace(let pattern, let replacement, let caseChange):
                guard let expression = try? NSRegularExpression(pattern: pattern) else { continue }
                let whole = NSRange(distinguishedName.startIndex..., in: distinguishedName)
                guard let match = expression.firstMatch(in: distinguishedName, range: whole), match.range == whole
                else { continue }
                var name = expression.replacementString(
                    for: match, in: distinguishedName, offset: 0, template: replacement)
                if caseChange == "L" { name = name.lowercased() }
                if caseChange == "U" { name = name.uppercased() }
                return name
            }
        }
        return nil
    }
}
