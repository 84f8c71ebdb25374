import ArgumentParser
import Foundation
import VPTEngine

/// `vpt tenant endpoints NAME`: how to call the tenant (never prints a key, only where it is).
struct TenantEndpointsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "endpoints", abstract: "Show how to call a tenant's runtime.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Tenant name.") var name: String

    func run() async throws {
        do {
            let provisioner = try Provisioner(home: global.homeURL)
            _ = try TenantInventory(provisioner: provisioner).detail(name)
            let endpoints = try TenantEndpoints(paths: provisioner.paths, tenant: name)
            let featureServer = endpoints.dataPlane.absoluteString
            let controlPlane = endpoints.controlPlane.absoluteString
            let adminKey = provisioner.paths.adminKey(name).path
            // curl trusts the tenant CA only: the certificate is checked, never skipped.
            let cacert = endpoints.caFile.map { " --cacert \($0)" } ?? ""
            if global.output == .json {
                var json = ["featureServer": featureServer, "ingest": "\(featureServer)/ingest", "controlPlane": controlPlane, "adminKeyFile": adminKey]
                json["caFile"] = endpoints.caFile
                return Console.json(json)
            }
            Console.out("feature server  \(featureServer)/api/v1/feature-service/get-features")
            Console.out("ingest          \(featureServer)/ingest")
            Console.out("control plane   \(controlPlane)  (web UI: \(controlPlane)/ui)")
            Console.out("admin key file  \(adminKey)")
            if let ca = endpoints.caFile { Console.out("tenant CA       \(ca)") }
            Console.out("")
            Console.out("Try it (the vpt-health workspace is created by provisioning):")
            Console.out(
                "  curl -s\(cacert) -H \"Authorization: Tecton-key $(cat \(provisioner.paths.secrets(name).path)/health-api-key)\" -d '{\"params\": {\"workspace_name\": \"vpt-health\", \"feature_service_name\": \"probe_service\", \"join_key_map\": {\"probe_id\": \"smoke\"}}}' \(featureServer)/api/v1/feature-service/get-features"
            )
        } catch {
            throw Console.fail(error, format: global.output)
        }
    }
}
