import NIOCore
import VPTLocalCloud

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
        let held = ports.filter { !LoopbackPort.canBind($0, reuseAddress: true) }
        return ListenFailure.portInUse(plane: plane, ports: held.isEmpty ? ports : held)
    }
}
