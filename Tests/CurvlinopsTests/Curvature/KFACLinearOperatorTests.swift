import Foundation
import XCTest
@testable import Curvlinops

final class KFACLinearOperatorTests: XCTestCase {
    // MARK: The Linear(2 → 1) example

    func testLinearTwoToOneDenseMatrix() throws {
        let kfac = try KroneckerTestSupport.linearTwoToOne()
        let expected = try Matrix<Double>(rows: 3, columns: 3, rowMajor: [2, 4, 0, 4, 8, 0, 0, 0, 2])
        XCTAssertEqual(try kfac.dense(), expected)
    }

    func testLinearTwoToOneBiasOnly() throws {
        let kfac = try KroneckerTestSupport.linearTwoToOne(parameters: ["bias"])
        XCTAssertEqual(try kfac.dense(), try Matrix(rows: 1, columns: 1, rowMajor: [2]))
        XCTAssertTrue(try kfac.inputCovariances.isEmpty)
    }

    func testLinearTwoToOneWeightOnly() throws {
        let kfac = try KroneckerTestSupport.linearTwoToOne(parameters: ["weight"])
        XCTAssertEqual(try kfac.dense(), try Matrix(rows: 2, columns: 2, rowMajor: [2, 4, 4, 8]))
    }

    // MARK: Apply against the dense Kronecker blocks

    func testApplyMatchesDenseKroneckerBlocksSeparate() throws {
        try checkApplyAgainstReference(separateWeightAndBias: true)
    }

    func testApplyMatchesDenseKroneckerBlocksJoint() throws {
        try checkApplyAgainstReference(separateWeightAndBias: false)
    }

    private func checkApplyAgainstReference(separateWeightAndBias: Bool) throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: separateWeightAndBias)
        let kfac = try problem.kfac()
        let reference = problem.dense { layer, part in
            KroneckerTestSupport.kron(problem.gradient[layer]!, problem.inputFactor(layer, part))
        }
        var generator = SeededGenerator(seed: 7)
        let x = KroneckerTestSupport.randomMatrix(problem.size, 5, &generator)
        let result = try kfac.apply(x)
        XCTAssertLessThan(KroneckerTestSupport.relativeError(result, try reference * x), 1e-14)
        XCTAssertLessThan(KroneckerTestSupport.relativeError(try kfac.dense(), reference), 1e-14)
    }

    func testApplyWithNoColumnsReturnsEmptyMatrix() throws {
        let kfac = try KroneckerTestSupport.Problem.make(separateWeightAndBias: false).kfac()
        let result = try kfac.apply(Matrix<Double>(zeros: kfac.inputSize, 0))
        XCTAssertEqual(result.rows, kfac.inputSize)
        XCTAssertEqual(result.columns, 0)
    }

    func testApplyBlocksFormMatchesFlatForm() throws {
        let kfac = try KroneckerTestSupport.Problem.make(separateWeightAndBias: true).kfac()
        var generator = SeededGenerator(seed: 3)
        let flat = KroneckerTestSupport.randomMatrix(kfac.inputSize, 1, &generator).elements
        var blocks: [Tensor<Double>] = []
        var offset = 0
        for shape in kfac.inputShapes {
            let size = shape.reduce(1, *)
            blocks.append(try Tensor(shape: shape, elements: Array(flat[offset..<(offset + size)])))
            offset += size
        }
        let result = try kfac.apply(blocks: blocks).flatMap(\.elements)
        XCTAssertEqual(result, try kfac.apply(flat))
    }

    func testFloatApplyMatchesDouble() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: false)
        var generator = SeededGenerator(seed: 5)
        let x = KroneckerTestSupport.randomMatrix(problem.size, 3, &generator)
        let double = try problem.kfac().apply(x)
        let float = try problem.kfacFloat().apply(KroneckerTestSupport.float(x))
        // Float has 24 bits; sums of ~10 products lose a few of them.
        XCTAssertLessThan(KroneckerTestSupport.relativeError(KroneckerTestSupport.double(float), double), 1e-5)
    }

    func testApplyRejectsWrongRowsAndNonFiniteInput() throws {
        let kfac = try KroneckerTestSupport.linearTwoToOne()
        assertThrowsCurvlinopsError(try kfac.apply(Matrix<Double>(zeros: 2, 1)), kind: .shapeMismatch,
                                    containing: ["2 rows", "inputSize = 3"])
        assertThrowsCurvlinopsError(try kfac.apply([1, .nan, 0]), kind: .nonFiniteValue, containing: ["column 0"])
    }

    // MARK: Factors

    func testCovariancesReadableByLayerName() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: false)
        let kfac = try problem.kfac()
        XCTAssertEqual(Set(try kfac.inputCovariances.keys), ["linear", "conv"])
        XCTAssertEqual(Set(try kfac.gradientCovariances.keys), ["linear", "conv", "head"])
        XCTAssertEqual(try kfac.inputCovariances["conv"], problem.input["conv"])
        XCTAssertEqual(try kfac.gradientCovariances["head"], problem.gradient["head"])
        XCTAssertEqual(kfac.layers.map(\.name), ["linear", "conv", "head"])
        XCTAssertFalse(kfac.separateWeightAndBias)
        XCTAssertTrue(kfac.areKroneckerFactorsComputed)
    }

    func testNearlySymmetricFactorIsStoredSymmetric() throws {
        var a = try Matrix<Double>(rows: 2, columns: 2, rowMajor: [2, 1, 1, 3])
        a[0, 1] += 1e-12
        let kfac = try KFACLinearOperator(
            parameterShapes: [[1, 2]], layers: [KFACLayer(name: "0", weightPosition: 0)],
            inputCovariances: ["0": a], gradientCovariances: ["0": .identity(1)])
        let stored = try kfac.inputCovariances["0"]!
        XCTAssertEqual(stored[0, 1], stored[1, 0])
        XCTAssertEqual(stored[0, 1], 1 + 0.5e-12, accuracy: 1e-15)
    }

    func testInvalidFactorsThrowNamingTheArgument() throws {
        let shapes = [[2, 3], [2]]
        let layers = [KFACLayer(name: "fc", weightPosition: 0, biasPosition: 1)]
        let a3 = Matrix<Double>.identity(3)
        let g2 = Matrix<Double>.identity(2)
        func make(_ input: [String: Matrix<Double>], _ gradient: [String: Matrix<Double>], separate: Bool = true) throws
            -> KFACLinearOperator<Double>
        {
            try KFACLinearOperator(parameterShapes: shapes, layers: layers, inputCovariances: input,
                                   gradientCovariances: gradient, separateWeightAndBias: separate)
        }

        assertThrowsCurvlinopsError(try make(["fc": a3], ["fc": g2], separate: false), kind: .shapeMismatch,
                                    containing: ["inputCovariances[\"fc\"] is 3 × 3", "expected 4 × 4", "joint"])
        assertThrowsCurvlinopsError(try make(["fc": .identity(4)], ["fc": g2]), kind: .shapeMismatch,
                                    containing: ["inputCovariances[\"fc\"] is 4 × 4", "expected 3 × 3"])
        assertThrowsCurvlinopsError(try make(["fc": a3], ["fc": .identity(3)]), kind: .shapeMismatch,
                                    containing: ["gradientCovariances[\"fc\"] is 3 × 3", "expected 2 × 2", "d_out = 2"])
        assertThrowsCurvlinopsError(try make([:], ["fc": g2]), kind: .invalidArgument,
                                    containing: ["inputCovariances has no factor for layer \"fc\""])
        assertThrowsCurvlinopsError(try make(["fc": a3], [:]), kind: .invalidArgument,
                                    containing: ["gradientCovariances has no factor for layer \"fc\""])
        assertThrowsCurvlinopsError(try make(["fc": a3, "other": a3], ["fc": g2]), kind: .invalidArgument,
                                    containing: ["\"other\", which is not a layer"])

        var asymmetric = a3
        asymmetric[0, 2] = 0.5
        assertThrowsCurvlinopsError(try make(["fc": asymmetric], ["fc": g2]), kind: .invalidArgument,
                                    containing: ["inputCovariances[\"fc\"] is not symmetric", "(2, 0)"])
        var nonFinite = g2
        nonFinite[1, 1] = .infinity
        assertThrowsCurvlinopsError(try make(["fc": a3], ["fc": nonFinite]), kind: .nonFiniteValue,
                                    containing: ["gradientCovariances[\"fc\"]"])
    }

    func testInputFactorOfBiasOnlyLayerIsRejected() throws {
        assertThrowsCurvlinopsError(
            try KFACLinearOperator<Double>(
                parameterShapes: [[2]], layers: [KFACLayer(name: "b", biasPosition: 0)],
                inputCovariances: ["b": .identity(1)], gradientCovariances: ["b": .identity(2)]),
            kind: .invalidArgument, containing: ["layer \"b\", whose weight is not among the parameters"])
    }

    func testInvalidLayerDescriptionsThrow() throws {
        func make(_ shapes: [[Int]], _ layers: [KFACLayer]) throws -> KFACLinearOperator<Double> {
            try KFACLinearOperator(parameterShapes: shapes, layers: layers, inputCovariances: [:], gradientCovariances: [:])
        }
        assertThrowsCurvlinopsError(try make([[2]], []), kind: .invalidArgument, containing: ["layers is empty"])
        assertThrowsCurvlinopsError(
            try make([[2], [2]], [KFACLayer(name: "a", biasPosition: 0), KFACLayer(name: "a", biasPosition: 1)]),
            kind: .invalidArgument, containing: ["\"a\" appears twice"])
        assertThrowsCurvlinopsError(try make([[2]], [KFACLayer(name: "a", biasPosition: 1)]),
                                    kind: .invalidArgument, containing: ["bias position 1", "0..<1"])
        assertThrowsCurvlinopsError(
            try make([[2]], [KFACLayer(name: "a", biasPosition: 0), KFACLayer(name: "b", biasPosition: 0)]),
            kind: .invalidArgument, containing: ["claimed by layer \"a\" and by layer \"b\""])
        assertThrowsCurvlinopsError(try make([[2], [3]], [KFACLayer(name: "a", biasPosition: 0)]),
                                    kind: .invalidArgument, containing: ["parameter 1 belongs to no layer"])
        assertThrowsCurvlinopsError(try make([[2]], [KFACLayer(name: "a")]),
                                    kind: .invalidArgument, containing: ["neither a weight nor a bias"])
        assertThrowsCurvlinopsError(try make([[2]], [KFACLayer(name: "a", weightPosition: 0)]),
                                    kind: .shapeMismatch, containing: ["at least two axes"])
        assertThrowsCurvlinopsError(try make([[2, 3]], [KFACLayer(name: "a", biasPosition: 0)]),
                                    kind: .shapeMismatch, containing: ["expected one axis"])
        assertThrowsCurvlinopsError(
            try make([[2, 3], [4]], [KFACLayer(name: "a", weightPosition: 0, biasPosition: 1)]),
            kind: .shapeMismatch, containing: ["length 4", "2 rows"])
        assertThrowsCurvlinopsError(try make([[0, 3]], [KFACLayer(name: "a", weightPosition: 0)]),
                                    kind: .shapeMismatch, containing: ["size below 1"])
        assertThrowsCurvlinopsError(try make([[2]], [KFACLayer(name: "", biasPosition: 0)]),
                                    kind: .invalidArgument, containing: ["empty name"])
    }

    // MARK: Lazily computed factors

    func testLazyFactorsAreComputedOnceUnderConcurrentRequests() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: true)
        let calls = LockedValue(0)
        let kfac = try KFACLinearOperator<Double>(
            parameterShapes: problem.parameterShapes, layers: problem.layers, fisherType: .empirical,
            kfacApproximation: .reduce, separateWeightAndBias: true
        ) {
            calls.withLock { $0 += 1 }
            Thread.sleep(forTimeInterval: 0.05)
            return KFACFactors(inputCovariances: problem.input, gradientCovariances: problem.gradient)
        }
        XCTAssertFalse(kfac.areKroneckerFactorsComputed)
        XCTAssertEqual(calls.value, 0)

        let x = Matrix<Double>.identity(kfac.inputSize)
        let results = LockedValue<[Matrix<Double>]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            let result = try! kfac.apply(x)
            results.withLock { $0.append(result) }
        }
        XCTAssertEqual(calls.value, 1)
        XCTAssertTrue(kfac.areKroneckerFactorsComputed)
        XCTAssertEqual(results.value.count, 8)
        for result in results.value {
            XCTAssertEqual(result, results.value[0])
        }
        XCTAssertEqual(results.value[0], try problem.kfac().dense())
        XCTAssertEqual(kfac.fisherType, .empirical)
        XCTAssertEqual(kfac.kfacApproximation, .reduce)
    }

    func testLazyFactorsAreRetriedAfterAFailureAndChecked() throws {
        let attempts = LockedValue(0)
        let kfac = try KFACLinearOperator<Double>(
            parameterShapes: [[2]], layers: [KFACLayer(name: "b", biasPosition: 0)], fisherType: .type2,
            kfacApproximation: .expand, separateWeightAndBias: true
        ) {
            let attempt = attempts.withLock { value -> Int in
                value += 1
                return value
            }
            if attempt == 1 {
                throw CurvlinopsError(.numericalBreakdown, "first attempt fails")
            }
            if attempt == 2 {
                return KFACFactors(inputCovariances: [:], gradientCovariances: ["b": .identity(3)])
            }
            return KFACFactors(inputCovariances: [:], gradientCovariances: ["b": .identity(2)])
        }
        assertThrowsCurvlinopsError(try kfac.computeKroneckerFactors(), kind: .numericalBreakdown, containing: ["first attempt"])
        assertThrowsCurvlinopsError(try kfac.trace(), kind: .shapeMismatch, containing: ["gradientCovariances[\"b\"] is 3 × 3"])
        XCTAssertEqual(try kfac.trace(), 2)
        XCTAssertEqual(attempts.value, 3)
        XCTAssertEqual(try kfac.trace(), 2)
        XCTAssertEqual(attempts.value, 3)
    }

    // MARK: Matrix functions

    func testMatrixFunctionsMatchDenseComputations() throws {
        for separate in [true, false] {
            let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: separate, seed: 11)
            let kfac = try problem.kfac()
            let dense = try kfac.dense()
            let eigenvalues = try LAPACK.syevd(dense).eigenvalues
            let context = "separateWeightAndBias = \(separate)"

            let trace = (0..<dense.rows).reduce(0.0) { $0 + dense[$1, $1] }
            XCTAssertEqual(try kfac.trace(), trace, accuracy: 1e-12 * abs(trace), context)
            XCTAssertEqual(try kfac.frobeniusNorm(), dense.frobeniusNorm, accuracy: 1e-12 * dense.frobeniusNorm, context)
            let logDeterminant = eigenvalues.reduce(0.0) { $0 + log($1) }
            XCTAssertEqual(try kfac.logDeterminant(), logDeterminant, accuracy: 1e-10 * abs(logDeterminant), context)
            let determinant = exp(logDeterminant)
            XCTAssertEqual(try kfac.determinant(), determinant, accuracy: 1e-9 * determinant, context)
        }
    }

    func testLogDeterminantOfSingularFactors() throws {
        func kfac(input: Matrix<Double>, gradient: [Double]) throws -> KFACLinearOperator<Double> {
            try KFACLinearOperator(
                parameterShapes: [[1, input.rows]], layers: [KFACLayer(name: "0", weightPosition: 0)],
                inputCovariances: ["0": input], gradientCovariances: ["0": .diagonal(gradient)])
        }
        let singular = try kfac(input: .diagonal([0, 2]), gradient: [3])
        XCTAssertEqual(try singular.logDeterminant(), -.infinity)
        XCTAssertEqual(try singular.determinant(), 0)

        // A = [[1, 1, 0], [1, 1, 1], [0, 1, 1]] passes the cheap checks on given factors
        // but has det(A) = −1 (eigenvalues 1 − √2, 1, 1 + √2). With m = 1:
        // det(KFAC) = det(A)¹·det(G)³ = −27, logdet NaN.
        let indefiniteInput = try Matrix<Double>(rows: 3, columns: 3, rowMajor: [1, 1, 0, 1, 1, 1, 0, 1, 1])
        let indefinite = try kfac(input: indefiniteInput, gradient: [3])
        XCTAssertTrue(try indefinite.logDeterminant().isNaN)
        XCTAssertEqual(try indefinite.determinant(), -27, accuracy: 1e-12)

        // A NaN log-determinant of one factor stays NaN next to −∞ from the other.
        let both = try kfac(input: indefiniteInput, gradient: [0])
        XCTAssertTrue(try both.logDeterminant().isNaN)
        XCTAssertEqual(try both.determinant(), 0)
    }

    func testMatrixFunctionsOfBiasBlocks() throws {
        // KFAC = diag(kron(G, A), G) with G = [[2]], A = [[1, 2], [2, 4]] (singular).
        let kfac = try KroneckerTestSupport.linearTwoToOne()
        XCTAssertEqual(try kfac.trace(), 12)
        XCTAssertEqual(try kfac.frobeniusNorm(), (4 + 16 + 16 + 64 + 4.0).squareRoot(), accuracy: 1e-14)
        let biasOnly = try KroneckerTestSupport.linearTwoToOne(parameters: ["bias"])
        XCTAssertEqual(try biasOnly.determinant(), 2, accuracy: 1e-15)
        XCTAssertEqual(try biasOnly.logDeterminant(), log(2), accuracy: 1e-15)
    }

    // MARK: Fixtures: KFAC from the stored factors

    /// The dense matrix and matrix functions of every KFAC fixture case, from
    /// the stored factors (computing the factors from the network is checked
    /// by the fixture family checkers).
    func testFixtureFactorsGiveFixtureValues() throws {
        var checked = 0
        for family in ["kfac_mlp", "kfac_weight_sharing"] {
            for file in try FixtureFile.files(ofFamily: family) {
                for entry in try fixtureArray(file.root["cases"], "cases") {
                    let object = try fixtureObject(entry, "cases[]")
                    let id = "\(file.name) case \(object["id"] as? String ?? "?")"
                    let record = try fixtureObject(object["kfac"], "kfac")
                    let arguments = try fixtureObject(record["constructor_arguments"], "constructor_arguments")
                    let kfac = try KroneckerFixtureCase.kfac(factorsIn: record, layout: object["layout"], arguments: arguments)
                    try checkMatrixFunctions(kfac, record: record, id: id)
                    let dense = try FixtureTensor(record["dense"], "dense")
                    if let mismatch = fixtureMismatch(try kfac.dense().rowMajorElements, dense.data, rtol: 1e-9, atol: 1e-13) {
                        XCTFail("\(id): dense: \(mismatch)")
                    }
                    checked += 1
                }
            }
        }
        XCTAssertGreaterThan(checked, 0)
    }

    func testDigitsFixtureFactorsGiveKFACTimesV() throws {
        for file in try FixtureFile.files(ofFamily: "digits_mlp") {
            let record = try fixtureObject(file.root["kfac"], "kfac")
            let arguments = try fixtureObject(record["constructor_arguments"], "constructor_arguments")
            let kfac = try KroneckerFixtureCase.kfac(factorsIn: record, layout: file.root["layout"], arguments: arguments)
            let v = try FixtureTensor(file.root["V"], "V").matrix(Double.self)
            let expected = try FixtureTensor(record["kfac_times_V"], "kfac_times_V")
            if let mismatch = fixtureMismatch(try kfac.apply(v).rowMajorElements, expected.data, rtol: 1e-10, atol: 0) {
                XCTFail("\(file.name): kfac_times_V: \(mismatch)")
            }
            try checkMatrixFunctions(kfac, record: record, id: file.name)
        }
    }

    private func checkMatrixFunctions(_ kfac: KFACLinearOperator<Double>, record: [String: Any], id: String) throws {
        let trace = try fixtureDouble(record["trace"], "trace")
        XCTAssertNil(fixtureMismatch([try kfac.trace()], [trace], rtol: 1e-10, atol: 0), "\(id): trace")
        let norm = try fixtureDouble(record["frobenius_norm"], "frobenius_norm")
        XCTAssertNil(fixtureMismatch([try kfac.frobeniusNorm()], [norm], rtol: 1e-10, atol: 0), "\(id): frobenius_norm")

        let singular = record["factors_singular"] as? Bool ?? true
        let bound = try fixtureDouble(record["logdet_upper_bound"], "logdet_upper_bound")
        let logDeterminant = try kfac.logDeterminant()
        let determinant = try kfac.determinant()
        if singular {
            XCTAssertTrue(logDeterminant.isNaN || logDeterminant == -.infinity || logDeterminant <= bound + 1e-8 * abs(bound),
                          "\(id): logdet \(logDeterminant) above the bound \(bound)")
            XCTAssertTrue(determinant == 0 || log(abs(determinant)) <= bound + 1e-8 * abs(bound),
                          "\(id): det \(determinant) above the bound \(bound)")
            return
        }
        let expectedLogDeterminant = try fixtureDouble(record["logdet"], "logdet")
        XCTAssertNil(fixtureMismatch([logDeterminant], [expectedLogDeterminant], rtol: 1e-9, atol: 1e-8), "\(id): logdet")
        if record["det"] != nil {
            let expectedDeterminant = try fixtureDouble(record["det"], "det")
            XCTAssertNil(fixtureMismatch([determinant], [expectedDeterminant], rtol: 1e-8, atol: 0), "\(id): det")
        }
    }
}
