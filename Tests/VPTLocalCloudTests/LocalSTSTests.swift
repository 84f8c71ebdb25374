import Foundation
import Testing

@testable import VPTLocalCloud
import VPTTestSupport

@Suite struct LocalSTSTests {
    let root = temporaryDirectory()
    var iam: LocalIAM { LocalIAM(accountsRoot: root) }
    var sts: LocalSTS { LocalSTS(iam: iam) }
    let vendor = "111111111111"
    let customer = "222222222222"
    var target: String { IAMRole.arn(account: customer, name: "vpt-acme-access") }

    func setUp() throws -> AccessKeyCredential {
        try iam.putRole(IAMRole(account: vendor, name: "vpt-acme-data-plane"))
        try iam.putRole(
            IAMRole(
                account: customer, name: "vpt-acme-access",
                trust: RoleTrust(principalArns: [IAMRole.arn(account: vendor, name: "vpt-acme-data-plane")], externalIds: ["ext-123"]),
                maxSessionSeconds: 3600,
                permissions: [IAMPermission(actions: ["store:read"], resources: ["local:online/acme/*"])]))
        return try iam.createAccessKey(account: vendor, roleName: "vpt-acme-data-plane")
    }

    @Test func assumeRoleWithTheRightExternalIdIssuesAValidSession() throws {
        let caller = try setUp()
        let session = try sts.assumeRole(roleArn: target, externalId: "ext-123", sessionName: "dp", durationSeconds: 900, caller: caller)
        let identity = try sts.authorize(session, action: "store:read", resource: "local:online/acme/db.sqlite")
        #expect(identity.roleName == "vpt-acme-access")
        #expect(throws: STSError.self) { try sts.authorize(session, action: "store:write", resource: "local:online/acme/db.sqlite") }
        #expect(throws: STSError.self) { try sts.authorize(session, action: "store:read", resource: "local:online/other/db.sqlite") }
    }

    @Test func wrongOrMissingExternalIdIsDenied() throws {
        let caller = try setUp()
        #expect(throws: STSError.accessDenied("the external ID does not match the trust policy of \(target)")) {
            try sts.assumeRole(roleArn: target, externalId: "ext-999", sessionName: "dp", durationSeconds: 900, caller: caller)
        }
        #expect(throws: STSError.self) {
            try sts.assumeRole(roleArn: target, externalId: nil, sessionName: "dp", durationSeconds: 900, caller: caller)
        }
    }

    @Test func unknownRoleUntrustedCallerAndBadSecretAreDenied() throws {
        let caller = try setUp()
        #expect(throws: STSError.self) {
            try sts.assumeRole(roleArn: IAMRole.arn(account: customer, name: "nope"), externalId: "ext-123", sessionName: "dp", durationSeconds: 900, caller: caller)
        }
        try iam.putRole(IAMRole(account: vendor, name: "intruder"))
        let intruder = try iam.createAccessKey(account: vendor, roleName: "intruder")
        #expect(throws: STSError.accessDenied("\(target) does not trust \(IAMRole.arn(account: vendor, name: "intruder"))")) {
            try sts.assumeRole(roleArn: target, externalId: "ext-123", sessionName: "dp", durationSeconds: 900, caller: intruder)
        }
        let forged = AccessKeyCredential(accessKeyId: caller.accessKeyId, secretAccessKey: "guess")
        #expect(throws: STSError.accessDenied("the caller's access key is not valid")) {
            try sts.assumeRole(roleArn: target, externalId: "ext-123", sessionName: "dp", durationSeconds: 900, caller: forged)
        }
    }

    @Test func sessionsExpireAndDurationIsBounded() throws {
        let caller = try setUp()
        let now = Date()
        let session = try sts.assumeRole(roleArn: target, externalId: "ext-123", sessionName: "dp", durationSeconds: 900, caller: caller, now: now)
        _ = try sts.validate(session, now: now.addingTimeInterval(899))
        #expect(throws: STSError.expired(session.expiration)) { try sts.validate(session, now: now.addingTimeInterval(901)) }
        #expect(throws: STSError.self) {
            try sts.assumeRole(roleArn: target, externalId: "ext-123", sessionName: "dp", durationSeconds: 3601, caller: caller)
        }
    }

    @Test func tamperedTokensAndDeletedRolesAreRejected() throws {
        let caller = try setUp()
        var session = try sts.assumeRole(roleArn: target, externalId: "ext-123", sessionName: "dp", durationSeconds: 900, caller: caller)
        var stolen = session
        stolen.secretAccessKey = "not-the-secret"
        #expect(throws: STSError.invalidToken("the secret does not belong to this session")) { try sts.validate(stolen) }
        session.sessionToken = String(session.sessionToken.dropLast(2)) + "AA"
        #expect(throws: STSError.self) { try sts.validate(session) }
        let fresh = try sts.assumeRole(roleArn: target, externalId: "ext-123", sessionName: "dp", durationSeconds: 900, caller: caller)
        try iam.deleteRole(account: customer, name: "vpt-acme-access")
        #expect(throws: STSError.accessDenied("role vpt-acme-access no longer exists")) { try sts.validate(fresh) }
    }

    @Test func secretsAreStoredOnlyAsHashes() throws {
        let caller = try setUp()
        let data = try String(contentsOf: iam.roleFile(account: vendor, name: "vpt-acme-data-plane"), encoding: .utf8)
        #expect(!data.contains(caller.secretAccessKey))
        #expect(data.contains(RandomText.sha256Hex(caller.secretAccessKey)))
    }
}
