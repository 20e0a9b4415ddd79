/// A request to a peer controller that got no answer: the connection closed or failed, or the answer was late.
struct ConnectionFailure: Error, Sendable, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}
