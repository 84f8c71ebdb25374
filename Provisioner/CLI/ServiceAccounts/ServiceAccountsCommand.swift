import ArgumentParser
import Foundation
import VPTContract
import VPTEngine

/// `vpt service-accounts`: a tenant's service accounts and their serving limits.
struct ServiceAccountsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service-accounts", abstract: "List a tenant's service accounts and set their serving limits.",
        subcommands: [ServiceAccountsListCommand.self, ServiceAccountsLimitCommand.self])
}

struct ServiceAccountsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "Each service account's roles, live API keys and the serving limit applied to it.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Tenant name.") var name: String

    static func limit(_ account: ServiceAccountSummary) -> String {
        guard let limit = account.rateLimit else { return "none" }
        return "\(limit.requestsPerSecond)/s, burst \(limit.burst) (\(account.rateLimitSource == .account ? "own" : "tenant default"))"
    }

    func run() async throws {
        do {
            let accounts = try ServiceAccountClient(home: global.homeURL).list(tenant: name)
            if global.output == .json { return Console.json(["serviceAccounts": accounts]) }
            Console.out(
                accounts.isEmpty
                    ? "No service accounts."
                    : Console.table(
                        ["NAME", "ROLES", "LIVE KEYS", "SERVING LIMIT"],
                        accounts.map { account in
                            [
                                account.name, account.roles.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
                                String(account.liveAPIKeys), Self.limit(account),
                            ]
                        }))
        } catch {
            throw Console.fail(error, format: global.output)
        }
    }
}

struct ServiceAccountsLimitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "limit", abstract: "Set one service account's own serving limit, or --reset it to the tenant default.",
        discussion: """
            The limit is a token bucket shared by all the account's keys: get-features and metadata take one \
            token, get-features-batch one per entry; an empty bucket answers 429 with Retry-After. The feature \
            server applies a change within about a second. The tenant default is the spec's dataPlane.rateLimit.
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Tenant name.") var name: String
    @Argument(help: "Service account.") var account: String
    @Option(name: .customLong("requests-per-second"), help: "Lookups per second the bucket refills (1–1000000).") var requestsPerSecond: Int?
    @Option(help: "Most lookups at once (1–1000000; default: one second's worth).") var burst: Int?
    @Flag(help: "Drop the account's own limit; the tenant default (or none) applies again.") var reset = false

    func validate() throws {
        guard (requestsPerSecond != nil) != reset else { throw ValidationError("choose one of --requests-per-second N or --reset") }
        if reset, burst != nil { throw ValidationError("--burst goes with --requests-per-second, not --reset") }
    }

    func run() async throws {
        do {
            let client = try ServiceAccountClient(home: global.homeURL)
            if let requestsPerSecond {
                try client.setRateLimit(tenant: name, account: account, RateLimit(requestsPerSecond: requestsPerSecond, burst: burst))
            } else {
                try client.resetRateLimit(tenant: name, account: account)
            }
            // What the feature server will apply now, read back from the control plane.
            let applied = try client.list(tenant: name).first { $0.name == account }
            if global.output == .json { return Console.json(applied) }
            let limit = applied.map(ServiceAccountsListCommand.limit) ?? "none"
            Console.out("Service account '\(account)' serving limit: \(limit); the feature server applies it within about a second.")
        } catch {
            throw Console.fail(error, format: global.output)
        }
    }
}
