import Foundation
import XCTest
@testable import Curvlinops

final class KFACStateTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("KFACStateTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(at: directory)
    }

    private func randomInput(_ size: Int, seed: UInt64 = 99) -> Matrix<Double> {
        var generator = SeededGenerator(seed: seed)
        return KroneckerTestSupport.randomMatrix(size, 3, &generator)
    }

    // MARK: KFAC

    func testKFACSaveLoadGivesIdenticalApply() throws {
        for separate in [true, false] {
            let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: separate)
            let kfac = try KFACLinearOperator(
                parameterShapes: problem.parameterShapes, layers: problem.layers, inputCovariances: problem.input,
                gradientCovariances: problem.gradient, fisherType: .monteCarlo(samples: 3, seed: 42),
                kfacApproximation: .reduce, separateWeightAndBias: separate)
            let url = directory.appendingPathComponent("kfac-\(separate).state")
            try kfac.save(to: url)
            let loaded = try KFACLinearOperator<Double>(contentsOf: url)

            let x = randomInput(problem.size)
            XCTAssertEqual(try loaded.apply(x), try kfac.apply(x))
            XCTAssertEqual(loaded.layers, kfac.layers)
            XCTAssertEqual(loaded.inputShapes, kfac.inputShapes)
            XCTAssertEqual(loaded.fisherType, .monteCarlo(samples: 3, seed: 42))
            XCTAssertEqual(loaded.kfacApproximation, .reduce)
            XCTAssertEqual(loaded.separateWeightAndBias, separate)
            XCTAssertEqual(try loaded.inputCovariances, try kfac.inputCovariances)
            XCTAssertEqual(try loaded.gradientCovariances, try kfac.gradientCovariances)
        }
    }

    func testBiasOnlyStateRoundTrips() throws {
        let kfac = try KroneckerTestSupport.linearTwoToOne(parameters: ["bias"])
        let loaded = try KFACLinearOperator<Double>(stateData: try kfac.stateData())
        XCTAssertEqual(try loaded.dense(), try Matrix(rows: 1, columns: 1, rowMajor: [2]))
        XCTAssertTrue(try loaded.inputCovariances.isEmpty)
        XCTAssertEqual(try kfac.loadingState(try kfac.stateData()).dense(), try kfac.dense())
    }

    func testFloatStateSavesAndLoads() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: false)
        let kfac = try problem.kfacFloat()
        let data = try kfac.stateData()
        let loaded = try KFACLinearOperator<Float>(stateData: data)
        let x = KroneckerTestSupport.float(randomInput(problem.size))
        XCTAssertEqual(try loaded.apply(x), try kfac.apply(x))
        // Float values widen to Double exactly.
        let widened = try KFACLinearOperator<Double>(stateData: data)
        XCTAssertEqual(try widened.gradientCovariances["head"], KroneckerTestSupport.double(try kfac.gradientCovariances["head"]!))
    }

    func testLoadingStateIntoLazyOperatorSkipsTheComputation() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: true)
        let saved = try problem.kfac().stateData()
        let lazy = try KFACLinearOperator<Double>(
            parameterShapes: problem.parameterShapes, layers: problem.layers, fisherType: .type2,
            kfacApproximation: .expand, separateWeightAndBias: true
        ) {
            throw CurvlinopsError(.unsupported, "the factors must come from the state")
        }
        let loaded = try lazy.loadingState(saved)
        XCTAssertTrue(loaded.areKroneckerFactorsComputed)
        XCTAssertEqual(try loaded.dense(), try problem.kfac().dense())
    }

    func testTruncatedStateThrows() throws {
        let data = try KroneckerTestSupport.Problem.make(separateWeightAndBias: true).kfac().stateData()
        let headerLength = Int(data[12]) | Int(data[13]) << 8 | Int(data[14]) << 16
        // Inside the prefix, inside the header, at the end of the header, inside the payload, one byte short.
        for length in [0, 7, 19, 20 + headerLength / 2, 20 + headerLength, 20 + headerLength + 100, data.count - 1] {
            assertThrowsCurvlinopsError(try KFACLinearOperator<Double>(stateData: data.prefix(length)),
                                        kind: .invalidState, containing: ["KFACLinearOperator(stateData:)"],
                                        "length \(length) of \(data.count)")
        }
        assertThrowsCurvlinopsError(try KFACLinearOperator<Double>(stateData: data.prefix(20 + headerLength + 100)),
                                    kind: .invalidState, containing: ["truncated"])
        assertThrowsCurvlinopsError(try KFACLinearOperator<Double>(stateData: data.prefix(10)),
                                    kind: .invalidState, containing: ["shorter than the 20-byte prefix"])
    }

    func testTruncatedStateFileThrows() throws {
        let url = directory.appendingPathComponent("truncated.state")
        let kfac = try KroneckerTestSupport.linearTwoToOne()
        try kfac.save(to: url)
        let data = try Data(contentsOf: url)
        try data.prefix(data.count - 8).write(to: url)
        assertThrowsCurvlinopsError(try KFACLinearOperator<Double>(contentsOf: url), kind: .invalidState,
                                    containing: ["truncated"])
        assertThrowsCurvlinopsError(try KFACLinearOperator<Double>(contentsOf: directory.appendingPathComponent("missing")),
                                    kind: .invalidState, containing: ["could not read"])
    }

    func testCorruptStateThrows() throws {
        let data = try KroneckerTestSupport.linearTwoToOne().stateData()

        var flipped = data
        flipped[data.count - 3] ^= 0x40
        assertThrowsCurvlinopsError(try KFACLinearOperator<Double>(stateData: flipped), kind: .invalidState,
                                    containing: ["CRC-32", "corrupt"])

        var magic = data
        magic[0] = UInt8(ascii: "X")
        assertThrowsCurvlinopsError(try KFACLinearOperator<Double>(stateData: magic), kind: .invalidState,
                                    containing: ["not a Curvlinops state file"])

        var version = data
        version[8] = 2
        assertThrowsCurvlinopsError(try KFACLinearOperator<Double>(stateData: version), kind: .invalidState,
                                    containing: ["format version 2", "versions 1 to 1", "newer release", "corrupt"])

        var header = data
        header[21] = UInt8(ascii: "!")
        assertThrowsCurvlinopsError(try KFACLinearOperator<Double>(stateData: header), kind: .invalidState,
                                    containing: ["header is not valid"])

        assertThrowsCurvlinopsError(try KFACLinearOperator<Double>(stateData: data + Data([0])), kind: .invalidState,
                                    containing: ["trailing bytes"])
    }

    func testMismatchedLayersAndShapesThrow() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: true)
        let saved = try problem.kfac().stateData()
        func operatorLike(
            shapes: [[Int]]? = nil, layers: [KFACLayer]? = nil, separate: Bool = true, fisherType: FisherType = .type2
        ) throws -> KFACLinearOperator<Double> {
            try KFACLinearOperator<Double>(
                parameterShapes: shapes ?? problem.parameterShapes, layers: layers ?? problem.layers,
                fisherType: fisherType, kfacApproximation: .expand, separateWeightAndBias: separate
            ) {
                throw CurvlinopsError(.unsupported, "not used")
            }
        }

        var renamed = problem.layers
        renamed[2] = KFACLayer(name: "output", biasPosition: 2)
        assertThrowsCurvlinopsError(try operatorLike(layers: renamed).loadingState(saved), kind: .invalidState,
                                    containing: ["the state has the layers [\"linear\", \"conv\", \"head\"]",
                                                 "the operator has [\"linear\", \"conv\", \"output\"]"])
        var shapes = problem.parameterShapes
        shapes[2] = [6]
        assertThrowsCurvlinopsError(try operatorLike(shapes: shapes).loadingState(saved), kind: .invalidState,
                                    containing: ["parameter shapes", "[6]"])
        assertThrowsCurvlinopsError(try operatorLike(separate: false).loadingState(saved), kind: .invalidState,
                                    containing: ["separateWeightAndBias = true", "the operator has false"])
        assertThrowsCurvlinopsError(try operatorLike(fisherType: .empirical).loadingState(saved), kind: .invalidState,
                                    containing: ["fisherType type-2", "fisherType empirical"])

        let ekfacState = try EKFACLinearOperatorTests.ekfac(
            problem, EKFACLinearOperatorTests.correctedEigenvalues(for: problem)).stateData()
        assertThrowsCurvlinopsError(try KFACLinearOperator<Double>(stateData: ekfacState), kind: .invalidState,
                                    containing: ["saved by EKFACLinearOperator", "expected the state of KFACLinearOperator"])
    }

    func testHeaderIsDocumentedJSON() throws {
        let data = try KroneckerTestSupport.linearTwoToOne().stateData()
        XCTAssertEqual(Array(data.prefix(8)), Array("CLOPSTAT".utf8))
        XCTAssertEqual(Array(data[8..<12]), [1, 0, 0, 0])
        let headerLength = data[12..<20].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: data[20..<(20 + headerLength)]) as? [String: Any])
        XCTAssertEqual(header["kind"] as? String, "KFACLinearOperator")
        XCTAssertEqual(header["scalar"] as? String, "float64")
        let tensors = try XCTUnwrap(header["tensors"] as? [[String: Any]])
        XCTAssertEqual(tensors.map { $0["role"] as? String }, ["inputCovariance", "gradientCovariance"])
        XCTAssertEqual(tensors[0]["shape"] as? [Int], [2, 2])
        // A row-major [2, 2] float64 tensor at the start of the payload.
        let payload = data[(20 + headerLength)...]
        let first = payload.prefix(32).withUnsafeBytes { Array($0.bindMemory(to: UInt64.self)) }
            .map { Double(bitPattern: UInt64(littleEndian: $0)) }
        XCTAssertEqual(first, [1, 2, 2, 4])
    }

    // MARK: EKFAC

    func testEKFACSaveLoadGivesIdenticalApply() throws {
        for separate in [true, false] {
            let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: separate, seed: 13)
            let ekfac = try EKFACLinearOperatorTests.ekfac(problem, EKFACLinearOperatorTests.correctedEigenvalues(for: problem))
            let url = directory.appendingPathComponent("ekfac-\(separate).state")
            try ekfac.save(to: url)
            let loaded = try EKFACLinearOperator<Double>(contentsOf: url)
            let x = randomInput(problem.size)
            XCTAssertEqual(try loaded.apply(x), try ekfac.apply(x))
            XCTAssertEqual(try loaded.correctedEigenvalues, try ekfac.correctedEigenvalues)
            XCTAssertEqual(try loaded.inputCovarianceEigenvectors, try ekfac.inputCovarianceEigenvectors)
            XCTAssertEqual(try ekfac.loadingState(try ekfac.stateData()).apply(x), try ekfac.apply(x))
        }
    }

    func testEKFACLoadingStateFromFileGivesIdenticalApply() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: false, seed: 17)
        let ekfac = try EKFACLinearOperatorTests.ekfac(problem, EKFACLinearOperatorTests.correctedEigenvalues(for: problem))
        let url = directory.appendingPathComponent("ekfac-loading.state")
        try ekfac.save(to: url)
        let x = randomInput(problem.size)
        XCTAssertEqual(try ekfac.loadingState(contentsOf: url).apply(x), try ekfac.apply(x))
        assertThrowsCurvlinopsError(try ekfac.loadingState(contentsOf: directory.appendingPathComponent("missing")),
                                    kind: .invalidState,
                                    containing: ["EKFACLinearOperator.loadingState(contentsOf:)", "could not read"])
    }

    func testEKFACTruncatedStateThrows() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: true)
        let data = try EKFACLinearOperatorTests.ekfac(problem, EKFACLinearOperatorTests.correctedEigenvalues(for: problem))
            .stateData()
        assertThrowsCurvlinopsError(try EKFACLinearOperator<Double>(stateData: data.dropLast(50)), kind: .invalidState,
                                    containing: ["truncated"])
    }

    // MARK: KFAC inverse

    func testInverseSaveLoadGivesIdenticalApplyWithoutRefactorizing() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: false, seed: 17)
        let x = randomInput(problem.size)
        let modes: [KFACDamping<Double>] = [.scalar(0.1), .perFactor(input: 0.2, gradient: 0.05), .heuristic(0.1), .exact(0.1)]
        for damping in modes {
            let inverse = try KFACInverseLinearOperator(try problem.kfac(), damping: damping)
            let expected = try inverse.apply(x)
            let url = directory.appendingPathComponent("inverse.state")
            try inverse.save(to: url)

            let kfac = try problem.kfac()
            let loaded = try KFACInverseLinearOperator(kfac, contentsOf: url)
            XCTAssertEqual(loaded.damping, damping)
            XCTAssertEqual(loaded.report, inverse.report, "\(damping)")
            XCTAssertEqual(try loaded.apply(x), expected, "\(damping)")
            XCTAssertEqual(loaded.preparedStore.computationCount, 0, "\(damping): the loaded inverse factorised again")
            XCTAssertEqual(kfac.eigendecompositionComputationCount, 0, "\(damping)")
        }
    }

    func testInverseStateBeforeFirstApplyHoldsConfigurationOnly() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: true)
        let inverse = try KFACInverseLinearOperator(try problem.kfac(), damping: .exact(0.3), cache: false,
                                                    retryInDoublePrecision: false)
        let loaded = try KFACInverseLinearOperator(try problem.kfac(), stateData: try inverse.stateData())
        XCTAssertEqual(loaded.damping, .exact(0.3))
        XCTAssertFalse(loaded.cache)
        XCTAssertFalse(loaded.retryInDoublePrecision)
        XCTAssertNil(loaded.report)
        let x = randomInput(problem.size)
        XCTAssertEqual(try loaded.apply(x), try inverse.apply(x))
    }

    func testEKFACInverseStateRoundTrips() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: true, seed: 19)
        let ekfac = try EKFACLinearOperatorTests.ekfac(problem, EKFACLinearOperatorTests.correctedEigenvalues(for: problem))
        let inverse = try KFACInverseLinearOperator(ekfac, damping: .exact(0.05))
        let x = randomInput(problem.size)
        let expected = try inverse.apply(x)
        let loaded = try KFACInverseLinearOperator(ekfac, stateData: try inverse.stateData())
        XCTAssertEqual(try loaded.apply(x), expected)
        assertThrowsCurvlinopsError(try KFACInverseLinearOperator(try problem.kfac(), stateData: try inverse.stateData()),
                                    kind: .invalidState, containing: ["inverse of EKFACLinearOperator", "the operator is KFACLinearOperator"])
    }

    func testInverseStateWithMismatchedOperatorThrows() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: true)
        let inverse = try KFACInverseLinearOperator(try problem.kfac(), damping: .scalar(0.1))
        try inverse.factorize()
        let data = try inverse.stateData()
        assertThrowsCurvlinopsError(
            try KFACInverseLinearOperator(try KroneckerTestSupport.linearTwoToOne(), stateData: data),
            kind: .invalidState, containing: ["the state has the layers", "the operator has [\"0\"]"])
        let joint = KroneckerTestSupport.Problem.make(separateWeightAndBias: false)
        assertThrowsCurvlinopsError(try KFACInverseLinearOperator(try joint.kfac(), stateData: data),
                                    kind: .invalidState, containing: ["separateWeightAndBias"])
        assertThrowsCurvlinopsError(try KFACInverseLinearOperator(try problem.kfac(), stateData: data.dropLast(1)),
                                    kind: .invalidState, containing: ["truncated"])
        assertThrowsCurvlinopsError(try KFACInverseLinearOperator(try problem.kfac(), stateData: try problem.kfac().stateData()),
                                    kind: .invalidState, containing: ["expected the state of KFACInverseLinearOperator"])
    }

    func testFloatInverseStateKeepsRetryReport() throws {
        let kfac = try KFACLinearOperator<Float>(
            parameterShapes: [[1, 2]], layers: [KFACLayer(name: "0", weightPosition: 0)],
            inputCovariances: ["0": Matrix(rows: 2, columns: 2, rowMajor: [1, 1, 1, 1])],
            gradientCovariances: ["0": Matrix(rows: 1, columns: 1, rowMajor: [2])])
        let inverse = try KFACInverseLinearOperator(kfac, damping: .scalar(1e-9))
        let expected = try inverse.apply([Float(1), 3])
        let loaded = try KFACInverseLinearOperator(kfac, stateData: try inverse.stateData())
        XCTAssertEqual(try loaded.apply([Float(1), 3]), expected)
        XCTAssertEqual(loaded.report?[layer: "0"]?.inputRetriedInDoublePrecision, true)
        XCTAssertEqual(loaded.damping, .scalar(1e-9))
    }

    func testDampingValuesRoundTripExactly() throws {
        var generator = SeededGenerator(seed: 23)
        let kfac = try KroneckerTestSupport.linearTwoToOne()
        for _ in 0..<20 {
            let value = Double.random(in: 0..<1, using: &generator) * pow(10, Double.random(in: -12...3, using: &generator))
            let inverse = try KFACInverseLinearOperator(kfac, damping: .heuristic(value, minimum: value / 3))
            let loaded = try KFACInverseLinearOperator(kfac, stateData: try inverse.stateData())
            XCTAssertEqual(loaded.damping, .heuristic(value, minimum: value / 3))
        }
    }
}
