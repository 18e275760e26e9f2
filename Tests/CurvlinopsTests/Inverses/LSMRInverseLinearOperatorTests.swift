import XCTest
@testable import Curvlinops

final class LSMRInverseLinearOperatorTests: XCTestCase {
    private let smallSPD = try! Matrix<Double>(rows: 2, columns: 2, rowMajor: [4, 1, 1, 3])

    // MARK: Small exact cases

    func testZeroRightHandSideGivesStopCodeZero() throws {
        let inverse = try LSMRInverseLinearOperator(DenseLinearOperator(smallSPD))
        let result = try inverse.solve(Matrix(rows: 2, columns: 1, columnMajor: [0, 0]))
        let statistics = try XCTUnwrap(result.report.columns[0].lsmr)

        XCTAssertEqual(result.solution.elements, [0, 0])
        XCTAssertEqual(statistics.istop, .exactSolutionAtStart)
        XCTAssertEqual(statistics.istop.rawValue, 0)
        XCTAssertEqual(statistics.itn, 0)
        XCTAssertTrue(result.report.columns[0].converged)
    }

    func testDampedProblemMatchesClosedForm() throws {
        // min ‖Ax − b‖² + 4‖x‖²: (AᵀA + 4I)x = Aᵀb, [[14, 14], [14, 24]]·x = [4, 6],
        // so x = [3/35, 1/5].
        let a = try Matrix<Double>(rows: 2, columns: 2, rowMajor: [1, 2, 3, 4])
        let inverse = try LSMRInverseLinearOperator(DenseLinearOperator(a), damp: 2, atol: 1e-14, btol: 1e-14)
        let result = try inverse.solve(Matrix(rows: 2, columns: 1, columnMajor: [1, 1]))

        XCTAssertEqual(result.solution[0, 0], 3.0 / 35, accuracy: 1e-14)
        XCTAssertEqual(result.solution[1, 0], 1.0 / 5, accuracy: 1e-14)
        XCTAssertEqual(result.report.columns[0].lsmr?.istop, .leastSquaresSolved)
        XCTAssertEqual(result.report.columns[0].stopReason, .lsmr(.leastSquaresSolved))
    }

    func testNaNRightHandSideThrowsNamingColumn() throws {
        let inverse = try LSMRInverseLinearOperator(DenseLinearOperator(smallSPD))
        let b = try Matrix<Double>(rows: 2, columns: 3, columnMajor: [1, 1, 0, 0, 2, .nan])

        assertThrowsCurvlinopsError(.nonFiniteValue, containing: ["column 2"]) {
            try inverse.apply(b)
        }
        assertThrowsCurvlinopsError(.nonFiniteValue, containing: ["column 2 of b"]) {
            try LSMR.solve(DenseLinearOperator(smallSPD), b)
        }
    }

    func testNonSquareOperatorThrowsAtConstruction() throws {
        let rectangular = try DenseLinearOperator(Matrix<Double>(zeros: 2, 3))

        assertThrowsCurvlinopsError(.shapeMismatch, containing: ["LSMRInverseLinearOperator", "square"]) {
            try LSMRInverseLinearOperator(rectangular)
        }
    }

    func testConditionLimitBelowOneThrows() throws {
        assertThrowsCurvlinopsError(.invalidArgument, containing: ["conditionLimit = 1e-08", "≥ 1"]) {
            try LSMRInverseLinearOperator(DenseLinearOperator(smallSPD), conditionLimit: 1e-8)
        }
    }

    func testMaxIterationsZeroReturnsInitialGuess() throws {
        let guess = try Matrix<Double>(rows: 2, columns: 1, columnMajor: [0.5, -1])
        let inverse = try LSMRInverseLinearOperator(DenseLinearOperator(smallSPD), maxIterations: 0, initialGuess: guess)
        let result = try inverse.solve(Matrix(rows: 2, columns: 1, columnMajor: [1, 2]))

        XCTAssertEqual(result.solution, guess)
        XCTAssertEqual(result.report.columns[0].lsmr?.istop, .iterationLimit)
        XCTAssertEqual(result.report.columns[0].iterations, 0)
        XCTAssertFalse(result.report.columns[0].converged)
    }

    func testInvalidHyperparametersThrow() throws {
        let a = try DenseLinearOperator(smallSPD)
        assertThrowsCurvlinopsError(.invalidArgument, containing: ["damp = -1.0"]) {
            try LSMRInverseLinearOperator(a, damp: -1)
        }
        assertThrowsCurvlinopsError(.invalidArgument, containing: ["atol = nan"]) {
            try LSMRInverseLinearOperator(a, atol: .nan)
        }
        assertThrowsCurvlinopsError(.invalidArgument, containing: ["btol = inf"]) {
            try LSMRInverseLinearOperator(a, btol: .infinity)
        }
        for limit in [-1.0, 0.5, .infinity, .nan] {
            assertThrowsCurvlinopsError(.invalidArgument, containing: ["conditionLimit = \(limit)"]) {
                try LSMRInverseLinearOperator(a, conditionLimit: limit)
            }
        }
        assertThrowsCurvlinopsError(.invalidArgument, containing: ["maxIterations = -2"]) {
            try LSMR.solve(a, Matrix(zeros: 2, 1), maxIterations: -2)
        }
        assertThrowsCurvlinopsError(.shapeMismatch, containing: ["b has 3 rows"]) {
            try LSMR.solve(a, Matrix(zeros: 3, 1))
        }
    }

    func testConditionLimitZeroDisablesTheTest() throws {
        let inverse = try LSMRInverseLinearOperator(DenseLinearOperator(smallSPD), conditionLimit: 0)
        let result = try inverse.solve(Matrix(rows: 2, columns: 1, columnMajor: [1, 2]))

        XCTAssertTrue(result.report.allConverged)
        XCTAssertNil(fixtureMismatch(result.solution.elements, try LAPACK.gesv(smallSPD, Matrix(rows: 2, columns: 1, columnMajor: [1, 2])).elements, rtol: 1e-6, atol: 0))
    }

    // MARK: Properties

    func testRectangularFullRankMatchesNormalEquations() throws {
        let a = makeRandomMatrix(rows: 12, columns: 5, seed: 21)
        let b = makeRandomMatrix(rows: 12, columns: 2, seed: 22)
        let result = try LSMR.solve(DenseLinearOperator(a), b, atol: 1e-14, btol: 1e-14, maxIterations: 50)

        let normalMatrix = try a.transposed * a
        let expected = try LAPACK.gesv(normalMatrix, try a.transposed * b)
        XCTAssertNil(fixtureMismatch(result.solution.elements, expected.elements, rtol: 1e-9, atol: 0))
        XCTAssertTrue(result.report.allConverged)
        XCTAssertEqual(result.report.columns.compactMap(\.lsmr?.istop), [.leastSquaresSolved, .leastSquaresSolved])
    }

    func testUnderdeterminedSystemGivesMinimumNormSolution() throws {
        let a = makeRandomMatrix(rows: 5, columns: 12, seed: 23)
        let b = makeRandomMatrix(rows: 5, columns: 2, seed: 24)
        let result = try LSMR.solve(DenseLinearOperator(a), b, atol: 1e-14, btol: 1e-14, maxIterations: 50)

        // x = Aᵀ(AAᵀ)⁻¹b.
        let expected = try a.transposed * (try LAPACK.gesv(try a * a.transposed, b))
        XCTAssertNil(fixtureMismatch(result.solution.elements, expected.elements, rtol: 1e-9, atol: 0))
        XCTAssertEqual(result.report.columns.compactMap(\.lsmr?.istop), [.compatibleSystemSolved, .compatibleSystemSolved])
    }

    func testAdjointIsInverseOfAdjoint() throws {
        let n = 8
        var a = makeRandomMatrix(rows: n, columns: n, seed: 25)
        for i in 0..<n {
            a[i, i] += 4 // diagonally dominant, so well-conditioned and not symmetric
        }
        let inverse = try LSMRInverseLinearOperator(DenseLinearOperator(a), atol: 1e-14, btol: 1e-14, maxIterations: 100)
        let b = makeRandomMatrix(rows: n, columns: 2, seed: 26)

        XCTAssertNil(fixtureMismatch(try inverse.apply(b).elements, try LAPACK.gesv(a, b).elements, rtol: 1e-10, atol: 0))
        XCTAssertNil(fixtureMismatch(try inverse.adjoint().apply(b).elements, try LAPACK.gesv(a.transposed, b).elements, rtol: 1e-10, atol: 0))
    }

    func testInitialGuessWarmStartsEachColumn() throws {
        let n = 10
        let a = try makeSPDMatrix(size: n, condition: 100, seed: 27)
        let b = makeRandomMatrix(rows: n, columns: 2, seed: 28)
        let exact = try LAPACK.gesv(a, b)
        var guess = exact
        guess.setColumn(1, to: Array(repeating: 0, count: n))
        let inverse = try LSMRInverseLinearOperator(
            DenseLinearOperator(a), atol: 1e-10, btol: 1e-10, maxIterations: 100, initialGuess: guess)
        let result = try inverse.solve(b)

        let columns = result.report.columns.compactMap(\.lsmr)
        XCTAssertLessThan(columns[0].itn, columns[1].itn, "the solved column should need fewer iterations")
        XCTAssertNil(fixtureMismatch(result.solution.elements, exact.elements, rtol: 1e-7, atol: 0))
    }

    func testFloatMatchesDouble() throws {
        // Both runs stop on atol = btol = 1e-5 (Float) and 1e-12 (Double) on a
        // system with κ = 10; the solutions then agree to κ·(1e-5 + rounding of
        // A and b in Float), below 1.1e-4 relative.
        let n = 12
        let a = try makeSPDMatrix(size: n, condition: 10, seed: 29)
        let b = makeRandomMatrix(rows: n, columns: 3, seed: 30)
        let double = try LSMRInverseLinearOperator(DenseLinearOperator(a), atol: 1e-12, btol: 1e-12, maxIterations: 100).apply(b)
        let floatInverse = try LSMRInverseLinearOperator(
            DenseLinearOperator(converted(a, to: Float.self)), atol: 1e-5, btol: 1e-5, maxIterations: 100)
        let float = try floatInverse.apply(converted(b, to: Float.self))

        XCTAssertTrue(floatInverse.lastReport!.allConverged)
        for j in 0..<b.columns {
            let difference = euclideanNorm(zip(toDouble(float).column(j), double.column(j)).map { $0 - $1 })
            XCTAssertLessThanOrEqual(difference, 1.1e-4 * euclideanNorm(double.column(j)), "column \(j)")
        }
    }

    // MARK: Report

    func testReportCountsProductsAndMeasuresResiduals() throws {
        let n = 10
        let a = try makeSPDMatrix(size: n, condition: 100, seed: 31)
        let b = makeRandomMatrix(rows: n, columns: 3, seed: 32)
        let inverse = try LSMRInverseLinearOperator(DenseLinearOperator(a), atol: 0, btol: 0, conditionLimit: 0, maxIterations: 4)
        let result = try inverse.solve(b)

        // One Aᵀ product to start, then one A and one Aᵀ per iteration, plus
        // one A product for the report's residuals.
        XCTAssertEqual(result.report.method, .lsmr)
        XCTAssertEqual(result.report.operatorApplications, 5)
        XCTAssertEqual(result.report.adjointApplications, 5)
        XCTAssertEqual(result.report.columns.compactMap(\.lsmr?.itn), [4, 4, 4])
        let residuals = relativeResiduals(a, result.solution, b)
        for (j, column) in result.report.columns.enumerated() {
            XCTAssertEqual(column.relativeResidualNorm, residuals[j], accuracy: 1e-12)
            // Without damping LSMR's estimate normr is ‖b − Ax‖.
            let normB = euclideanNorm(b.column(j))
            XCTAssertEqual(column.lsmr!.normr / normB, residuals[j], accuracy: 1e-10)
            XCTAssertEqual(column.lsmr!.normx, euclideanNorm(result.solution.column(j)), accuracy: 1e-12)
        }
    }

    func testStopCodesFollowSciPyNumbering() {
        XCTAssertEqual(LSMRStopReason.allCases.map(\.rawValue), Array(0...7))
        XCTAssertEqual(LSMRStopReason.allCases.filter(\.isSolution).map(\.rawValue), [0, 1, 2, 4, 5])
        for reason in LSMRStopReason.allCases {
            XCTAssertTrue(reason.description.hasPrefix("istop \(reason.rawValue):"), reason.description)
        }
    }

    func testRepeatedAppliesAreBitIdentical() throws {
        let n = 15
        let a = makeRandomMatrix(rows: n, columns: n, seed: 33)
        let b = makeRandomMatrix(rows: n, columns: 3, seed: 34)
        let inverse = try LSMRInverseLinearOperator(DenseLinearOperator(a), damp: 0.1)

        let first = try inverse.solve(b)
        let second = try inverse.solve(b)

        XCTAssertEqual(first.solution.elements, second.solution.elements)
        XCTAssertEqual(first.report, second.report)
        XCTAssertEqual(inverse.lastReport, second.report)
    }
}
