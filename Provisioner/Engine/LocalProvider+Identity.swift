import Foundation
import VPTLocalCloud
import VPTModel

extension LocalProvider {
    /// The tenant's key audit log, in its vendor account.
    var audit: AuditLog {
        AuditLog(accountsRoot: paths.accounts, vendorAccount: graph.identity.vendorAccountId, region: graph.spec.vendorAccount.region, tenant: graph.tenant)
    }

    func applyVendorRole(_ r: DesiredResource) throws -> [String: String] {
        let account = r.attributes["account"]!, name = r.attributes["name"]!
        let isDataPlane = name == graph.dataPlaneRoleName
        let permissions =
            isDataPlane
            ? [IAMPermission(actions: ["sts:AssumeRole"], resources: [graph.crossAccountRoleArn])]
            : [IAMPermission(actions: ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"], resources: ["*"])]
        try iam.putRole(IAMRole(account: account, name: name, permissions: permissions, tags: ["vpt:tenant": graph.tenant]))
        FaultInjection.hit("iam_role.after-role")
        guard isDataPlane else { return ["arn": IAMRole.arn(account: account, name: name)] }
        // The data plane's workload identity: one access key whose secret lives only in the tenant's
        // secrets folder. A key left without its secret file by a crash is replaced and removed.
        let file = paths.dataPlaneCredential(graph.tenant)
        var credential = try SecureFiles.readJSON(AccessKeyCredential.self, from: file)
        if let current = credential, try iam.authenticate(current)?.name != name { credential = nil }
        if credential == nil {
            let fresh = try iam.createAccessKey(account: account, roleName: name)
            FaultInjection.hit("iam_role.after-access-key")
            try SecureFiles.writeJSON(fresh, to: file)
            credential = fresh
        }
        for stale in try iam.role(account: account, name: name)?.accessKeys ?? [] where stale.accessKeyId != credential!.accessKeyId {
            try iam.deleteAccessKey(account: account, roleName: name, accessKeyId: stale.accessKeyId)
        }
        return ["arn": IAMRole.arn(account: account, name: name), "accessKeyId": credential!.accessKeyId, "credentialFile": file.path]
    }

    func applyCrossAccountRole(_ r: DesiredResource) throws -> [String: String] {
        let a = r.attributes
        let role = IAMRole(
            account: a["account"]!, name: a["name"]!,
            trust: RoleTrust(principalArns: [a["trustedPrincipal"]!], externalIds: [a["externalId"]!]),
            maxSessionSeconds: Int(a["maxSessionSeconds"]!) ?? 3600,
            permissions: [
                IAMPermission(actions: ["store:read", "store:write"], resources: [a["onlineStore"]! + "*", a["offlineStore"]! + "*"])
            ], tags: ["vpt:tenant": graph.tenant])
        try iam.putRole(role)
        return ["arn": role.arn]
    }

    func applyCMK(_ r: DesiredResource) throws -> [String: String] {
        let a = r.attributes
        let grantees = a["grantees"]!.split(separator: ",").map(String.init)
        let rotationDays = Int(a["rotationDays"]!) ?? 365
        let account = a["account"]!, region = a["region"]!
        let ref: KMSKeyRef
        if a["managedBy"] == KeyManager.customer.rawValue {
            // On the local target vpt plays the customer's part too: it creates the referenced key in the
            // customer account if the customer has not (as their rendered Terraform would), then grants
            // the tenant's vendor roles its use through the key policy.
            let keyRef = a["keyRef"]!
            if let arnRef = KMSKeyRef(arn: keyRef) {
                ref = arnRef
            } else if let existing = try kms.resolveAlias(keyRef, account: account, region: region) {
                ref = existing
            } else {
                ref = KMSKeyRef(account: account, region: region, keyId: graph.identity.cmkKeyId)
            }
            let key = try kms.createKey(ref, description: "customer-managed key for vpt tenant \(graph.tenant)", rotationDays: rotationDays, grantees: [])
            FaultInjection.hit("cmk.after-key")
            if keyRef.hasPrefix("alias/") { try kms.setAlias(keyRef, to: ref) }
            try kms.setGrantees(ref, key.grantees + grantees)
            try audit.append(action: "cmk.grant", target: ref.arn, detail: "customer-managed key; use granted to \(grantees.joined(separator: ", "))")
            return ["arn": ref.arn, "managedBy": "customer"]
        }
        ref = KMSKeyRef(account: account, region: region, keyId: a["keyId"]!)
        var key = try kms.createKey(ref, description: "vpt tenant \(graph.tenant)", rotationDays: rotationDays, grantees: grantees)
        FaultInjection.hit("cmk.after-key")
        if key.rotationDays != rotationDays || key.grantees != grantees.sorted() {
            key.rotationDays = rotationDays
            try kms.setGrantees(ref, grantees)
            try kms.setRotationDays(ref, rotationDays)
        }
        try kms.setAlias(a["keyRef"]!, to: ref)
        try audit.append(action: "cmk.create", target: ref.arn, detail: "vendor-managed key, rotation every \(rotationDays) days; use granted to \(grantees.joined(separator: ", "))")
        return ["arn": ref.arn, "managedBy": "vendor"]
    }

    func deleteCMK(_ a: [String: String], _ outputs: [String: String]) throws -> DeleteOutcome {
        guard let arn = outputs["arn"], let ref = KMSKeyRef(arn: arn) else { return .deleted }
        guard try kms.describe(ref) != nil else { return .deleted }
        if a["managedBy"] == KeyManager.customer.rawValue {
            let revoked = Set(a["grantees"]?.split(separator: ",").map(String.init) ?? [])
            let kept = (try kms.describe(ref)?.grantees ?? []).filter { !revoked.contains($0) }
            try kms.setGrantees(ref, kept)
            try audit.append(action: "cmk.revoke-grants", target: arn, detail: "deprovisioned: the tenant's grants were removed; the key stays with the customer")
            return .retained("customer-managed key \(arn) stays in the customer account; the tenant's grants were removed")
        }
        try kms.deleteAlias(a["keyRef"] ?? "", account: ref.account, region: ref.region)
        let date = try kms.scheduleDeletion(ref, days: keyDeletionDays)
        try audit.append(action: "cmk.schedule-deletion", target: arn, detail: "deprovisioned: deletion on \(ISO8601DateFormatter().string(from: date))")
        return .scheduled(date)
    }
}
