import Foundation
import Hummingbird
import VPTContract

/// `POST /v1/workspaces/{ws}/jobs` body: a view and, optionally, the window to (re)materialize.
struct TriggerBody: Decodable {
    var featureView: String
    var start: Date?
    var end: Date?
}

/// The Rift job API: list and read (viewer), trigger and cancel (operator), and the tenant-wide
/// materialization summary (admin) that health checks read.
extension ControlPlaneController {
    func requireScheduler() throws -> JobScheduler {
        guard let scheduler else { throw APIError(.conflict, JobScheduler.Failure.disabled.description) }
        return scheduler
    }

    static func apiError(_ failure: JobScheduler.Failure) -> APIError {
        switch failure {
        case .notFound(let m): APIError.notFound(m)
        case .invalid(let m): APIError.badRequest(m)
        case .conflict(let m): APIError(.conflict, m)
        case .disabled: APIError(.conflict, failure.description)
        }
    }

    func scheduling<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let failure as JobScheduler.Failure {
            throw Self.apiError(failure)
        }
    }

    func addJobRoutes(to router: Router<some RequestContext>) {
        router.get("/v1/workspaces/:workspace/jobs") { request, context -> Response in
            let caller = try await caller(request)
            let workspace = try workspace(context)
            try require(caller, .viewer, on: workspace)
            let query = request.uri.queryParameters
            var state: JobState?
            if let text = query.get("state") {
                guard let parsed = JobState(rawValue: text.uppercased()) else {
                    throw APIError.badRequest("state: '\(text)' must be one of \(JobState.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                state = parsed
            }
            var limit = 100
            if let text = query.get("limit") {
                guard let parsed = Int(text), (1...10_000).contains(parsed) else { throw APIError.badRequest("limit: '\(text)' must be 1–10000") }
                limit = parsed
            }
            let jobs = try await requireScheduler().list(
                workspace: workspace, featureView: query.get("feature_view"), state: state, limit: limit)
            return try JSONBody.encodable(["jobs": jobs])
        }
        router.get("/v1/workspaces/:workspace/jobs/:id") { request, context -> Response in
            let caller = try await caller(request)
            let workspace = try workspace(context)
            try require(caller, .viewer, on: workspace)
            let id = try context.parameters.require("id")
            let scheduler = try requireScheduler()
            return try JSONBody.encodable(try await scheduling { try await scheduler.job(workspace: workspace, id: id) })
        }
        router.post("/v1/workspaces/:workspace/jobs") { request, context -> Response in
            let caller = try await caller(request)
            let workspace = try workspace(context)
            try require(caller, .operator, on: workspace)
            let scheduler = try requireScheduler()
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            let body = try await JSONBody.decode(TriggerBody.self, request, decoder: decoder)
            let jobs = try await scheduling {
                try await scheduler.trigger(workspace: workspace, featureView: body.featureView, start: body.start, end: body.end)
            }
            return try JSONBody.encodable(["jobs": jobs], status: .created)
        }
        router.post("/v1/workspaces/:workspace/jobs/:id/cancel") { request, context -> Response in
            let caller = try await caller(request)
            let workspace = try workspace(context)
            try require(caller, .operator, on: workspace)
            let id = try context.parameters.require("id")
            let scheduler = try requireScheduler()
            return try JSONBody.encodable(try await scheduling { try await scheduler.cancel(workspace: workspace, id: id) })
        }
        router.get("/v1/materialization") { request, _ -> Response in
            try requireAdmin(try await caller(request))
            let views = try await requireScheduler().materialization()
            return try JSONBody.encodable(["featureViews": views])
        }
    }
}
