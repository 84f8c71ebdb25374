import Crypto
import Foundation
import VPTContract
import VPTEngine
import VPTLocalCloud
import VPTMetadata

// vpt-keys-bench: CMK rotation of a tenant holding N encrypted metadata records (default 100,000
// of 1 KiB). Prints one `key=value` line per figure:
//   benchmark=cmk_rewrap records=N data_keys=K seconds=S
//   benchmark=cmk_reencrypt records=N mb=M seconds=S mb_per_s=R
//   benchmark=aes_gcm_in_process mb_per_s=R   (swift-crypto sealing 1 KiB values, one core)
// Usage: vpt-keys-bench [--records 100000] [--value-bytes 1024]

let arguments = CommandLine.arguments
func option(_ name: String) -> Int? {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
    return Int(arguments[i + 1])
}
let records = option("--records") ?? 100_000
let valueBytes = option("--value-bytes") ?? 1024

func seconds(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

let home = FileManager.default.temporaryDirectory.appendingPathComponent("vpt-keys-bench-\(UUID().uuidString.prefix(8))")
defer { try? FileManager.default.removeItem(at: home) }
_ = try Fleet.initialize(home: home, runtime: false)
let provisioner = try Provisioner(home: home)
let yaml = """
    apiVersion: vpt/v1
    kind: Tenant
    name: bench
    vendorAccount: {provider: local, region: eu-west-1}
    customerAccount:
      accountId: "210987654321"
      region: eu-west-1
      residency: {allowedRegions: [eu-west-1]}
    """
_ = try await provisioner.provision(tenant: "bench", spec: try provisioner.loadSpec(yaml: yaml, name: "bench"))
let config = try JSONDecoder().decode(RuntimeConfig.self, from: Data(contentsOf: provisioner.paths.runtimeConfig("bench")))
let cmk = KMSKeyRef(arn: config.controlPlane.cmkArn)!
let store = try MetadataStore(
    url: URL(fileURLWithPath: config.controlPlane.dataDirectory).appendingPathComponent("metadata.sqlite"), tenant: "bench", cmk: cmk,
    kms: try LocalKMS(home: home), caller: config.controlPlane.roleArn)
var filler = [UInt8](repeating: 0, count: valueBytes)
for i in filler.indices { filler[i] = UInt8(97 + i % 26) }
let load = ContinuousClock.now
for i in 0..<records {
    try store.put(kind: "bench", workspace: "prod", name: "r\(i)", value: Data(filler))
}
print("benchmark=metadata_load records=\(records) value_bytes=\(valueBytes) seconds=\(String(format: "%.2f", seconds(since: load)))")

let keys = try KeyService(home: home)
let rewrap = try keys.rotateCMK(tenant: "bench", reencrypt: false)
print("benchmark=cmk_rewrap records=\(records) data_keys=\(rewrap.dataKeysRewrapped) seconds=\(String(format: "%.4f", rewrap.seconds))")

let reencrypt = try keys.rotateCMK(tenant: "bench", reencrypt: true)
let mb = Double(reencrypt.bytesReencrypted ?? 0) / 1_000_000
print(
    "benchmark=cmk_reencrypt records=\(reencrypt.recordsReencrypted ?? 0) mb=\(String(format: "%.1f", mb)) seconds=\(String(format: "%.2f", reencrypt.seconds)) mb_per_s=\(String(format: "%.1f", mb / reencrypt.seconds))"
)

// The cipher alone, in this process, on the same value size: what re-encryption costs beyond SQLite.
let key = SymmetricKey(size: .bits256)
let value = Data(filler)
let cipher = ContinuousClock.now
var sealedBytes = 0
while seconds(since: cipher) < 2 {
    for _ in 0..<1000 { sealedBytes += try AES.GCM.seal(value, using: key).ciphertext.count }
}
print("benchmark=aes_gcm_in_process value_bytes=\(valueBytes) mb_per_s=\(String(format: "%.1f", Double(sealedBytes) / 1_000_000 / seconds(since: cipher)))")
