import Foundation

/// The features a reader wants from stored records, in the order it wants them. Decoding a value
/// onto a projection compares each stored name with the wanted one as UTF-8 bytes, so the serving
/// path builds no string per feature; a record written before the view changed (names reordered,
/// added or dropped) still decodes right, through the name index.
public struct FeatureProjection: Sendable, Equatable {
    let names: [[UInt8]]
    let positions: [String: Int]

    public init(names: [String]) {
        self.names = names.map { Array($0.utf8) }
        positions = Dictionary(names.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { first, _ in first })
    }

    public var count: Int { names.count }
}

/// A stored value decoded onto a projection: `values[i]` is the value stored under the projection's
/// i-th name, nil where the record has none.
public struct ProjectedRecord: Sendable, Equatable {
    public var values: [FeatureValue?]
    public var eventTimeMicros: Int64
    public var writeTimeMicros: Int64
}

extension OnlineRecordCodec {
    /// Decodes a value made by `encodeValue` onto `projection`. The whole record is checked as
    /// `decodeValue` checks it (version, tags, lengths, UTF-8 of names not wanted), so a damaged
    /// record fails the same way whichever reader meets it.
    public static func decodeValue(_ bytes: [UInt8], onto projection: FeatureProjection) throws(DecodeError) -> ProjectedRecord {
        var reader = Reader(bytes: bytes)
        let (event, write, count) = try reader.header()
        var values = [FeatureValue?](repeating: nil, count: projection.count)
        for index in 0..<count {
            let length = Int(try reader.integer(2))
            // Records keep the view's feature order, so the positional match almost always hits.
            if index < projection.count, reader.next(length, equals: projection.names[index]) {
                reader.offset += length
                values[index] = try reader.value()
            } else if let position = projection.positions[try reader.string(length: length)] {
                values[position] = try reader.value()
            } else {
                _ = try reader.value()
            }
        }
        guard reader.atEnd else { throw .truncated }
        return ProjectedRecord(values: values, eventTimeMicros: event, writeTimeMicros: write)
    }
}

extension OnlineRecordCodec.Reader {
    /// Whether the next `length` bytes are exactly `expected` (false when fewer remain).
    func next(_ length: Int, equals expected: [UInt8]) -> Bool {
        guard length == expected.count, offset + length <= bytes.count else { return false }
        guard length > 0 else { return true }  // no base address to compare
        return bytes.withUnsafeBytes { all in
            expected.withUnsafeBytes { wanted in memcmp(all.baseAddress! + offset, wanted.baseAddress!, length) == 0 }
        }
    }
}
