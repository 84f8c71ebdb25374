import Crypto
import Foundation

/// Why STS refused; messages name the role and the reason, never a secret.
public enum STSError: Error, Equatable, Sendable, CustomStringConvertible {
    case accessDenied(String)
    case expired(Date)
    case invalidToken(String)
    case validation(String)

    public var description: String {
        switch self {
        case .accessDenied(let reason): "access denied: \(reason)"
        case .expired(let date): "the session expired at \(ISO8601DateFormatter().string(from: date)); assume the role again"
        case .invalidToken(let reason): "the session token is invalid: \(reason)"
        case .validation(let reason): "invalid request: \(reason)"
        }
    }
}

/// The local STS: AssumeRole with external-ID checks and expiring, signed session credentials that
/// store adapters verify before they open anything.
public struct LocalSTS: Sendable {
    public let iam: LocalIAM
    public init(iam: LocalIAM) { self.iam = iam }

    /// Shortest session AWS allows.
    public static let minimumSessionSeconds = 900

    /// Assumes `roleArn` as the principal owning `caller`, if the role trusts it and `externalId` matches.
    public func assumeRole(
        roleArn: String, externalId: String?, sessionName: String, durationSeconds: Int,
        caller: AccessKeyCredential, now: Date = Date()
    ) throws -> SessionCredential {
        guard let callerRole = try iam.authenticate(caller) else {
            throw STSError.accessDenied("the caller's access key is not valid")
        }
        guard let target = IAMRole.parse(arn: roleArn), let role = try iam.role(account: target.account, name: target.name)
        else { throw STSError.accessDenied("\(callerRole.arn) is not authorized to assume \(roleArn)") }
        guard let trust = role.trust, trust.principalArns.contains(callerRole.arn) else {
            throw STSError.accessDenied("\(roleArn) does not trust \(callerRole.arn)")
        }
        if !trust.externalIds.isEmpty {
            guard let externalId, trust.externalIds.contains(externalId) else {
                throw STSError.accessDenied("the external ID does not match the trust policy of \(roleArn)")
            }
        }
        guard (Self.minimumSessionSeconds...role.maxSessionSeconds).contains(durationSeconds) else {
            throw STSError.validation(
                "durationSeconds \(durationSeconds) is outside \(Self.minimumSessionSeconds)...\(role.maxSessionSeconds), the role's maximum session")
        }
        let expiration = Date(timeIntervalSince1970: (now.timeIntervalSince1970 + Double(durationSeconds)).rounded(.down))
        let secret = RandomText.base64url(bytes: 30)
        let claims = SessionClaims(
            account: role.account, role: role.name, session: sessionName, expires: Int64(expiration.timeIntervalSince1970),
            secretSHA256: RandomText.sha256Hex(secret))
        let payload = try JSONCoding.encoder.encode(claims)
        let signature = HMAC<SHA256>.authenticationCode(for: payload, using: try signingKey(account: role.account))
        let token = RandomText.base64url(payload) + "." + RandomText.base64url(Data(signature))
        return SessionCredential(
            accessKeyId: "LSIA\(RandomText.upperAlphanumeric(16))", secretAccessKey: secret, sessionToken: token,
            expiration: expiration)
    }

    /// Checks a session: signature, expiry, and that its role still exists.
    public func validate(_ session: SessionCredential, now: Date = Date()) throws -> AssumedRole {
        let parts = session.sessionToken.split(separator: ".")
        guard parts.count == 2, let payload = RandomText.decodeBase64url(String(parts[0])),
            let signature = RandomText.decodeBase64url(String(parts[1])),
            let claims = try? JSONCoding.decoder.decode(SessionClaims.self, from: payload)
        else { throw STSError.invalidToken("malformed") }
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: payload, using: try signingKey(account: claims.account))
        else { throw STSError.invalidToken("bad signature") }
        guard claims.secretSHA256 == RandomText.sha256Hex(session.secretAccessKey) else {
            throw STSError.invalidToken("the secret does not belong to this session")
        }
        let expiration = Date(timeIntervalSince1970: TimeInterval(claims.expires))
        guard now < expiration else { throw STSError.expired(expiration) }
        guard try iam.role(account: claims.account, name: claims.role) != nil else {
            throw STSError.accessDenied("role \(claims.role) no longer exists")
        }
        return AssumedRole(account: claims.account, roleName: claims.role, sessionName: claims.session, expiration: expiration)
    }

    /// Validates the session and checks that its role allows `action` on `resource`.
    public func authorize(_ session: SessionCredential, action: String, resource: String, now: Date = Date()) throws -> AssumedRole {
        let identity = try validate(session, now: now)
        guard let role = try iam.role(account: identity.account, name: identity.roleName),
            role.permissions.contains(where: { $0.allows(action, on: resource) })
        else { throw STSError.accessDenied("\(identity.arn) is not allowed to \(action) on \(resource)") }
        return identity
    }

    /// Per-account token signing key, created once; concurrent first uses agree on one key.
    private func signingKey(account: String) throws -> SymmetricKey {
        let url = iam.accountsRoot.appendingPathComponent("\(account)/global/sts/signing.key")
        if let data = FileManager.default.contents(atPath: url.path), data.count == 32 { return SymmetricKey(data: data) }
        let fresh = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        return SymmetricKey(data: try SecureFiles.createIfAbsent(fresh, at: url))
    }
}

/// What a session token asserts; signed, not encrypted, and holds no secret.
struct SessionClaims: Codable {
    var account: String
    var role: String
    var session: String
    var expires: Int64
    var secretSHA256: String
}
