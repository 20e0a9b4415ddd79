#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A value behind a mutex that spins briefly before it sleeps (glibc's adaptive mutex), for state that one thread
/// touches per record and another now and then: `NIOLockedValueBox` (a plain mutex) put the other thread to sleep
/// on the futex almost every time, and the wakeup cost more than the critical section.
///
/// `@unchecked Sendable` because it is a lock primitive, as `NIOLockedValueBox` is (which NIO declares
/// `@unchecked Sendable` too): its stored properties are pointers to the mutex and the value, which the compiler
/// cannot see are safe to share. They are: the value is reached only through `withLockedValue`, under the mutex,
/// and `Value` must be `Sendable`, so what leaves the box may cross threads.
final class AdaptiveLockedValueBox<Value: Sendable>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// Behind a pointer, so that access needs no dynamic exclusivity check (the mutex gives exclusivity).
    private let value = UnsafeMutablePointer<Value>.allocate(capacity: 1)

    init(_ initial: Value) {
        value.initialize(to: initial)
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        #if canImport(Glibc)
            pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_ADAPTIVE_NP))
        #endif
        let error = pthread_mutex_init(mutex, &attributes)
        precondition(error == 0, "pthread_mutex_init failed: \(error)")
        pthread_mutexattr_destroy(&attributes)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        value.deinitialize(count: 1)
        value.deallocate()
    }

    /// Runs `body` with the value while holding the lock.
    @inline(__always)
    func withLockedValue<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value.pointee)
    }
}
