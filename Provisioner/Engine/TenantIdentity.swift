import Foundation
import VPTLocalCloud
import VPTModel
import VPTState

/// Values generated once per tenant and kept across runs (ids, external ID, CIDR, ports). They are
/// recorded in the state store before any resource uses them, so a re-run after a crash reuses them.
public struct TenantIdentity: Sendable, Equatable {
    /// Shown by `plan` for values that the first apply will generate.
    public static let unknown = "(known after apply)"

    public var vendorAccountId: String
    public var externalId: String
    public var vpcId: String
    public var subnetIds: [String]
    public var cmkKeyId: String
    public var cidr: String
    public var controlPlanePort: String
    public var dataPlanePort: String
    /// The control plane's mutual-TLS port (the data plane's snapshot).
    public var internalPort: String

    /// Generates (or reads back) every value; writes to the state store.
    public static func establish(tenant: String, spec: TenantSpec, store: StateStore) throws -> TenantIdentity {
        func value(_ key: String, _ make: () -> String) throws -> String {
            try store.ensureValue(tenant: tenant, key: key, generate: make)
        }
        let request: CIDRRequest =
            spec.vendorAccount.vpc.explicitBlock.map { .explicit($0) }
            ?? .auto(prefixLength: spec.vendorAccount.vpc.prefixLength)
        let block = try store.allocateCIDR(tenant: tenant, request: request)
        let generatedExternalId = try value("externalId") { "vpt-\(RandomText.hex(bytes: 16))" }
        return TenantIdentity(
            vendorAccountId: try value("vendorAccountId") { String(format: "9%011llu", UInt64.random(in: 0..<100_000_000_000)) },
            externalId: spec.customerAccount.crossAccountRole.externalId == "auto"
                ? generatedExternalId : spec.customerAccount.crossAccountRole.externalId,
            vpcId: try value("vpcId") { "vpc-\(RandomText.hex(bytes: 9).prefix(17))" },
            subnetIds: try block.availabilityZoneSubnets.indices.map { i in
                try value("subnetId.\(i)") { "subnet-\(RandomText.hex(bytes: 9).prefix(17))" }
            },
            cmkKeyId: try value("cmkKeyId") { UUID().uuidString.lowercased() },
            cidr: block.description,
            controlPlanePort: String(try store.allocatePort(tenant: tenant, key: "controlPlanePort")),
            dataPlanePort: String(try store.allocatePort(tenant: tenant, key: "dataPlanePort")),
            internalPort: String(try store.allocatePort(tenant: tenant, key: "internalPort")))
    }

    /// The values as far as they exist, without writing anything (for `plan`).
    public static func peek(tenant: String, spec: TenantSpec, store: StateStore) throws -> TenantIdentity {
        let values = try store.values(tenant: tenant)
        let current = try store.allocation(tenant: tenant)
        let cidr: String
        if let explicit = spec.vendorAccount.vpc.explicitBlock {
            cidr = explicit.description
        } else if let current, current.prefixLength == spec.vendorAccount.vpc.prefixLength {
            cidr = current.description
        } else {
            cidr = unknown
        }
        let subnetCount = (try? CIDRBlock.parse(cidr).get().availabilityZoneSubnets.count) ?? 2
        let explicitExternal = spec.customerAccount.crossAccountRole.externalId
        return TenantIdentity(
            vendorAccountId: values["vendorAccountId"] ?? unknown,
            externalId: explicitExternal == "auto" ? values["externalId"] ?? unknown : explicitExternal,
            vpcId: values["vpcId"] ?? unknown,
            subnetIds: (0..<subnetCount).map { values["subnetId.\($0)"] ?? unknown },
            cmkKeyId: values["cmkKeyId"] ?? unknown, cidr: cidr,
            controlPlanePort: values["controlPlanePort"] ?? unknown, dataPlanePort: values["dataPlanePort"] ?? unknown,
            internalPort: values["internalPort"] ?? unknown)
    }
}
