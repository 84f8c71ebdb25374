import Foundation
import VPTContract

/// A feature service resolved once per snapshot rather than on every request: its views in order,
/// each with its join keys, the union of join keys, and the response's metadata block for each
/// combination of the name and data-type options (the status option varies per request).
public struct ServingPlan: Sendable {
    public struct View: Sendable {
        public let definition: FeatureViewDefinition
        public let joinKeys: [TypedField]
        /// The view's features, for decoding its stored records.
        public let projection: FeatureProjection

        init(definition: FeatureViewDefinition, joinKeys: [TypedField]) {
            self.definition = definition
            self.joinKeys = joinKeys
            projection = FeatureProjection(names: definition.features.map(\.name))
        }
    }

    public let views: [View]
    public let joinKeys: [TypedField]
    /// Features in the response, over all views.
    public let featureCount: Int
    /// `"metadata":{"features":[…]},` for (names, dataTypes) = (false, true), (true, false), (true, true).
    private let metadata: [[UInt8]]
    /// Bytes of the largest precomputed metadata block, for sizing a response once.
    let largestMetadataBlock: Int

    init(service: FeatureServiceDefinition, repo: FeatureRepo) {
        let servable = repo.servingViews
        views = service.featureViews.compactMap { name in
            servable.first { $0.name == name }.map { View(definition: $0, joinKeys: repo.joinKeys(of: $0)) }
        }
        var keys: [TypedField] = []
        for view in views { for key in view.joinKeys where !keys.contains(key) { keys.append(key) } }
        joinKeys = keys
        featureCount = views.reduce(0) { $0 + $1.definition.features.count }
        let views = self.views
        metadata = [(false, true), (true, false), (true, true)].map { names, dataTypes in
            Self.metadataJSON(views, names: names, dataTypes: dataTypes, statuses: nil)
        }
        largestMetadataBlock = metadata.map(\.count).max() ?? 0
    }

    /// The metadata block, from the precomputed ones unless statuses are asked for.
    func writeMetadata(names: Bool, dataTypes: Bool, statuses: [Bool]?, to out: inout [UInt8]) {
        guard names || dataTypes || statuses != nil else { return }
        if statuses == nil {
            out += metadata[names && dataTypes ? 2 : (names ? 1 : 0)]
        } else {
            out += Self.metadataJSON(views, names: names, dataTypes: dataTypes, statuses: statuses)
        }
    }

    static func metadataJSON(_ views: [View], names: Bool, dataTypes: Bool, statuses: [Bool]?) -> [UInt8] {
        var out = Array("\"metadata\":{\"features\":[".utf8)
        var index = 0
        for view in views {
            for feature in view.definition.features {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out.append(UInt8(ascii: "{"))
                var first = true
                if dataTypes {
                    out.append(contentsOf: "\"dataType\":{\"type\":\"\(feature.type.rawValue)\"}".utf8)
                    first = false
                }
                if names {
                    if !first { out.append(UInt8(ascii: ",")) }
                    out.append(contentsOf: "\"name\":".utf8)
                    JSONWriter.writeString("\(view.definition.name).\(feature.name)", to: &out)
                    first = false
                }
                if let statuses {
                    if !first { out.append(UInt8(ascii: ",")) }
                    out.append(contentsOf: (statuses[index] ? "\"status\":\"PRESENT\"" : "\"status\":\"MISSING_DATA\"").utf8)
                }
                out.append(UInt8(ascii: "}"))
                index += 1
            }
        }
        out.append(contentsOf: "]},".utf8)
        return out
    }

    /// Every feature service of every workspace, planned.
    static func plans(for repos: [String: FeatureRepo]) -> [String: [String: ServingPlan]] {
        repos.mapValues { repo in
            Dictionary(repo.featureServices.map { ($0.name, ServingPlan(service: $0, repo: repo)) }, uniquingKeysWith: { first, _ in first })
        }
    }
}
