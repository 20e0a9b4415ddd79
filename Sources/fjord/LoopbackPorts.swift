import Glibc

/// Ports on 127.0.0.1 for local clusters: free ones to listen on, and whether something accepts on one.
enum LoopbackPorts {
    /// `count` distinct ports that were free a moment ago: each bound to port 0 and held until all are chosen, so the
    /// kernel never hands out the same one twice. Another process may still take one before a node binds it; the
    /// node then fails to start, naming the listener.
    static func free(count: Int) throws -> [Int] {
        var sockets = [Int32]()
        defer { for fd in sockets { close(fd) } }
        var ports = [Int]()
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw CLIError("cannot open a socket: \(String(cString: strerror(errno)))") }
            sockets.append(fd)
            var address = loopback(port: 0)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0 else {
                throw CLIError("cannot bind a port on 127.0.0.1: \(String(cString: strerror(errno)))")
            }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            ports.append(Int(UInt16(bigEndian: address.sin_port)))
        }
        return ports
    }

    /// Whether a TCP connection to 127.0.0.1:`port` is accepted (a loopback connect never waits: it is accepted or
    /// refused at once).
    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return connected == 0
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        return address
    }
}
