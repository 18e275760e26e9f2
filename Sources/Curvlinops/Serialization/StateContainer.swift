import Foundation

/// The versioned binary container in which KFAC, EKFAC and KFAC-inverse
/// operators save their state (see `docs/kfac-state.md`).
///
/// ```
/// offset  size  content
/// 0       8     magic, the ASCII bytes "CLOPSTAT"
/// 8       4     format version, UInt32 little-endian (currently 1)
/// 12      8     header length H in bytes, UInt64 little-endian
/// 20      H     header: a UTF-8 JSON object (Header plus the configuration)
/// 20 + H  P     payload: the raw values of every tensor, IEEE 754 little-endian,
///               each tensor row-major, at the byte offset its header entry gives
/// ```
///
/// The header records the kind of operator, the scalar type, the parameter
/// shapes, the layers, the configuration, and for every tensor its role,
/// layer, shape and place in the payload; it also records the payload's
/// length and CRC-32, so that a truncated or altered file is detected before
/// any value is used. Readers ignore header keys they do not know; a change
/// that old readers would misread increases the format version.
enum StateContainer {
    static let magic: [UInt8] = Array("CLOPSTAT".utf8)
    static let formatVersion: UInt32 = 1
    static let prefixLength = 20

    /// The description of one tensor in the payload.
    struct TensorEntry: Codable, Equatable {
        /// The tensor's role, for example `inputCovariance`.
        let role: String
        /// The layer it belongs to.
        let layer: String
        /// The block part for per-block tensors (`weight`, `bias`, `joint`), else `nil`.
        let part: String?
        /// The shape, row-major.
        let shape: [Int]
        /// The byte offset in the payload.
        let offset: Int
        /// The number of bytes.
        let byteCount: Int
    }

    /// The JSON header; `configuration` is decoded separately, per kind.
    struct Header: Codable {
        let kind: String
        let scalar: String
        let parameterShapes: [[Int]]
        let layers: [KFACLayer]
        let tensors: [TensorEntry]
        let payloadByteCount: Int
        let payloadCRC32: UInt32
    }

    /// The configuration part of the header, decoded with the kind's own type.
    struct ConfigurationEnvelope<Configuration: Codable>: Codable {
        let configuration: Configuration
    }

    /// The full header as written.
    struct HeaderWithConfiguration<Configuration: Codable>: Codable {
        let kind: String
        let scalar: String
        let parameterShapes: [[Int]]
        let layers: [KFACLayer]
        let configuration: Configuration
        let tensors: [TensorEntry]
        let payloadByteCount: Int
        let payloadCRC32: UInt32
    }
}

/// Collects tensors and writes a state container.
struct StateWriter<Scalar: LapackScalar> {
    private(set) var entries: [StateContainer.TensorEntry] = []
    private var payload = Data()

    /// Appends a matrix, stored row-major with shape [rows, columns].
    mutating func add(_ matrix: Matrix<Scalar>, role: String, layer: String, part: String? = nil) {
        append(matrix.rowMajorElements, shape: [matrix.rows, matrix.columns], role: role, layer: layer, part: part)
    }

    /// Appends a vector, stored with shape [count].
    mutating func add(_ vector: [Scalar], role: String, layer: String, part: String? = nil) {
        append(vector, shape: [vector.count], role: role, layer: layer, part: part)
    }

    private mutating func append(_ values: [Scalar], shape: [Int], role: String, layer: String, part: String?) {
        let bytes = littleEndianBytes(values)
        entries.append(StateContainer.TensorEntry(
            role: role, layer: layer, part: part, shape: shape, offset: payload.count, byteCount: bytes.count))
        payload.append(bytes)
    }

    /// Returns the complete container: prefix, header and payload.
    func data<Configuration: Codable>(
        kind: String, layout: KroneckerLayout, configuration: Configuration
    ) throws -> Data {
        let header = StateContainer.HeaderWithConfiguration(
            kind: kind, scalar: Scalar.precisionName, parameterShapes: layout.parameterShapes,
            layers: layout.layerDescriptions, configuration: configuration, tensors: entries,
            payloadByteCount: payload.count, payloadCRC32: crc32(payload))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let headerBytes = try encoder.encode(header)

        var result = Data(StateContainer.magic)
        appendLittleEndian(StateContainer.formatVersion, to: &result)
        appendLittleEndian(UInt64(headerBytes.count), to: &result)
        result.append(headerBytes)
        result.append(payload)
        return result
    }

    private func littleEndianBytes(_ values: [Scalar]) -> Data {
        var data = Data(capacity: values.count * MemoryLayout<Scalar>.size)
        switch Scalar.precisionName {
        case "float32":
            for value in values {
                appendLittleEndian(Float(value).bitPattern, to: &data)
            }
        default:
            for value in values {
                appendLittleEndian(Double(value).bitPattern, to: &data)
            }
        }
        return data
    }
}

/// A parsed and verified state container.
struct StateReader {
    let header: StateContainer.Header
    private let headerBytes: Data
    private let payload: Data
    private let owner: String

    /// Parses `data` and verifies its framing, header and checksum.
    ///
    /// Every number of the header is checked with overflow-checked arithmetic
    /// before it is used, so that a crafted header throws instead of trapping.
    ///
    /// - Throws: ``CurvlinopsError/Kind/invalidState`` for data that is not a
    ///   state container, has format version 0 or a newer version than this
    ///   library reads, is truncated, has extra bytes or fails the checksum.
    ///   It is also thrown for a header that does not parse, with a message
    ///   naming the missing key or invalid value, or that describes tensors
    ///   whose sizes overflow or lie outside the payload.
    init(_ data: Data, owner: String) throws {
        self.owner = owner
        let bytes = [UInt8](data)
        guard bytes.count >= StateContainer.prefixLength else {
            throw Self.error(owner, "the data is \(bytes.count) bytes long, shorter than the \(StateContainer.prefixLength)-byte prefix of a state container; the file is truncated or not a Curvlinops state file.")
        }
        guard Array(bytes[0..<8]) == StateContainer.magic else {
            throw Self.error(owner, "the data does not start with the magic bytes \"CLOPSTAT\"; it is not a Curvlinops state file.")
        }
        let version = readLittleEndian(UInt32.self, bytes, at: 8)
        guard version >= 1 else {
            throw Self.error(owner, "the state has format version 0, which is not a valid version: format versions start at 1. The file is corrupt.")
        }
        guard version <= StateContainer.formatVersion else {
            throw Self.error(owner, "the state has format version \(version); this library reads versions 1 to \(StateContainer.formatVersion). Either a newer release of Curvlinops wrote it, so load it with that release, or the file is corrupt.")
        }
        let headerLength = readLittleEndian(UInt64.self, bytes, at: 12)
        let available = UInt64(bytes.count - StateContainer.prefixLength)
        guard headerLength <= available else {
            throw Self.error(owner, "the header is declared as \(headerLength) bytes but only \(available) bytes follow the prefix; the file is truncated.")
        }
        let headerEnd = StateContainer.prefixLength + Int(headerLength)
        let headerBytes = Data(bytes[StateContainer.prefixLength..<headerEnd])
        let header: StateContainer.Header
        do {
            header = try JSONDecoder().decode(StateContainer.Header.self, from: headerBytes)
        } catch {
            throw Self.error(owner, "the header \(describeDecodingFailure(error, json: headerBytes)). The file is corrupt.")
        }

        let payload = Data(bytes[headerEnd...])
        guard header.payloadByteCount >= 0 else {
            throw Self.error(owner, "the header declares payloadByteCount = \(header.payloadByteCount); expected a count ≥ 0. The file is corrupt.")
        }
        guard payload.count >= header.payloadByteCount else {
            throw Self.error(owner, "the payload has \(payload.count) bytes but the header declares \(header.payloadByteCount); the file is truncated.")
        }
        guard payload.count == header.payloadByteCount else {
            throw Self.error(owner, "the payload has \(payload.count) bytes but the header declares \(header.payloadByteCount); the file has trailing bytes and is corrupt.")
        }
        let checksum = crc32(payload)
        guard checksum == header.payloadCRC32 else {
            throw Self.error(owner, "the payload's CRC-32 is \(checksum) but the header records \(header.payloadCRC32); the file is corrupt.")
        }
        guard let scalarSize = Self.scalarSize(header.scalar) else {
            throw Self.error(owner, "the scalar type \"\(header.scalar)\" is unknown; expected \"float32\" or \"float64\".")
        }
        for entry in header.tensors {
            try Self.checkPlace(of: entry, scalar: header.scalar, scalarSize: scalarSize,
                                payloadByteCount: payload.count, owner: owner)
        }

        self.header = header
        self.headerBytes = headerBytes
        self.payload = payload
    }

    /// Decodes the kind-specific configuration.
    func configuration<Configuration: Codable>(_ type: Configuration.Type) throws -> Configuration {
        do {
            return try JSONDecoder().decode(StateContainer.ConfigurationEnvelope<Configuration>.self, from: headerBytes)
                .configuration
        } catch {
            throw Self.error(owner, "the header \(describeDecodingFailure(error, json: headerBytes)). The file is corrupt or from another kind of operator.")
        }
    }

    /// Checks that a tensor's shape, byte count and offset are consistent and
    /// lie inside the payload, with every product and sum overflow-checked.
    private static func checkPlace(
        of entry: StateContainer.TensorEntry, scalar: String, scalarSize: Int, payloadByteCount: Int, owner: String
    ) throws {
        let tensor = "tensor \(entry.role) of layer \"\(entry.layer)\""
        if entry.shape.contains(where: { $0 < 0 }) {
            throw error(owner, "\(tensor) has shape \(entry.shape) with a negative size; the file is corrupt.")
        }
        guard let count = checkedElementCount(entry.shape) else {
            throw error(owner, "\(tensor) has shape \(entry.shape), which has more entries than Int can count; the file is corrupt.")
        }
        guard let byteCount = checkedProduct(count, scalarSize) else {
            throw error(owner, "\(tensor) has shape \(entry.shape), whose byte count as \(scalar) is more than Int can count; the file is corrupt.")
        }
        guard entry.byteCount == byteCount else {
            throw error(owner, "\(tensor) has shape \(entry.shape), which takes \(byteCount) bytes of \(scalar), but the header declares \(entry.byteCount) bytes; the file is corrupt.")
        }
        guard entry.offset >= 0, let end = checkedSum(entry.offset, byteCount), end <= payloadByteCount else {
            throw error(owner, "\(tensor) has \(byteCount) bytes at offset \(entry.offset), which does not fit a payload of \(payloadByteCount) bytes; the file is corrupt.")
        }
    }

    /// Checks the kind of operator the state was saved from.
    func expectKind(_ kind: String) throws {
        guard header.kind == kind else {
            throw Self.error(owner, "the state was saved by \(header.kind); expected the state of \(kind).")
        }
    }

    /// Checks the parameter shapes, layers and weight–bias treatment against an operator's layout.
    func expectLayout(_ layout: KroneckerLayout, separateWeightAndBias: Bool) throws {
        let names = layout.layers.map(\.name)
        let savedNames = header.layers.map(\.name)
        guard savedNames == names else {
            throw Self.error(owner, "the state has the layers \(savedNames); the operator has \(names).")
        }
        guard header.parameterShapes == layout.parameterShapes else {
            throw Self.error(owner, "the state has the parameter shapes \(header.parameterShapes); the operator has \(layout.parameterShapes).")
        }
        guard header.layers == layout.layerDescriptions else {
            throw Self.error(owner, "the state assigns parameters to layers as \(Self.describe(header.layers)); the operator as \(Self.describe(layout.layerDescriptions)).")
        }
        guard separateWeightAndBias == layout.separateWeightAndBias else {
            throw Self.error(owner, "the state has separateWeightAndBias = \(separateWeightAndBias); the operator has \(layout.separateWeightAndBias).")
        }
    }

    /// Whether the state contains a tensor of this role and layer.
    func contains(role: String, layer: String, part: String? = nil) -> Bool {
        header.tensors.contains { $0.role == role && $0.layer == layer && $0.part == part }
    }

    /// The roles of all tensors.
    var roles: Set<String> { Set(header.tensors.map(\.role)) }

    /// Reads a matrix of the expected size.
    ///
    /// - Throws: ``CurvlinopsError/Kind/invalidState`` when the tensor is missing or has another shape.
    func matrix<Scalar: LapackScalar>(
        role: String, layer: String, part: String? = nil, rows: Int, columns: Int, as type: Scalar.Type = Scalar.self
    ) throws -> Matrix<Scalar> {
        let values: [Scalar] = try tensor(role: role, layer: layer, part: part, shape: [rows, columns])
        return try Matrix(rows: rows, columns: columns, rowMajor: values)
    }

    /// Reads a vector of the expected length.
    func vector<Scalar: LapackScalar>(
        role: String, layer: String, part: String? = nil, count: Int, as type: Scalar.Type = Scalar.self
    ) throws -> [Scalar] {
        try tensor(role: role, layer: layer, part: part, shape: [count])
    }

    private func tensor<Scalar: LapackScalar>(role: String, layer: String, part: String?, shape: [Int]) throws -> [Scalar] {
        let described = "\(role)\(part.map { " (\($0))" } ?? "") of layer \"\(layer)\""
        guard let entry = header.tensors.first(where: { $0.role == role && $0.layer == layer && $0.part == part }) else {
            throw Self.error(owner, "the state has no \(described); expected one of shape \(shape).")
        }
        guard entry.shape == shape else {
            throw Self.error(owner, "the \(described) has shape \(entry.shape); the operator expects \(shape).")
        }
        let count = shape.reduce(1, *)
        let bytes = [UInt8](payload[payload.startIndex + entry.offset ..< payload.startIndex + entry.offset + entry.byteCount])
        var values: [Scalar] = []
        values.reserveCapacity(count)
        if header.scalar == "float32" {
            for index in 0..<count {
                values.append(Scalar(Float(bitPattern: readLittleEndian(UInt32.self, bytes, at: 4 * index))))
            }
        } else {
            for index in 0..<count {
                values.append(Scalar(Double(bitPattern: readLittleEndian(UInt64.self, bytes, at: 8 * index))))
            }
        }
        guard values.allSatisfy(\.isFinite) else {
            throw Self.error(owner, "the \(described) contains NaN or infinite values; the file is corrupt.")
        }
        return values
    }

    private static func scalarSize(_ name: String) -> Int? {
        switch name {
        case "float32": 4
        case "float64": 8
        default: nil
        }
    }

    private static func describe(_ layers: [KFACLayer]) -> String {
        layers.map { "\($0.name): weight \($0.weightPosition.map(String.init) ?? "none"), bias \($0.biasPosition.map(String.init) ?? "none")" }
            .joined(separator: "; ")
    }

    static func error(_ owner: String, _ message: String) -> CurvlinopsError {
        CurvlinopsError(.invalidState, "\(owner): \(message)")
    }
}

/// Describes why a header did not decode, naming the missing key or invalid
/// value and where it sits, as the end of a sentence that starts "the header".
///
/// - Parameter json: The bytes that failed to decode, to tell invalid JSON
///   from valid JSON with a value the decoder cannot represent.
func describeDecodingFailure(_ failure: Error, json: Data) -> String {
    guard let failure = failure as? DecodingError else {
        return "could not be read: \(failure.localizedDescription)"
    }
    switch failure {
    case let .keyNotFound(key, context):
        let place = codingPathDescription(context.codingPath)
        return "is missing the key \"\(key.stringValue)\"" + (place.isEmpty ? "" : " in \"\(place)\"")
    case let .typeMismatch(type, context):
        return "has \(valuePlace(context.codingPath)): expected a value of type \(type)"
    case let .valueNotFound(type, context):
        return "has \(valuePlace(context.codingPath)): expected a value of type \(type), found null"
    case let .dataCorrupted(context):
        if !context.codingPath.isEmpty {
            return "has \(valuePlace(context.codingPath)): \(context.debugDescription)"
        }
        // Foundation reports a number out of its type's range, such as 1e30
        // for an Int, like a syntax error, without a coding path.
        if (try? JSONSerialization.jsonObject(with: json)) != nil {
            return "is valid JSON but has a value that its field cannot hold, such as a number out of Int's range or with a fraction"
        }
        return "is not valid JSON"
    @unknown default:
        return "could not be decoded"
    }
}

/// "an invalid value at "tensors[1].offset"", or "an invalid top-level value" for the empty path.
private func valuePlace(_ path: [any CodingKey]) -> String {
    path.isEmpty ? "an invalid top-level value" : "an invalid value at \"\(codingPathDescription(path))\""
}

/// Renders a coding path as `tensors[1].offset`.
private func codingPathDescription(_ path: [any CodingKey]) -> String {
    var result = ""
    for key in path {
        if let index = key.intValue {
            result += "[\(index)]"
        } else {
            result += (result.isEmpty ? "" : ".") + key.stringValue
        }
    }
    return result
}

/// Writes `data` to `url`, replacing any file there.
func writeState(_ data: Data, to url: URL, owner: String) throws {
    do {
        try data.write(to: url, options: .atomic)
    } catch {
        throw CurvlinopsError(.invalidState, "\(owner): could not write the state to \(url.path): \(error.localizedDescription)")
    }
}

/// Reads the bytes of a state file.
func readState(from url: URL, owner: String) throws -> Data {
    do {
        return try Data(contentsOf: url)
    } catch {
        throw CurvlinopsError(.invalidState, "\(owner): could not read the state from \(url.path): \(error.localizedDescription)")
    }
}

private func appendLittleEndian<Integer: FixedWidthInteger>(_ value: Integer, to data: inout Data) {
    withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
}

private func readLittleEndian<Integer: FixedWidthInteger>(_ type: Integer.Type, _ bytes: [UInt8], at offset: Int) -> Integer {
    var value: Integer = 0
    for index in (0..<MemoryLayout<Integer>.size).reversed() {
        value = (value << 8) | Integer(bytes[offset + index])
    }
    return value
}

/// Computes the CRC-32 of IEEE 802.3 (reflected polynomial 0xEDB88320), as zlib and PNG compute it.
func crc32(_ data: Data) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in data {
        crc = crc32Table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
    }
    return crc ^ 0xFFFF_FFFF
}

private let crc32Table: [UInt32] = (0..<256).map { index in
    var value = UInt32(index)
    for _ in 0..<8 {
        value = value & 1 == 1 ? (value >> 1) ^ 0xEDB8_8320 : value >> 1
    }
    return value
}
