import NIOConcurrencyHelpers

extension NIOLockedValueBox {
    /// `withLockedValue` keeping `body`'s typed error (NIO's rethrows an untyped one). Nothing is allocated: the
    /// outcome travels as a `Result` on the stack.
    @inline(__always)
    func withLockedValueTyped<T, E: Error>(_ body: (inout Value) throws(E) -> T) throws(E) -> T {
        try withLockedValue { value in Result<T, E> { () throws(E) -> T in try body(&value) } }.get()
    }
}
