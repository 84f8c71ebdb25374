import Foundation

/// A fresh directory under the system temp dir for one test.
func temporaryDirectory(_ label: String = #function) -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
        "vpt-test-\(label.filter(\.isLetter))-\(UUID().uuidString.prefix(8))")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
