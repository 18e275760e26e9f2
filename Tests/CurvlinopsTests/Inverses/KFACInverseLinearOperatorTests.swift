import Foundation
import XCTest
@testable import Curvlinops

final class KFACInverseLinearOperatorTests: XCTestCase {
    // MARK: The Linear(2 → 1) example

    func testExactDampingOnLinearTwoToOne() throws {
        let kfac = try KroneckerTestSupport.linearTwoToOne()
        let inverse = try KFACInverseLinearOperator(kfac, damping: .exact(0.5))
        let expected = [6.0 / 7, -2.0 / 7, 2.0 / 5]
        var results: [[Double]] = []
        for _ in 0..<3 {
            let result = try inverse.apply([1, 1, 1])
            for (value, reference) in zip(result, expected) {
                XCTAssertEqual(value, reference, accuracy: 1e-14)
            }
            results.append(result)
        }
        XCTAssertEqual(results[1], results[0])
        XCTAssertEqual(results[2], results[0])
    }

    // MARK: Exact damping

    func testExactDampingInvertsDampedKFAC() throws {
        for separate in [true, false] {
            let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: separate, seed: 31)
            let kfac = try problem.kfac()
            let damping = 0.05
            let inverse = try KFACInverseLinearOperator(kfac, damping: .exact(damping))
            var generator = SeededGenerator(seed: 2)
            let x = KroneckerTestSupport.randomMatrix(problem.size, 6, &generator)
            let y = try inverse.apply(x)
            var roundTrip = try kfac.apply(y)
            roundTrip.add(y, scaledBy: damping)
            XCTAssertLessThan(KroneckerTestSupport.relativeError(roundTrip, x), 1e-10, "separateWeightAndBias = \(separate)")
        }
    }

    func testExactDampingReportsDampingAndSmallestDampedEigenvalue() throws {
        let kfac = try KroneckerTestSupport.linearTwoToOne()
        let inverse = try KFACInverseLinearOperator(kfac, damping: .exact(0.5))
        XCTAssertNil(inverse.report)
        try inverse.factorize()
        let layer = try XCTUnwrap(inverse.report?[layer: "0"])
        XCTAssertEqual(layer.damping, .exact(0.5))
        // The eigenvalues of KFAC are 0 and 10 (weight) and 2 (bias); the smallest damped one is 0 + 0.5.
        XCTAssertEqual(try XCTUnwrap(layer.smallestDampedEigenvalue), 0.5, accuracy: 1e-14)
        XCTAssertFalse(layer.usedFallbackDamping)
        XCTAssertFalse(inverse.report!.retriedInDoublePrecision)
    }

    func testExactDampingReusesEigendecompositionsAcrossDampingValues() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: false, seed: 5)
        let kfac = try problem.kfac()
        XCTAssertEqual(kfac.eigendecompositionComputationCount, 0)

        var generator = SeededGenerator(seed: 6)
        let x = KroneckerTestSupport.randomMatrix(problem.size, 2, &generator)
        let first = try KFACInverseLinearOperator(kfac, damping: .exact(0.1)).apply(x)
        XCTAssertEqual(kfac.eigendecompositionComputationCount, 1)
        let second = try KFACInverseLinearOperator(kfac, damping: .exact(0.7)).apply(x)
        let third = try KFACInverseLinearOperator(kfac, damping: .exact(0.1), cache: false).apply(x)
        _ = try kfac.logDeterminant()
        XCTAssertEqual(kfac.eigendecompositionComputationCount, 1)

        XCTAssertEqual(third, first)
        var check = try kfac.apply(second)
        check.add(second, scaledBy: 0.7)
        XCTAssertLessThan(KroneckerTestSupport.relativeError(check, x), 1e-10)
    }

    func testExactDampingZeroOnSingularFactorThrows() throws {
        let kfac = try KroneckerTestSupport.linearTwoToOne()
        let inverse = try KFACInverseLinearOperator(kfac, damping: .exact(0))
        assertThrowsCurvlinopsError(try inverse.apply([1, 1, 1]), kind: .notPositiveDefinite,
                                    containing: ["weight block of layer \"0\"", "damping 0.0", "singular", "damping > 0"])
    }

    // MARK: Cholesky-based damping

    func testScalarDampingMatchesDenseInverse() throws {
        for separate in [true, false] {
            let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: separate, seed: 41)
            let damping = 0.03
            let inverse = try KFACInverseLinearOperator(try problem.kfac(), damping: .scalar(damping))
            let reference = problem.dense { layer, part in
                let g = Self.damped(problem.gradient[layer]!, damping)
                let a = Self.damped(problem.inputFactor(layer, part), part == .bias ? 0 : damping)
                return try! KroneckerTestSupport.inverse(KroneckerTestSupport.kron(g, a))
            }
            XCTAssertLessThan(KroneckerTestSupport.relativeError(try inverse.dense(), reference), 1e-12,
                              "separateWeightAndBias = \(separate)")
            for layer in inverse.report!.layers {
                XCTAssertEqual(layer.damping, .perFactor(input: damping, gradient: damping))
                XCTAssertNil(layer.smallestDampedEigenvalue)
            }
        }
    }

    func testPerFactorDampingMatchesDenseInverse() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: true, seed: 43)
        let (inputDamping, gradientDamping) = (0.2, 0.01)
        let inverse = try KFACInverseLinearOperator(
            try problem.kfac(), damping: .perFactor(input: inputDamping, gradient: gradientDamping))
        let reference = problem.dense { layer, part in
            let g = Self.damped(problem.gradient[layer]!, gradientDamping)
            let a = Self.damped(problem.inputFactor(layer, part), part == .bias ? 0 : inputDamping)
            return try! KroneckerTestSupport.inverse(KroneckerTestSupport.kron(g, a))
        }
        XCTAssertLessThan(KroneckerTestSupport.relativeError(try inverse.dense(), reference), 1e-12)
    }

    func testHeuristicDampingFollowsMartensGrosse() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: true, seed: 47)
        let damping = 0.04
        let inverse = try KFACInverseLinearOperator(try problem.kfac(), damping: .heuristic(damping, minimum: 1e-3))
        try inverse.factorize()
        let report = try XCTUnwrap(inverse.report)
        for name in ["linear", "conv"] {
            let a = problem.input[name]!
            let g = problem.gradient[name]!
            let pi = ((matrixTrace(a) / Double(a.rows)) / (matrixTrace(g) / Double(g.rows))).squareRoot()
            let expected = KFACInverseReport<Double>.AppliedDamping.perFactor(
                input: max(pi * damping.squareRoot(), 1e-3), gradient: max(damping.squareRoot() / pi, 1e-3))
            XCTAssertEqual(report[layer: name]?.damping, expected, name)
            XCTAssertNil(report[layer: name]?.fallbackReason, name)
        }
        // A layer without weight uses (λ, λ) without reporting a fallback.
        XCTAssertEqual(report[layer: "head"]?.damping, .perFactor(input: damping, gradient: damping))
        XCTAssertNil(report[layer: "head"]?.fallbackReason)
    }

    func testHeuristicDampingClampsToMinimum() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: true, seed: 47)
        let inverse = try KFACInverseLinearOperator(try problem.kfac(), damping: .heuristic(1e-12, minimum: 0.25))
        try inverse.factorize()
        XCTAssertEqual(inverse.report?[layer: "conv"]?.damping, .perFactor(input: 0.25, gradient: 0.25))
    }

    func testHeuristicDampingFallsBackWhenTraceConditionFails() throws {
        // tr(G) = 0 fails the condition tr(G) > 0 of the heuristic.
        let kfac = try KFACLinearOperator<Double>(
            parameterShapes: [[2, 2]], layers: [KFACLayer(name: "0", weightPosition: 0)],
            inputCovariances: ["0": .identity(2)], gradientCovariances: ["0": Matrix(zeros: 2, 2)])
        let inverse = try KFACInverseLinearOperator(kfac, damping: .heuristic(0.09))
        let result = try inverse.apply([1, 2, 3, 4])
        let layer = try XCTUnwrap(inverse.report?[layer: "0"])
        XCTAssertEqual(layer.damping, .perFactor(input: 0.09, gradient: 0.09))
        XCTAssertTrue(layer.usedFallbackDamping)
        XCTAssertTrue(layer.fallbackReason?.contains("tr(G) > 0") ?? false, layer.fallbackReason ?? "")
        // (0 + 0.09)⁻¹·M·(I + 0.09)⁻¹.
        for (value, x) in zip(result, [1.0, 2, 3, 4]) {
            XCTAssertEqual(value, x / 0.09 / 1.09, accuracy: 1e-12)
        }
    }

    func testHeuristicDampingFallsBackInsteadOfInfiniteDamping() throws {
        // tr(A) = 0 passes curvlinops' condition but gives π = 0 and δ_G = √λ/0 = ∞.
        let kfac = try KFACLinearOperator<Double>(
            parameterShapes: [[2, 2]], layers: [KFACLayer(name: "0", weightPosition: 0)],
            inputCovariances: ["0": Matrix(zeros: 2, 2)], gradientCovariances: ["0": .identity(2)])
        let inverse = try KFACInverseLinearOperator(kfac, damping: .heuristic(0.09))
        let result = try inverse.apply([1, 2, 3, 4])
        XCTAssertTrue(result.allSatisfy(\.isFinite))
        let layer = try XCTUnwrap(inverse.report?[layer: "0"])
        XCTAssertEqual(layer.damping, .perFactor(input: 0.09, gradient: 0.09))
        XCTAssertTrue(layer.fallbackReason?.contains("not finite") ?? false, layer.fallbackReason ?? "")
    }

    func testZeroScalarDampingOnSingularFactorThrows() throws {
        let kfac = try KroneckerTestSupport.linearTwoToOne()
        let inverse = try KFACInverseLinearOperator(kfac, damping: .scalar(0))
        assertThrowsCurvlinopsError(
            try inverse.apply([1, 1, 1]), kind: .notPositiveDefinite,
            containing: ["input factor A + δ·I (δ = 0.0) of layer \"0\"", "float64", "info", "Increase the damping"])
    }

    // MARK: Float and the retry in double precision

    /// Returns KFAC with A = [[1, 1], [1, 1]], for δ = 1e-9: in Float, 1 + 1e-9 rounds to 1, so
    /// A + δI is singular and Cholesky fails; in Double it is positive definite.
    private func floatRetryOperator() throws -> KFACLinearOperator<Float> {
        try KFACLinearOperator<Float>(
            parameterShapes: [[1, 2]], layers: [KFACLayer(name: "0", weightPosition: 0)],
            inputCovariances: ["0": Matrix(rows: 2, columns: 2, rowMajor: [1, 1, 1, 1])],
            gradientCovariances: ["0": Matrix(rows: 1, columns: 1, rowMajor: [2])])
    }

    func testFloatCholeskyFailureIsRetriedInDoublePrecision() throws {
        let damping = Float(1e-9)
        let inverse = try KFACInverseLinearOperator(try floatRetryOperator(), damping: .scalar(damping))
        let result = try inverse.apply([Float(1), 3])
        let layer = try XCTUnwrap(inverse.report?[layer: "0"])
        XCTAssertTrue(layer.inputRetriedInDoublePrecision)
        XCTAssertFalse(layer.gradientRetriedInDoublePrecision)
        XCTAssertTrue(inverse.report!.retriedInDoublePrecision)

        let d = Double(damping)
        let a = try Matrix<Double>(rows: 2, columns: 2, rowMajor: [1 + d, 1, 1, 1 + d])
        let expected = try KroneckerTestSupport.inverse(a) * Matrix(rows: 2, columns: 1, columnMajor: [1, 3])
        let scale = 1 / (2 + d)
        // The inverse has entries near 5e8 that cancel; Float keeps about 7 digits of the largest.
        XCTAssertNil(fixtureMismatch(result.map(Double.init), expected.elements.map { $0 * scale }, rtol: 1e-5, atol: 0))
    }

    func testFloatCholeskyFailureWithoutRetryThrows() throws {
        let inverse = try KFACInverseLinearOperator(
            try floatRetryOperator(), damping: .scalar(1e-9), retryInDoublePrecision: false)
        assertThrowsCurvlinopsError(
            try inverse.apply([Float(1), 3]), kind: .notPositiveDefinite,
            containing: ["input factor A", "layer \"0\"", "float32", "info = 2", "retryInDoublePrecision"])
    }

    func testFloatInverseMatchesDouble() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: false, seed: 53)
        var generator = SeededGenerator(seed: 54)
        let x = KroneckerTestSupport.randomMatrix(problem.size, 3, &generator)
        for damping in [KFACDamping<Double>.scalar(0.1), .exact(0.1)] {
            let floatDamping: KFACDamping<Float> = damping.isExact ? .exact(0.1) : .scalar(0.1)
            let double = try KFACInverseLinearOperator(try problem.kfac(), damping: damping).apply(x)
            let float = try KFACInverseLinearOperator(try problem.kfacFloat(), damping: floatDamping)
                .apply(KroneckerTestSupport.float(x))
            // The damped factors have condition numbers below 100, so Float loses at most 2 of its 7 digits.
            XCTAssertLessThan(KroneckerTestSupport.relativeError(KroneckerTestSupport.double(float), double), 1e-4, "\(damping)")
        }
    }

    // MARK: Digits fixture

    /// The trained digits MLP's stored KFAC factors, inverted with the recorded arguments, applied to V.
    func testDigitsFixtureInverseTimesV() throws {
        for file in try FixtureFile.files(ofFamily: "digits_mlp") {
            let record = try fixtureObject(file.root["kfac"], "kfac")
            let arguments = try fixtureObject(record["constructor_arguments"], "constructor_arguments")
            let kfac = try KroneckerFixtureCase.kfac(factorsIn: record, layout: file.root["layout"], arguments: arguments)
            let v = try FixtureTensor(file.root["V"], "V").matrix(Double.self)
            for key in ["kfac_inverse", "kfac_inverse_exact_damping"] {
                let entry = try fixtureObject(file.root[key], key)
                let inverseArguments = try fixtureObject(entry["inverse_constructor_arguments"], "inverse_constructor_arguments")
                let inverse = try KFACInverseFixtureChecker.inverse(of: kfac, arguments: inverseArguments)
                let expected = try FixtureTensor(entry["kfac_inverse_times_V"], "kfac_inverse_times_V")
                if let mismatch = fixtureMismatch(try inverse.apply(v).rowMajorElements, expected.data, rtol: 1e-8, atol: 0) {
                    XCTFail("\(file.name) \(key): kfac_inverse_times_V: \(mismatch)")
                }
            }
        }
    }

    // MARK: EKFAC

    func testEKFACExactDampingEqualsDenseInverse() throws {
        for separate in [true, false] {
            let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: separate, seed: 61)
            let ekfac = try EKFACLinearOperatorTests.ekfac(problem, EKFACLinearOperatorTests.correctedEigenvalues(for: problem))
            let damping = 0.02
            let inverse = try KFACInverseLinearOperator(ekfac, damping: .exact(damping))
            var damped = try ekfac.dense()
            damped.add(.identity(problem.size), scaledBy: damping)
            let reference = try KroneckerTestSupport.inverse(damped)
            XCTAssertLessThan(KroneckerTestSupport.relativeError(try inverse.dense(), reference), 1e-11,
                              "separateWeightAndBias = \(separate)")
            XCTAssertNotNil(inverse.report?.layers.first?.smallestDampedEigenvalue)
        }
    }

    func testEKFACZeroEigenvalueWithZeroDampingThrows() throws {
        let ekfac = try EKFACLinearOperator<Double>(
            parameterShapes: [[2]], layers: [KFACLayer(name: "b", biasPosition: 0)], inputCovariances: [:],
            gradientCovariances: ["b": .identity(2)], correctedEigenvalues: ["b": .separate(weight: nil, bias: [0, 3])])
        let inverse = try KFACInverseLinearOperator(ekfac, damping: .exact(0))
        assertThrowsCurvlinopsError(try inverse.apply([1, 1]), kind: .notPositiveDefinite,
                                    containing: ["bias block of layer \"b\"", "singular"])
    }

    func testEKFACRequiresExactDamping() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: true)
        let ekfac = try EKFACLinearOperatorTests.ekfac(problem, EKFACLinearOperatorTests.correctedEigenvalues(for: problem))
        assertThrowsCurvlinopsError(try KFACInverseLinearOperator(ekfac, damping: .scalar(0.1)),
                                    kind: .invalidArgument, containing: ["only exact damping is supported for EKFAC"])
        assertThrowsCurvlinopsError(try KFACInverseLinearOperator(ekfac as any LinearOperator<Double>, damping: 0.1),
                                    kind: .invalidArgument, containing: ["only exact damping is supported for EKFAC"])
    }

    // MARK: Arguments

    func testInvalidDampingValuesThrow() throws {
        let kfac = try KroneckerTestSupport.linearTwoToOne()
        assertThrowsCurvlinopsError(try KFACInverseLinearOperator(kfac, damping: .scalar(-1)),
                                    kind: .invalidArgument, containing: ["damping = -1.0", "finite number ≥ 0"])
        assertThrowsCurvlinopsError(try KFACInverseLinearOperator(kfac, damping: .exact(.nan)),
                                    kind: .invalidArgument, containing: ["damping = nan"])
        assertThrowsCurvlinopsError(try KFACInverseLinearOperator(kfac, damping: .perFactor(input: 1, gradient: .infinity)),
                                    kind: .invalidArgument, containing: ["gradient damping = inf"])
        assertThrowsCurvlinopsError(try KFACInverseLinearOperator(kfac, damping: .heuristic(0.1, minimum: -1)),
                                    kind: .invalidArgument, containing: ["minimum damping = -1.0"])
        assertThrowsCurvlinopsError(try KFACInverseLinearOperator(kfac as any LinearOperator<Double>, damping: -2),
                                    kind: .invalidArgument, containing: ["damping = -2.0"])
    }

    func testCurvlinopsStyleArgumentsAreCheckedInCurvlinopsOrder() throws {
        let kfac = try KroneckerTestSupport.linearTwoToOne()
        let dense = try DenseLinearOperator(Matrix<Double>.identity(3))
        // Not an (E)KFAC operator comes first, even with contradictory flags.
        assertThrowsCurvlinopsError(
            try KFACInverseLinearOperator(dense, damping: 0.1, useHeuristicDamping: true, useExactDamping: true),
            kind: .invalidArgument, containing: ["DenseLinearOperator", "expected a KFACLinearOperator"])
        assertThrowsCurvlinopsError(
            try KFACInverseLinearOperator(kfac, damping: (input: 0.1, gradient: 0.2), useHeuristicDamping: true,
                                          useExactDamping: true),
            kind: .invalidArgument, containing: ["either heuristic damping or exact damping, not both"])
        assertThrowsCurvlinopsError(
            try KFACInverseLinearOperator(kfac, damping: (input: 0.1, gradient: 0.2), useExactDamping: true),
            kind: .invalidArgument, containing: ["require a single damping value"])

        let heuristic = try KFACInverseLinearOperator(kfac, damping: 0.1, useHeuristicDamping: true, minDamping: 0.01)
        XCTAssertEqual(heuristic.damping, .heuristic(0.1, minimum: 0.01))
        let exact = try KFACInverseLinearOperator(kfac, damping: 0.1, useExactDamping: true, cache: false)
        XCTAssertEqual(exact.damping, .exact(0.1))
        XCTAssertFalse(exact.cache)
        let pair = try KFACInverseLinearOperator(kfac, damping: (input: 0.1, gradient: 0.2), retryInDoublePrecision: false)
        XCTAssertEqual(pair.damping, .perFactor(input: 0.1, gradient: 0.2))
        XCTAssertFalse(pair.retryInDoublePrecision)
    }

    // MARK: Caching

    func testRepeatedAppliesAreBitIdentical() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: false, seed: 71)
        var generator = SeededGenerator(seed: 72)
        let x = KroneckerTestSupport.randomMatrix(problem.size, 4, &generator)
        let modes: [KFACDamping<Double>] = [.scalar(0.1), .perFactor(input: 0.1, gradient: 0.3), .heuristic(0.1), .exact(0.1)]
        for damping in modes {
            for cache in [true, false] {
                let inverse = try KFACInverseLinearOperator(try problem.kfac(), damping: damping, cache: cache)
                let first = try inverse.apply(x)
                for _ in 0..<3 {
                    XCTAssertEqual(try inverse.apply(x), first, "\(damping), cache = \(cache)")
                }
            }
        }
    }

    func testCacheOffKeepsNoFactors() throws {
        let kfac = try KroneckerTestSupport.linearTwoToOne()
        let inverse = try KFACInverseLinearOperator(kfac, damping: .scalar(0.5), cache: false)
        _ = try inverse.apply([1, 1, 1])
        XCTAssertNil(inverse.preparedStore.valueIfPresent)
        XCTAssertEqual(inverse.report?[layer: "0"]?.damping, .perFactor(input: 0.5, gradient: 0.5))

        let cached = try KFACInverseLinearOperator(kfac, damping: .scalar(0.5))
        _ = try cached.apply([1, 1, 1])
        XCTAssertNotNil(cached.preparedStore.valueIfPresent)
        XCTAssertEqual(cached.preparedStore.computationCount, 1)
        _ = try cached.apply([1, 1, 1])
        XCTAssertEqual(cached.preparedStore.computationCount, 1)
    }

    func testInverseIsSelfAdjointAndKeepsShapes() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: true)
        let inverse = try KFACInverseLinearOperator(try problem.kfac(), damping: .scalar(0.1))
        XCTAssertEqual(inverse.inputShapes, problem.parameterShapes)
        XCTAssertEqual(inverse.outputShapes, problem.parameterShapes)
        let dense = try inverse.dense()
        XCTAssertLessThan(KroneckerTestSupport.relativeError(dense.transposed, dense), 1e-14)
        XCTAssertEqual(try inverse.adjoint().dense(), dense)
        XCTAssertTrue(inverse.baseOperator is KFACLinearOperator<Double>)
    }

    private static func damped(_ matrix: Matrix<Double>, _ damping: Double) -> Matrix<Double> {
        var result = matrix
        for i in 0..<result.rows {
            result[i, i] += damping
        }
        return result
    }
}
