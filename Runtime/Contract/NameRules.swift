#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Syntax rules for names and identifiers in a spec, shared by validation and the CLI.
public enum NameRules {
    /// Longest tenant name: it is embedded in resource names with tight limits (IAM roles, buckets).
    public static let maxTenantNameLength = 21

    /// RFC 1123 label: lowercase letters, digits and `-`, starting with a letter, not ending in `-`.
    public static func isDNSLabel(_ text: String, maxLength: Int = 63) -> Bool {
        guard !text.isEmpty, text.count <= maxLength else { return false }
        let bytes = Array(text.utf8)
        guard let first = bytes.first, let last = bytes.last, isLower(first), last != UInt8(ascii: "-") else {
            return false
        }
        return bytes.allSatisfy { isLower($0) || isDigit($0) || $0 == UInt8(ascii: "-") }
    }

    /// An IPv4 or IPv6 address literal (an IPv6 one may be in URL brackets), as opposed to a host name.
    public static func isIPAddress(_ host: String) -> Bool {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, bare, &v4) == 1 || inet_pton(AF_INET6, bare, &v6) == 1
    }

    /// Cloud region names such as `eu-west-1`, `us-gov-west-1`, `ap-southeast-2`.
    public static func isRegion(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard (3...4).contains(parts.count) else { return false }
        guard let number = parts.last, !number.isEmpty, number.allSatisfy(\.isNumber) else { return false }
        return parts.dropLast().allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy(isLower) }
    }

    /// Twelve digits, as cloud account ids are.
    public static func isAccountId(_ text: String) -> Bool {
        text.utf8.count == 12 && text.utf8.allSatisfy(isDigit)
    }

    /// Workspace names: letters, digits, `-` and `_`, starting with a letter, at most 63.
    public static func isWorkspaceName(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, bytes.count <= 63, isLower(first) || isUpper(first) else { return false }
        return bytes.allSatisfy {
            isLower($0) || isUpper($0) || isDigit($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")
        }
    }

    /// AWS's rule for `sts:ExternalId`: 2 to 1224 characters of `[\w+=,.@:/-]`.
    public static func isExternalId(_ text: String) -> Bool {
        let allowed = Set("+=,.@:/-_".utf8)
        return (2...1224).contains(text.utf8.count)
            && text.utf8.allSatisfy { isLower($0) || isUpper($0) || isDigit($0) || allowed.contains($0) }
    }

    /// S3 bucket names: 3..63 of lowercase letters, digits, `.` and `-`, starting and ending alphanumeric.
    public static func isBucketName(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (3...63).contains(bytes.count), let first = bytes.first, let last = bytes.last,
            isLower(first) || isDigit(first), isLower(last) || isDigit(last)
        else { return false }
        return bytes.allSatisfy { isLower($0) || isDigit($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    }

    /// Customer key references: `alias/NAME` or `arn:aws:kms:REGION:ACCOUNT:key/ID|alias/NAME`.
    public static func parseKeyRef(_ text: String) -> (region: String?, account: String?, alias: String?)? {
        if text.hasPrefix("alias/") {
            let name = text.dropFirst(6)
            return isAliasName(name) ? (nil, nil, String(text)) : nil
        }
        let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 6, parts[0] == "arn", parts[1].hasPrefix("aws"), parts[2] == "kms",
            isRegion(parts[3]), isAccountId(parts[4])
        else { return nil }
        let resource = parts[5]
        if resource.hasPrefix("alias/"), isAliasName(resource.dropFirst(6)) {
            return (parts[3], parts[4], resource)
        }
        if resource.hasPrefix("key/"), resource.count > 4 {
            return (parts[3], parts[4], nil)
        }
        return nil
    }

    private static func isAliasName(_ name: Substring) -> Bool {
        !name.isEmpty && name.count <= 250 && !name.hasPrefix("aws/")
            && name.utf8.allSatisfy {
                isLower($0) || isUpper($0) || isDigit($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")
                    || $0 == UInt8(ascii: "/")
            }
    }

    private static func isLower(_ b: UInt8) -> Bool { b >= 97 && b <= 122 }
    private static func isUpper(_ b: UInt8) -> Bool { b >= 65 && b <= 90 }
    private static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
}
