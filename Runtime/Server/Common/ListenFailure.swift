import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// A plane that cannot open its listening port. NIO's own message ("bind(descriptor:ptr:bytes:):
/// Address already in use") names neither the port nor what to do; the provisioner shows this
/// message, the last line of the plane's log, when the plane does not become ready.
public enum ListenFailure: Error, CustomStringConvertible {
    case portInUse(plane: String, ports: [Int])

    public var description: String {
        switch self {
        case .portInUse(let plane, let ports):
            let named = ports.map(String.init).joined(separator: " and ")
            return "the \(plane) cannot listen on 127.0.0.1:\(named): another program holds the port (address already in use); "
                + "`ss -tanp 'sport = :\(ports[0])'` shows which"
        }
    }

    /// `error` in an operator's words when it is a failed bind; otherwise `error` itself.
    /// - Parameter ports: the ports the plane listens on; those another program holds are named
    ///   (all of them when none can be told apart).
    public static func explain(_ error: any Error, plane: String, ports: [Int]) -> any Error {
        guard let io = error as? IOError, io.errnoCode == EADDRINUSE else { return error }
        let held = ports.filter { !canListen(on: $0) }
        return ListenFailure.portInUse(plane: plane, ports: held.isEmpty ? ports : held)
    }

    /// Whether a listener could bind 127.0.0.1:`port` now (with SO_REUSEADDR, as the planes do).
    static func canListen(on port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
