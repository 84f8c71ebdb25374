import Foundation
import VPTEngine
import VPTModel
import VPTTestSupport

func exampleYAML(_ name: String) throws -> String {
    try String(contentsOf: repositoryRoot.appendingPathComponent("examples/\(name)"), encoding: .utf8)
}

/// A fresh fleet with its provisioner.
func freshFleet(_ label: String = #function) throws -> Provisioner {
    let home = temporaryDirectory(label)
    _ = try Fleet.initialize(home: home, runtime: false)
    return try Provisioner(home: home)
}

/// Every file below `root` with its modification date, to prove a no-op run touched nothing.
func snapshot(_ root: URL) -> [String: Date] {
    var result: [String: Date] = [:]
    let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.contentModificationDateKey])
    while let url = walker?.nextObject() as? URL {
        if url.lastPathComponent.hasPrefix("state.db") || url.pathExtension == "lock" { continue }
        result[url.path] = (try? url.resourceValues(forKeys: [.contentModificationDateKey]))?.contentModificationDate
    }
    return result
}
