import Foundation
import VPTContract

/// The semantic rules of a tenant spec; each violation names the field, the value and the rule.
struct TenantSpecValidator {
    let spec: TenantSpec
    let fleet: FleetContext
    let diagnostics: SpecDiagnostics

    func run() {
        checkNames()
        checkVendor()
        checkCustomer()
        checkEncryption()
        checkDataPlane()
        checkPrincipals()
        checkResidency()
    }

    private func fail(_ path: String, _ value: String?, _ rule: String) {
        diagnostics.add(SpecIssue(path: path, value: value, rule: rule))
    }

    /// Skips fields that already failed a type or presence check.
    private func check(_ path: String, _ value: String, _ ok: Bool, _ rule: String) {
        guard !diagnostics.hasIssue(at: path), !ok else { return }
        fail(path, value, rule)
    }

    private func range(_ path: String, _ value: Int, _ bounds: ClosedRange<Int>, _ unit: String = "") {
        check(path, String(value), bounds.contains(value), "must be between \(bounds.lowerBound) and \(bounds.upperBound)\(unit)")
    }

    private func checkNames() {
        check(
            "name", spec.name, NameRules.isDNSLabel(spec.name, maxLength: NameRules.maxTenantNameLength),
            "must be a DNS label (lowercase letters, digits and '-', starting with a letter) of at most \(NameRules.maxTenantNameLength) characters"
        )
        if let description = spec.description {
            check("description", description, description.count <= 256, "must be at most 256 characters")
        }
        for (key, value) in spec.labels {
            check("labels.\(key)", key, !key.isEmpty && key.count <= 128, "label keys must be 1 to 128 characters")
            check("labels.\(key)", value, value.count <= 256, "label values must be at most 256 characters")
        }
    }

    private func checkVendor() {
        let v = spec.vendorAccount
        check("vendorAccount.region", v.region, NameRules.isRegion(v.region), "is not a region name such as 'eu-west-1'")
        let cidrPath = "vendorAccount.vpc.cidr"
        if v.vpc.cidr == "auto" {
            range("vendorAccount.vpc.prefixLength", v.vpc.prefixLength, 16...28)
            return
        }
        switch CIDRBlock.parse(v.vpc.cidr) {
        case .failure(.syntax):
            check(cidrPath, v.vpc.cidr, false, "must be 'auto' or an IPv4 CIDR block such as 10.20.0.0/16")
        case .failure(.hostBitsSet(let suggested)):
            check(cidrPath, v.vpc.cidr, false, "has host bits set; the network address is \(suggested)")
        case .success(let block):
            check(cidrPath, v.vpc.cidr, (16...28).contains(block.prefixLength), "must have a prefix length from /16 to /28")
            for (tenant, other) in fleet.overlapping(block) where tenant != spec.name {
                check(cidrPath, v.vpc.cidr, false, "overlaps the VPC of tenant '\(tenant)' (\(other))")
            }
        }
    }

    private func checkCustomer() {
        let c = spec.customerAccount
        let p = "customerAccount"
        check("\(p).accountId", c.accountId, NameRules.isAccountId(c.accountId), "must be a 12-digit account id")
        check("\(p).region", c.region, NameRules.isRegion(c.region), "is not a region name such as 'eu-west-1'")
        let allowed = "\(p).residency.allowedRegions"
        if c.residency.allowedRegions.isEmpty, !diagnostics.hasIssue(at: allowed) {
            fail(allowed, nil, "must list at least one region")
        }
        var seen: Set<String> = []
        for (i, region) in c.residency.allowedRegions.enumerated() {
            check("\(allowed)[\(i)]", region, NameRules.isRegion(region), "is not a region name such as 'eu-west-1'")
            check("\(allowed)[\(i)]", region, seen.insert(region).inserted, "is listed twice")
        }
        let role = c.crossAccountRole
        check(
            "\(p).crossAccountRole.externalId", role.externalId,
            role.externalId == "auto" || NameRules.isExternalId(role.externalId),
            "must be 'auto' or 2 to 1224 characters of letters, digits and +=,.@:/-_")
        range("\(p).crossAccountRole.maxSessionSeconds", role.maxSessionSeconds, 900...43200, " seconds")
        let online = c.onlineStore
        switch online.kind {
        case .redis:
            let endpoint = online.endpoint ?? ""
            let url = URLComponents(string: endpoint)
            // A password typed into the URL is refused below, and never echoed in the message.
            var shown = endpoint
            if url?.password != nil, var redacted = url {
                redacted.password = "***"
                shown = redacted.string ?? "redis://***"
            }
            let tls = url?.scheme == "rediss"
            check(
                "\(p).onlineStore.endpoint", shown,
                (url?.scheme == "redis" || tls) && url?.host?.isEmpty == false && url?.port != nil,
                "is required for a redis online store, as redis://[USER@]HOST:PORT[/DB], or rediss:// for TLS")
            if tls, let host = url?.host {
                check(
                    "\(p).onlineStore.endpoint", shown, !NameRules.isIPAddress(host),
                    "must name the server by the DNS name in its TLS certificate, not by an IP address, for the certificate to be checked")
            }
            if let caFile = online.caFile {
                check("\(p).onlineStore.caFile", caFile, tls, "is only used with a rediss:// (TLS) endpoint; remove it or use rediss://")
                check(
                    "\(p).onlineStore.caFile", caFile, caFile.hasPrefix("/") && !caFile.contains("\0"),
                    "must be the absolute path of a PEM file with the certificate authorities of the server's certificate")
            }
            for (field, path, other, what) in [
                ("clientCertFile", online.clientCertFile, online.clientKeyFile, "the tenant's client certificate (PEM)"),
                ("clientKeyFile", online.clientKeyFile, online.clientCertFile, "the client certificate's private key (PEM, mode 0600)"),
            ] {
                guard let path else { continue }
                check("\(p).onlineStore.\(field)", path, tls, "is only used with a rediss:// (TLS) endpoint; remove it or use rediss://")
                check("\(p).onlineStore.\(field)", path, path.hasPrefix("/") && !path.contains("\0"), "must be the absolute path of \(what)")
                check(
                    "\(p).onlineStore.\(field)", path, other != nil,
                    "needs onlineStore.\(field == "clientCertFile" ? "clientKeyFile" : "clientCertFile") too: a client certificate goes with its key")
            }
            check(
                "\(p).onlineStore.endpoint", shown, url?.password == nil,
                "must not carry a password; put it in a file and name that file in onlineStore.passwordFile")
            let passwordFile = online.passwordFile ?? ""
            check(
                "\(p).onlineStore.passwordFile", passwordFile, passwordFile.hasPrefix("/") && !passwordFile.contains("\0"),
                "is required for a redis online store: the absolute path of a file (mode 0600) with the password of the tenant's Redis ACL user")
        case .sqlite, .dynamodb:
            if online.kind == .sqlite, let endpoint = online.endpoint {
                check("\(p).onlineStore.endpoint", endpoint, false, "is not used by a sqlite online store; remove it")
            }
            if let passwordFile = online.passwordFile {
                check("\(p).onlineStore.passwordFile", passwordFile, false, "is only used by a redis online store; remove it")
            }
            for (field, path) in [("caFile", online.caFile), ("clientCertFile", online.clientCertFile), ("clientKeyFile", online.clientKeyFile)] {
                if let path { check("\(p).onlineStore.\(field)", path, false, "is only used by a redis online store; remove it") }
            }
            if online.kind == .dynamodb {
                check(
                    "\(p).onlineStore.kind", online.kind.rawValue, spec.vendorAccount.provider == .aws,
                    "needs vendorAccount.provider 'aws'; the local target offers sqlite and redis")
            }
        }
        let offline = c.offlineStore
        switch offline.kind {
        case .s3:
            check(
                "\(p).offlineStore.kind", offline.kind.rawValue, spec.vendorAccount.provider == .aws,
                "needs vendorAccount.provider 'aws'; the local target offers 'local'")
            check(
                "\(p).offlineStore.bucket", offline.bucket ?? "", NameRules.isBucketName(offline.bucket ?? ""),
                "is required for s3 and must be 3 to 63 lowercase letters, digits, '.' or '-'")
        case .local:
            if let bucket = offline.bucket {
                check("\(p).offlineStore.bucket", bucket, false, "is only used with kind 's3'; remove it")
            }
        }
        var names: Set<String> = []
        for (i, compute) in c.computeProviders.enumerated() {
            let cp = "\(p).computeProviders[\(i)]"
            check("\(cp).name", compute.name, NameRules.isDNSLabel(compute.name), "must be a DNS label")
            check("\(cp).name", compute.name, names.insert(compute.name).inserted, "is used by two compute providers")
            check("\(cp).region", compute.region, NameRules.isRegion(compute.region), "is not a region name")
        }
    }

    private func checkEncryption() {
        let cmk = spec.encryption.cmk
        let p = "encryption.cmk"
        range("\(p).rotationDays", cmk.rotationDays, 90...2560, " days")
        switch cmk.managedBy {
        case .vendor:
            if let ref = cmk.keyRef {
                check("\(p).keyRef", ref, false, "is only used with managedBy 'customer'; remove it")
            }
        case .customer:
            guard let ref = cmk.keyRef else {
                if !diagnostics.hasIssue(at: "\(p).keyRef") {
                    fail("\(p).keyRef", nil, "is required when managedBy is 'customer' (alias/NAME or a KMS key ARN)")
                }
                return
            }
            guard let parsed = NameRules.parseKeyRef(ref) else {
                check("\(p).keyRef", ref, false, "must be alias/NAME or arn:aws:kms:REGION:ACCOUNT:key/ID")
                return
            }
            if let account = parsed.account {
                check(
                    "\(p).keyRef", ref, account == spec.customerAccount.accountId,
                    "must name a key in the customer account \(spec.customerAccount.accountId)")
            }
        }
    }

    private func checkDataPlane() {
        let cache = spec.dataPlane.servingCache
        range("dataPlane.servingCache.maxAgeSeconds", cache.maxAgeSeconds, 1...86400, " seconds (the cache holds data at most 24 h)")
        range("dataPlane.servingCache.maxEntries", cache.maxEntries, 1...10_000_000)
        for violation in spec.dataPlane.rateLimit?.violations ?? [] {
            let unit = violation.field == "burst" ? " requests" : " requests per second"
            range("dataPlane.rateLimit.\(violation.field)", violation.value, violation.range, unit)
        }
        if let loops = spec.dataPlane.eventLoops { range("dataPlane.eventLoops", loops, DataPlaneSpec.eventLoopsRange, " threads") }
        if let connections = spec.dataPlane.maxConnections {
            range("dataPlane.maxConnections", connections, DataPlaneSpec.maxConnectionsRange, " connections")
        }
        let rift = spec.dataPlane.rift
        range("dataPlane.rift.maxConcurrentJobs", rift.maxConcurrentJobs, 1...32)
        range("dataPlane.rift.maxAttempts", rift.maxAttempts, 1...10)
        range("dataPlane.rift.retryBackoffSeconds", rift.retryBackoffSeconds, 1...3600, " seconds")
        range("dataPlane.rift.jobHistoryDays", rift.jobHistoryDays, 1...3650, " days")
        // A defaulted Rift region repeats the vendor region, which is checked (and reported) once.
        if rift.region != spec.vendorAccount.region {
            check("dataPlane.rift.region", rift.region, NameRules.isRegion(rift.region), "is not a region name")
        }
    }

    private func checkPrincipals() {
        var seen: Set<String> = []
        for (i, principal) in spec.principals.enumerated() {
            let p = "principals[\(i)]"
            check(
                "\(p).serviceAccount", principal.serviceAccount, NameRules.isDNSLabel(principal.serviceAccount),
                "must be a DNS label of at most 63 characters")
            check(
                "\(p).workspace", principal.workspace, NameRules.isWorkspaceName(principal.workspace),
                "must start with a letter and hold only letters, digits, '-' and '_' (at most 63)")
            let key = "\(principal.serviceAccount)@\(principal.workspace)"
            check("\(p).serviceAccount", principal.serviceAccount, seen.insert(key).inserted,
                  "already has a role on workspace '\(principal.workspace)'; give each service account one role per workspace")
        }
    }

    /// Data in flight, at rest and in compute must stay in the allowed regions.
    private func checkResidency() {
        let allowed = spec.customerAccount.residency.allowedRegions
        guard !allowed.isEmpty, !diagnostics.hasIssue(at: "customerAccount.residency") else { return }
        let rule = "is outside residency.allowedRegions [\(allowed.joined(separator: ", "))]"
        var locations: [(String, String)] = [
            ("vendorAccount.region", spec.vendorAccount.region),
            ("customerAccount.region", spec.customerAccount.region),
            ("customerAccount.onlineStore.region", spec.customerAccount.onlineStore.region),
            ("customerAccount.offlineStore.region", spec.customerAccount.offlineStore.region),
            ("dataPlane.rift.region", spec.dataPlane.rift.region),
        ]
        for (i, compute) in spec.customerAccount.computeProviders.enumerated() {
            locations.append(("customerAccount.computeProviders[\(i)].region", compute.region))
        }
        if let ref = spec.encryption.cmk.keyRef, let region = NameRules.parseKeyRef(ref)?.region {
            locations.append(("encryption.cmk.keyRef", region))
        }
        let vendorRegionFailed = diagnostics.hasIssue(at: "vendorAccount.region")
        for (path, region) in locations {
            // Rift defaults to the vendor region; one bad value is reported once, where it was written.
            if path == "dataPlane.rift.region", region == spec.vendorAccount.region, vendorRegionFailed { continue }
            check(path, region, allowed.contains(region), rule)
        }
    }
}
