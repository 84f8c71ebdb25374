#if canImport(Glibc)
    import Glibc
#endif

/// Loopback ports on this machine, as the provisioner hands them out and the planes listen on them.
public enum LoopbackPort {
    /// Whether a socket could bind 127.0.0.1:`port` now. With `reuseAddress` (as the planes
    /// listen), a port whose old connections linger in TIME_WAIT counts as bindable; without it,
    /// only a port nothing uses at all does.
    public static func canBind(_ port: Int, reuseAddress: Bool) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if reuseAddress {
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        return withAddress(port) { bind(fd, $0, $1) } == 0
    }

    /// Calls `body` with the socket address 127.0.0.1:`port` (for bind or connect) and its length.
    public static func withAddress(_ port: Int, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
}
