import XCTest
@testable import Curvlinops

/// CG with a tolerance below the attainable accuracy runs to its iteration
/// limit without an error: its recursive residual keeps falling below the
/// rounding level, and the residual scaling keeps rᵀz from underflowing.
final class CGResidualScalingTests: XCTestCase {
    /// Returns M·Mᵀ + I for a pseudo-random n × n matrix M with entries in [−1, 1).
    private func makeShiftedGram(size n: Int, seed: UInt64) throws -> Matrix<Double> {
        let m = makeRandomMatrix(rows: n, columns: n, seed: seed)
        var a = try m * m.transposed + Matrix.identity(n)
        a.symmetrize()
        return a
    }

    func testToleranceZeroRunsToIterationLimitInDouble() throws {
        // Without the residual scaling rᵀr underflowed to 0 at iteration 389
        // on this problem and CG blamed a preconditioner it did not have.
        let n = 40
        let a = try makeShiftedGram(size: n, seed: 60)
        let b = try Matrix<Double>(rows: n, columns: 1, columnMajor: Array(repeating: 1, count: n))
        let inverse = try CGInverseLinearOperator(DenseLinearOperator(a), tolerance: 0)
        let result = try inverse.solve(b)

        XCTAssertEqual(inverse.maxIterations, 400)
        XCTAssertEqual(result.report.columns[0].stopReason, .iterationLimit)
        XCTAssertEqual(result.report.columns[0].iterations, 400)
        XCTAssertLessThan(result.report.columns[0].relativeResidualNorm, 1e-12)
        let expected = try LAPACK.gesv(a, b)
        XCTAssertNil(fixtureMismatch(result.solution.elements, expected.elements, rtol: 1e-10, atol: 0))
    }

    func testToleranceZeroRunsToIterationLimitInFloat() throws {
        // Without the residual scaling Float's recursive residual fell to
        // 1e-19·‖b‖, where rᵀr underflows, at iteration 56 on this problem.
        // The Float solution is compared with the Double solve at κ(A)·ε scale:
        // κ(A) < 200 here and ε = 6e-8, so 1e-4 leaves a wide margin.
        let n = 20
        let a = try makeShiftedGram(size: n, seed: 62)
        XCTAssertLessThan(try conditionNumber(ofSymmetric: a), 200)
        let b = try Matrix<Double>(rows: n, columns: 1, columnMajor: Array(repeating: 1, count: n))
        let inverse = try CGInverseLinearOperator(DenseLinearOperator(converted(a, to: Float.self)), tolerance: 0)
        let result = try inverse.solve(converted(b, to: Float.self))

        XCTAssertEqual(result.report.columns[0].stopReason, .iterationLimit)
        XCTAssertEqual(result.report.columns[0].iterations, 200)
        XCTAssertNil(fixtureMismatch(toDouble(result.solution).elements, try LAPACK.gesv(a, b).elements, rtol: 1e-4, atol: 0))
    }

    func testToleranceZeroWithPreconditionerRunsToIterationLimit() throws {
        let n = 30
        let a = try makeShiftedGram(size: n, seed: 63)
        let jacobi = try DiagonalLinearOperator((0..<n).map { 1 / a[$0, $0] })
        let b = makeRandomMatrix(rows: n, columns: 3, seed: 64)
        let result = try CGInverseLinearOperator(DenseLinearOperator(a), tolerance: 0, preconditioner: jacobi).solve(b)

        XCTAssertEqual(result.report.columns.map(\.stopReason), Array(repeating: .iterationLimit, count: 3))
        XCTAssertNil(fixtureMismatch(result.solution.elements, try LAPACK.gesv(a, b).elements, rtol: 1e-10, atol: 0))
    }

    func testScaledRunMatchesTextbookCGIterateForIterate() throws {
        // The residual scaling acts from the first step on, whenever ‖r‖ falls
        // below the scaled ‖b‖. The powers of 2 are exact, so the iterates
        // match textbook CG in plain Double loops up to the rounding of the
        // different summation orders, which 12 steps leave far below 1e-10.
        let n = 40
        let steps = 12
        let a = try makeShiftedGram(size: n, seed: 65)
        let b = makeRandomMatrix(rows: n, columns: 2, seed: 66)
        let result = try CGInverseLinearOperator(DenseLinearOperator(a), maxIterations: steps, tolerance: 0).solve(b)
        let reference = textbookCG(a, b, maxIterations: steps)

        XCTAssertEqual(result.report.columns.map(\.iterations), reference.iterations)
        XCTAssertNil(fixtureMismatch(result.solution.elements, reference.x.elements, rtol: 1e-10, atol: 0))
    }

    func testIndefinitePreconditionerIsNamed() throws {
        let a = try DiagonalLinearOperator([1.0, 2, 3])
        let indefinite = try DiagonalLinearOperator([1.0, -4, 1])

        assertThrows(.notPositiveDefinite, containing: ["CG: column 0", "rᵀMr = -", "the preconditioner is not positive definite"]) {
            try CGInverseLinearOperator(a, preconditioner: indefinite).apply([0.0, 1, 0])
        }
    }

    func testSingularPreconditionerIsNamed() throws {
        let a = try DiagonalLinearOperator([1.0, 2, 3])
        let singular = try DiagonalLinearOperator([1.0, 0, 1])

        assertThrows(.notPositiveDefinite, containing: ["rᵀMr = 0.0", "scaled to norm 1.0", "not positive definite"]) {
            try CGInverseLinearOperator(a, preconditioner: singular).apply([0.0, 1, 0])
        }
    }
}
