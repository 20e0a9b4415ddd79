/// An authenticated identity as Kafka writes it: `<type>:<name>`, `User:alice` (or `User:ANONYMOUS` on a plaintext
/// listener). ACLs and `super.users` name principals this way; `User:*` in an ACL is every user.
public struct KafkaPrincipal: Sendable, Hashable, CustomStringConvertible {
    public var type: String
    public var name: String

    public init(type: String, name: String) {
        self.type = type
        self.name = name
    }

    public static func user(_ name: String) -> KafkaPrincipal { KafkaPrincipal(type: "User", name: name) }

    /// The principal of a connection that did not authenticate (Kafka's `KafkaPrincipal.ANONYMOUS`).
    public static let anonymous = KafkaPrincipal.user("ANONYMOUS")
    /// `User:*` in an ACL: every user.
    public static let wildcard = KafkaPrincipal.user("*")

    /// Parses `type:name` (the name may itself hold colons); nil without a colon or with an empty type or name, as
    /// Kafka's `SecurityUtils.parseKafkaPrincipal` refuses them.
    public init?(parsing text: String) {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let type = String(text[..<colon])
        let name = String(text[text.index(after: colon)...])
        guard !type.isEmpty, !name.isEmpty else { return nil }
        self.init(type: type, name: name)
    }

    public var description: String { "\(type):\(name)" }
}
