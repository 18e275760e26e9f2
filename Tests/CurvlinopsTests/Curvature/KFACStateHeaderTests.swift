import Foundation
import XCTest
@testable import Curvlinops

/// States whose payload checksum is intact but whose header was crafted
/// throw ``CurvlinopsError/Kind/invalidState`` with a message naming the bad value.
final class KFACStateHeaderTests: XCTestCase {
    /// Splits a state into its format version, header object and payload.
    private func parts(_ data: Data) throws -> (version: UInt32, header: [String: Any], payload: Data) {
        let bytes = [UInt8](data)
        let version = bytes[8..<12].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
        let headerLength = bytes[12..<20].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(bytes[20..<(20 + headerLength)])) as? [String: Any])
        return (version, header, Data(bytes[(20 + headerLength)...]))
    }

    /// Rebuilds a state from a format version, a header object and a payload.
    private func assemble(version: UInt32, header: [String: Any], payload: Data) throws -> Data {
        let headerBytes = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        var result = Data("CLOPSTAT".utf8)
        withUnsafeBytes(of: version.littleEndian) { result.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { result.append(contentsOf: $0) }
        return result + headerBytes + payload
    }

    /// Returns `data` with its header changed by `edit`; the payload and its CRC-32 stay valid.
    private func editingHeader(_ data: Data, _ edit: (inout [String: Any]) -> Void) throws -> Data {
        var (version, header, payload) = try parts(data)
        edit(&header)
        return try assemble(version: version, header: header, payload: payload)
    }

    /// Returns `data` with one entry of its first tensor replaced.
    private func editingFirstTensor(_ data: Data, key: String, to value: Any) throws -> Data {
        try editingHeader(data) { header in
            var tensors = header["tensors"] as! [[String: Any]]
            tensors[0][key] = value
            header["tensors"] = tensors
        }
    }

    private func kfacState() throws -> Data {
        try KroneckerTestSupport.linearTwoToOne().stateData()
    }

    func testUnmodifiedRebuiltStateLoads() throws {
        let data = try kfacState()
        let rebuilt = try editingHeader(data) { _ in }
        XCTAssertEqual(try KFACLinearOperator<Double>(stateData: rebuilt).dense(),
                       try KroneckerTestSupport.linearTwoToOne().dense())
    }

    func testOverflowingTensorShapeThrows() throws {
        let data = try kfacState()
        let cases: [(Any, [String])] = [
            ([4_294_967_296, 4_294_967_296], ["inputCovariance", "[4294967296, 4294967296]", "more entries than Int can count"]),
            ([1 << 61], ["inputCovariance", "[2305843009213693952]", "byte count"]),
            ([-1, 4], ["inputCovariance", "[-1, 4]", "negative"]),
        ]
        for (shape, fragments) in cases {
            let crafted = try editingFirstTensor(data, key: "shape", to: shape)
            assertThrows(.invalidState, containing: ["KFACLinearOperator(stateData:)", "corrupt"] + fragments) {
                try KFACLinearOperator<Double>(stateData: crafted)
            }
        }
    }

    func testOverflowingTensorOffsetThrows() throws {
        let data = try kfacState()
        for offset in [Int.max, Int.max - 8, -1] {
            let crafted = try editingFirstTensor(data, key: "offset", to: offset)
            assertThrows(.invalidState, containing: ["inputCovariance", "offset \(offset)", "payload of", "corrupt"]) {
                try KFACLinearOperator<Double>(stateData: crafted)
            }
        }
    }

    func testOverflowingParameterShapesThrow() throws {
        let data = try kfacState()
        let crafted = try editingHeader(data) { header in
            header["parameterShapes"] = [[1 << 62, 3], [1 << 62]]
        }
        assertThrows(.invalidState, containing: ["layers in the state are inconsistent", "more entries than Int can count",
                                                 "corrupt"]) {
            try KFACLinearOperator<Double>(stateData: crafted)
        }
        let ekfacState = try EKFACLinearOperatorTests.ekfac(
            KroneckerTestSupport.Problem.make(separateWeightAndBias: true),
            EKFACLinearOperatorTests.correctedEigenvalues(for: KroneckerTestSupport.Problem.make(separateWeightAndBias: true))
        ).stateData()
        let craftedEKFAC = try editingHeader(ekfacState) { header in
            var shapes = header["parameterShapes"] as! [[Int]]
            shapes[0] = [1 << 62] + shapes[0]
            header["parameterShapes"] = shapes
        }
        assertThrows(.invalidState, containing: ["EKFACLinearOperator(stateData:)", "more entries than Int can count"]) {
            try EKFACLinearOperator<Double>(stateData: craftedEKFAC)
        }
    }

    func testMissingHeaderKeyIsNamed() throws {
        let data = try kfacState()
        let withoutKind = try editingHeader(data) { $0["kind"] = nil }
        assertThrows(.invalidState, containing: ["header", "missing the key \"kind\"", "corrupt"]) {
            try KFACLinearOperator<Double>(stateData: withoutKind)
        }
        let withoutOffset = try editingHeader(data) { header in
            var tensors = header["tensors"] as! [[String: Any]]
            tensors[1]["offset"] = nil
            header["tensors"] = tensors
        }
        assertThrows(.invalidState, containing: ["missing the key \"offset\"", "tensors[1]"]) {
            try KFACLinearOperator<Double>(stateData: withoutOffset)
        }
        let withoutApproximation = try editingHeader(data) { header in
            var configuration = header["configuration"] as! [String: Any]
            configuration["kfacApproximation"] = nil
            header["configuration"] = configuration
        }
        assertThrows(.invalidState, containing: ["missing the key \"kfacApproximation\"", "configuration"]) {
            try KFACLinearOperator<Double>(stateData: withoutApproximation)
        }
    }

    func testHeaderValueOfWrongTypeIsNamed() throws {
        let data = try kfacState()
        let crafted = try editingHeader(data) { $0["payloadByteCount"] = "many" }
        assertThrows(.invalidState, containing: ["\"payloadByteCount\"", "invalid value", "corrupt"]) {
            try KFACLinearOperator<Double>(stateData: crafted)
        }
        do {
            _ = try KFACLinearOperator<Double>(stateData: crafted)
        } catch let error as CurvlinopsError {
            XCTAssertFalse(error.message.contains("DecodingError"), error.message)
            XCTAssertFalse(error.message.contains("CodingKeys"), error.message)
        }
    }

    func testNegativePayloadByteCountThrows() throws {
        let crafted = try editingHeader(try kfacState()) { $0["payloadByteCount"] = -8 }
        assertThrows(.invalidState, containing: ["payloadByteCount = -8", "≥ 0", "corrupt"]) {
            try KFACLinearOperator<Double>(stateData: crafted)
        }
    }

    func testHeaderNumberOutOfRangeIsReported() throws {
        let crafted = try editingHeader(try kfacState()) { $0["payloadByteCount"] = 1e30 }
        assertThrows(.invalidState, containing: ["header is valid JSON", "number out of Int's range", "corrupt"]) {
            try KFACLinearOperator<Double>(stateData: crafted)
        }
    }

    func testMalformedHeaderJSONIsReported() throws {
        var data = try kfacState()
        data[21] = UInt8(ascii: "!")
        assertThrows(.invalidState, containing: ["header is not valid JSON", "corrupt"]) {
            try KFACLinearOperator<Double>(stateData: data)
        }
    }

    func testFormatVersionZeroIsInvalid() throws {
        var data = try kfacState()
        data[8] = 0
        assertThrows(.invalidState, containing: ["format version 0", "not a valid version", "corrupt"]) {
            try KFACLinearOperator<Double>(stateData: data)
        }
        do {
            _ = try KFACLinearOperator<Double>(stateData: data)
        } catch let error as CurvlinopsError {
            XCTAssertFalse(error.message.contains("supports version 0"), error.message)
        }
    }

    func testInvalidMonteCarloSampleCountThrows() throws {
        let kfac = try KFACLinearOperator<Double>(
            parameterShapes: [[2]], layers: [KFACLayer(name: "b", biasPosition: 0)], inputCovariances: [:],
            gradientCovariances: ["b": .identity(2)], fisherType: .monteCarlo(samples: 3, seed: 7))
        let data = try kfac.stateData()
        XCTAssertEqual(try KFACLinearOperator<Double>(stateData: data).fisherType, .monteCarlo(samples: 3, seed: 7))
        for samples in [-5, 0] {
            let crafted = try editingHeader(data) { header in
                var configuration = header["configuration"] as! [String: Any]
                configuration["monteCarloSamples"] = samples
                header["configuration"] = configuration
            }
            assertThrows(.invalidState, containing: ["monteCarloSamples = \(samples)", "at least 1", "corrupt"]) {
                try KFACLinearOperator<Double>(stateData: crafted)
            }
        }
    }

    func testInvalidCachedDampingThrows() throws {
        let kfac = try KroneckerTestSupport.linearTwoToOne()
        let inverse = try KFACInverseLinearOperator(kfac, damping: .scalar(0.1))
        try inverse.factorize()
        let data = try inverse.stateData()
        XCTAssertEqual(try KFACInverseLinearOperator(kfac, stateData: data).apply([1, 1, 1]), try inverse.apply([1, 1, 1]))
        for value in [-0.5, -1e-300] {
            let crafted = try editingHeader(data) { header in
                var configuration = header["configuration"] as! [String: Any]
                var layers = configuration["cachedLayers"] as! [[String: Any]]
                layers[0]["gradientDamping"] = value
                configuration["cachedLayers"] = layers
                header["configuration"] = configuration
            }
            assertThrows(.invalidState, containing: ["cached layer \"0\"", "gradientDamping", "corrupt"]) {
                try KFACInverseLinearOperator(KroneckerTestSupport.linearTwoToOne(), stateData: crafted)
            }
        }
    }

    func testInvalidDampingInInverseStateThrows() throws {
        let kfac = try KroneckerTestSupport.linearTwoToOne()
        let data = try KFACInverseLinearOperator(kfac, damping: .scalar(0.1)).stateData()
        let crafted = try editingHeader(data) { header in
            var configuration = header["configuration"] as! [String: Any]
            configuration["damping"] = ["mode": "scalar", "value": -1.0]
            header["configuration"] = configuration
        }
        assertThrows(.invalidState, containing: ["damping = -1.0", "corrupt"]) {
            try KFACInverseLinearOperator(kfac, stateData: crafted)
        }
    }
}
