import Foundation
import XCTest
@testable import Curvlinops

final class CGInverseLinearOperatorTests: XCTestCase {
    private let smallSPD = try! Matrix<Double>(rows: 2, columns: 2, rowMajor: [4, 1, 1, 3])

    // MARK: Small exact cases

    func testZeroRightHandSideReturnsZeroWithoutIterating() throws {
        let inverse = try CGInverseLinearOperator(DenseLinearOperator(smallSPD))
        let result = try inverse.solve(Matrix(rows: 2, columns: 1, columnMajor: [0, 0]))

        XCTAssertEqual(result.solution.elements, [0, 0])
        XCTAssertEqual(result.report.columns[0].iterations, 0)
        XCTAssertTrue(result.report.columns[0].converged)
        XCTAssertEqual(result.report.columns[0].stopReason, .zeroRightHandSide)
        XCTAssertEqual(result.report.columns[0].relativeResidualNorm, 0)
    }

    func testIndefiniteOperatorThrowsNonPositiveCurvature() throws {
        // Column 2 is b = [1, 1]: p₁ = [6, 12] after one step and p₁ᵀAp₁ = 72 − 144.
        // Columns 0 and 1 lie along the positive eigenvector and converge in one step.
        let indefinite = try Matrix<Double>(rows: 2, columns: 2, rowMajor: [2, 0, 0, -1])
        let inverse = try CGInverseLinearOperator(DenseLinearOperator(indefinite), tolerance: 0)
        let b = try Matrix<Double>(rows: 2, columns: 3, rowMajor: [1, 2, 1, 0, 0, 1])

        assertThrowsCurvlinopsError(
            .notPositiveDefinite,
            containing: ["CG: column 2", "non-positive curvature", "pᵀAp = -72.0", "at iteration 1", "not positive definite"]
        ) {
            try inverse.apply(b)
        }
        XCTAssertNil(inverse.lastReport, "a failed apply stored a report")
    }

    func testIndefiniteOperatorSingleColumnThrowsWithoutNaN() throws {
        let indefinite = try Matrix<Double>(rows: 2, columns: 2, rowMajor: [2, 0, 0, -1])
        let inverse = try CGInverseLinearOperator(DenseLinearOperator(indefinite))

        do {
            _ = try inverse.apply([1.0, 1.0])
            XCTFail("CG on an indefinite operator returned a result")
        } catch let error as CurvlinopsError {
            XCTAssertEqual(error.kind, .notPositiveDefinite)
            XCTAssertTrue(error.message.contains("non-positive curvature"), error.message)
            XCTAssertFalse(error.message.lowercased().contains("nan"), error.message)
        }
    }

    func testSemidefiniteOperatorReturnsExactSolution() throws {
        // A = diag(1, 0) and b in its range: CG reaches r = 0 after one step
        // and must return x = [1, 0] instead of meeting pᵀAp = 0.
        let singular = try Matrix<Double>(rows: 2, columns: 2, rowMajor: [1, 0, 0, 0])
        let inverse = try CGInverseLinearOperator(DenseLinearOperator(singular), maxIterations: 5, tolerance: 0)
        let result = try inverse.solve(Matrix(rows: 2, columns: 1, columnMajor: [1, 0]))

        XCTAssertEqual(result.solution.elements, [1, 0])
        XCTAssertEqual(result.report.columns[0].iterations, 1)
        XCTAssertTrue(result.report.columns[0].converged)
        XCTAssertEqual(result.report.columns[0].relativeResidualNorm, 0)
    }

    func testNaNRightHandSideThrowsNamingColumn() throws {
        let inverse = try CGInverseLinearOperator(DenseLinearOperator(smallSPD))
        let b = try Matrix<Double>(rows: 2, columns: 3, columnMajor: [1, 1, 2, .nan, 0, 1])

        assertThrowsCurvlinopsError(.nonFiniteValue, containing: ["column 1"]) {
            try inverse.apply(b)
        }
    }

    func testNonSquareOperatorThrowsAtConstruction() throws {
        let rectangular = try DenseLinearOperator(Matrix<Double>(zeros: 3, 2))

        assertThrowsCurvlinopsError(.shapeMismatch, containing: ["CGInverseLinearOperator", "square", "LSMR.solve"]) {
            try CGInverseLinearOperator(rectangular)
        }
    }

    func testMaxIterationsZeroReturnsInitialGuess() throws {
        let guess = try Matrix<Double>(rows: 2, columns: 1, columnMajor: [0.25, -0.5])
        let inverse = try CGInverseLinearOperator(DenseLinearOperator(smallSPD), maxIterations: 0, initialGuess: guess)
        let result = try inverse.solve(Matrix(rows: 2, columns: 1, columnMajor: [1, 2]))

        XCTAssertEqual(result.solution, guess)
        XCTAssertEqual(result.report.columns[0].iterations, 0)
        XCTAssertFalse(result.report.columns[0].converged)
        XCTAssertEqual(result.report.columns[0].stopReason, .iterationLimit)
    }

    func testMaxIterationsZeroWithoutGuessReturnsZero() throws {
        let inverse = try CGInverseLinearOperator(DenseLinearOperator(smallSPD), maxIterations: 0)
        let result = try inverse.solve(Matrix(rows: 2, columns: 1, columnMajor: [1, 2]))

        XCTAssertEqual(result.solution.elements, [0, 0])
        XCTAssertFalse(result.report.allConverged)
        XCTAssertEqual(result.report.columns[0].relativeResidualNorm, 1)
    }

    func testInitialGuessThatSolvesStopsAtZeroIterations() throws {
        let b = try Matrix<Double>(rows: 2, columns: 2, rowMajor: [1, 0, 2, 1])
        let solution = try LAPACK.gesv(smallSPD, b)
        var guess = solution
        guess[0, 1] += 1 // column 1 is not solved by its guess
        let inverse = try CGInverseLinearOperator(DenseLinearOperator(smallSPD), tolerance: 1e-10, initialGuess: guess)
        let result = try inverse.solve(b)

        XCTAssertEqual(result.solution.column(0), guess.column(0), "a solved column must come back unchanged")
        XCTAssertEqual(result.report.columns[0].iterations, 0)
        XCTAssertTrue(result.report.columns[0].converged)
        XCTAssertGreaterThan(result.report.columns[1].iterations, 0)
        XCTAssertLessThanOrEqual(relativeDifference(result.solution, solution), 1e-9)
    }

    func testToleranceAtLeastOneIsMetByZero() throws {
        let inverse = try CGInverseLinearOperator(DenseLinearOperator(smallSPD), tolerance: 1)
        let result = try inverse.solve(Matrix(rows: 2, columns: 1, columnMajor: [1, 2]))

        XCTAssertEqual(result.solution.elements, [0, 0])
        XCTAssertEqual(result.report.columns[0].iterations, 0)
        XCTAssertEqual(result.report.columns[0].stopReason, .toleranceReached)
    }

    // MARK: Invalid arguments

    func testInvalidHyperparametersThrow() throws {
        let a = try DenseLinearOperator(smallSPD)
        for tolerance in [-1.0, .nan, .infinity] {
            assertThrowsCurvlinopsError(.invalidArgument, containing: ["tolerance = \(tolerance)"]) {
                try CGInverseLinearOperator(a, tolerance: tolerance)
            }
        }
        assertThrowsCurvlinopsError(.invalidArgument, containing: ["maxIterations = -1"]) {
            try CGInverseLinearOperator(a, maxIterations: -1)
        }
        assertThrowsCurvlinopsError(.shapeMismatch, containing: ["preconditioner"]) {
            try CGInverseLinearOperator(a, preconditioner: IdentityLinearOperator<Double>(size: 3))
        }
        assertThrowsCurvlinopsError(.shapeMismatch, containing: ["initialGuess is 3 × 1"]) {
            try CGInverseLinearOperator(a, initialGuess: Matrix(zeros: 3, 1))
        }
        assertThrowsCurvlinopsError(.nonFiniteValue, containing: ["column 0 of initialGuess"]) {
            try CGInverseLinearOperator(a, initialGuess: Matrix(rows: 2, columns: 1, columnMajor: [.nan, 0]))
        }
    }

    func testGuessColumnMismatchThrowsAtApply() throws {
        let inverse = try CGInverseLinearOperator(DenseLinearOperator(smallSPD), initialGuess: Matrix(zeros: 2, 1))

        assertThrowsCurvlinopsError(.shapeMismatch, containing: ["initialGuess is 2 × 1", "expected 2 × 3"]) {
            try inverse.apply(Matrix<Double>(zeros: 2, 3))
        }
    }

    func testOperatorReturningNaNThrowsBreakdown() throws {
        let inverse = try CGInverseLinearOperator(NaNOperator(size: 3))

        assertThrowsCurvlinopsError(.numericalBreakdown, containing: ["column 0", "NaN or infinite"]) {
            try inverse.apply([1.0, 2.0, 3.0])
        }
    }

    // MARK: Properties

    func testNIterationsMatchDenseSolve() throws {
        // With tolerance 0, n steps of CG on a well-conditioned system give
        // the solution up to rounding: κ = 10, n = 16.
        let n = 16
        let a = try makeSPDMatrix(size: n, condition: 10, seed: 1)
        let b = makeRandomMatrix(rows: n, columns: 3, seed: 2)
        let inverse = try CGInverseLinearOperator(DenseLinearOperator(a), maxIterations: n, tolerance: 0)
        let result = try inverse.solve(b)

        XCTAssertEqual(result.report.columns.map(\.iterations), [n, n, n])
        XCTAssertNil(fixtureMismatch(result.solution.elements, try LAPACK.gesv(a, b).elements, rtol: 1e-11, atol: 0))
    }

    func testExactInversePreconditionerConvergesInOneIteration() throws {
        let n = 12
        let a = try makeSPDMatrix(size: n, condition: 1e4, seed: 3)
        let exactInverse = try LAPACK.gesv(a, Matrix.identity(n))
        var symmetricInverse = exactInverse
        symmetricInverse.symmetrize()
        let b = makeRandomMatrix(rows: n, columns: 2, seed: 4)
        let inverse = try CGInverseLinearOperator(
            DenseLinearOperator(a), tolerance: 1e-8, preconditioner: DenseLinearOperator(symmetricInverse))
        let result = try inverse.solve(b)

        XCTAssertEqual(result.report.columns.map(\.iterations), [1, 1])
        XCTAssertTrue(result.report.allConverged)
        XCTAssertNil(fixtureMismatch(result.solution.elements, try LAPACK.gesv(a, b).elements, rtol: 1e-7, atol: 0))
    }

    func testColumnsStopIndependently() throws {
        // Column 0 is an eigenvector, solved in one step; the others need more.
        let n = 10
        let a = try makeSPDMatrix(size: n, condition: 50, seed: 5)
        let eigenvector = try LAPACK.syevd(a).eigenvectors.column(3)
        var b = makeRandomMatrix(rows: n, columns: 3, seed: 6)
        b.setColumn(0, to: eigenvector)
        let inverse = try CGInverseLinearOperator(DenseLinearOperator(a), tolerance: 1e-10)
        let result = try inverse.solve(b)

        XCTAssertEqual(result.report.columns[0].iterations, 1)
        XCTAssertGreaterThan(result.report.columns[1].iterations, 1)
        XCTAssertTrue(result.report.allConverged)
        for (j, residual) in relativeResiduals(a, result.solution, b).enumerated() {
            XCTAssertLessThanOrEqual(residual, 1e-10 * 1.0001, "column \(j)")
        }
    }

    func testAdjointIsInverseOfAdjoint() throws {
        let n = 8
        let a = try makeSPDMatrix(size: n, condition: 20, seed: 7)
        let preconditioner = try DiagonalLinearOperator((0..<n).map { 1 / a[$0, $0] })
        let inverse = try CGInverseLinearOperator(DenseLinearOperator(a), tolerance: 1e-12, preconditioner: preconditioner)
        let adjoint = inverse.adjoint()
        let b = makeRandomMatrix(rows: n, columns: 2, seed: 8)

        let adjointInverse = try XCTUnwrap(adjoint as? CGInverseLinearOperator<Double>)
        XCTAssertEqual(try adjointInverse.base.dense(), a.transposed)
        XCTAssertEqual(adjointInverse.tolerance, inverse.tolerance)
        XCTAssertNil(fixtureMismatch(try adjoint.apply(b).elements, try LAPACK.gesv(a.transposed, b).elements, rtol: 1e-9, atol: 0))
    }

    func testFloatMatchesDouble() throws {
        // Both runs meet their tolerance on the true residual, so each is within
        // κ·tolerance of its problem's solution, and the Float problem differs
        // from the Double one by rounding A and b (relative 6e-8). With κ = 10
        // and tolerance 1e-5: 10·(1e-5 + 1e-12 + 2·6e-8·√12) < 1.1e-4.
        let n = 12
        let a = try makeSPDMatrix(size: n, condition: 10, seed: 9)
        let b = makeRandomMatrix(rows: n, columns: 3, seed: 10)
        let double = try CGInverseLinearOperator(DenseLinearOperator(a), tolerance: 1e-12).apply(b)
        let floatInverse = try CGInverseLinearOperator(DenseLinearOperator(converted(a, to: Float.self)), tolerance: 1e-5)
        let float = try floatInverse.apply(converted(b, to: Float.self))

        XCTAssertTrue(floatInverse.lastReport!.allConverged)
        for j in 0..<b.columns {
            let difference = euclideanNorm(zip(toDouble(float).column(j), double.column(j)).map { $0 - $1 })
            XCTAssertLessThanOrEqual(difference, 1.1e-4 * euclideanNorm(double.column(j)), "column \(j)")
        }
    }

    func testTinyFloatRightHandSideSolves() throws {
        // ‖b‖² = 1e-60 underflows in Float; the power-of-2 scaling keeps the
        // squared quantities of CG in range.
        let n = 6
        let a = try makeSPDMatrix(size: n, condition: 5, seed: 11)
        let unit = makeRandomMatrix(rows: n, columns: 1, seed: 12)
        let tiny = converted(1e-30 * unit, to: Float.self)
        let inverse = try CGInverseLinearOperator(DenseLinearOperator(converted(a, to: Float.self)), tolerance: 1e-5)
        let result = try inverse.solve(tiny)

        XCTAssertTrue(result.report.allConverged)
        let expected = 1e-30 * (try LAPACK.gesv(a, unit))
        XCTAssertNil(fixtureMismatch(toDouble(result.solution).elements, expected.elements, rtol: 1e-4, atol: 0))
    }

    // MARK: Report

    func testReportCountsProducts() throws {
        let n = 6
        let a = try makeSPDMatrix(size: n, condition: 10, seed: 13)
        let preconditioner = try DiagonalLinearOperator((0..<n).map { 1 / a[$0, $0] })
        let inverse = try CGInverseLinearOperator(DenseLinearOperator(a), maxIterations: 3, tolerance: 0, preconditioner: preconditioner)
        let report = try inverse.solve(makeRandomMatrix(rows: n, columns: 2, seed: 14)).report

        // 3 iterations + 1 product measuring the true residuals; M before each
        // of the 3 steps.
        XCTAssertEqual(report.method, .conjugateGradients)
        XCTAssertEqual(report.operatorApplications, 4)
        XCTAssertEqual(report.preconditionerApplications, 3)
        XCTAssertEqual(report.adjointApplications, 0)
        XCTAssertEqual(report.columns.map(\.stopReason), [.iterationLimit, .iterationLimit])
    }

    func testRepeatedAppliesAreBitIdentical() throws {
        let n = 20
        let a = try makeSPDMatrix(size: n, condition: 1e3, seed: 15)
        let b = makeRandomMatrix(rows: n, columns: 4, seed: 16)
        let inverse = try CGInverseLinearOperator(DenseLinearOperator(a), tolerance: 1e-9)

        let first = try inverse.solve(b)
        let second = try inverse.solve(b)

        XCTAssertEqual(first.solution.elements, second.solution.elements)
        XCTAssertEqual(first.report, second.report)
        XCTAssertEqual(inverse.lastReport, second.report)
    }
}

/// An operator whose every product is NaN, standing in for a model that
/// overflows.
struct NaNOperator: LinearOperator {
    typealias Scalar = Double
    let size: Int
    var inputShapes: [[Int]] { [[size]] }
    var outputShapes: [[Int]] { [[size]] }

    func apply(_ x: Matrix<Double>) throws -> Matrix<Double> {
        try validateInput(x)
        return try Matrix(rows: size, columns: x.columns, columnMajor: Array(repeating: .nan, count: size * x.columns))
    }

    func adjoint() -> any LinearOperator<Double> { self }
}
