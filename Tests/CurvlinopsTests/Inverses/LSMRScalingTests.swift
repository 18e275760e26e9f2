import XCTest
@testable import Curvlinops

/// How LSMR depends on the scale of b (not at all: b is scaled by a power of
/// 2 internally) and of A (through SciPy's condition test, documented).
final class LSMRScalingTests: XCTestCase {
    func testPowerOfTwoRightHandSideScalesExactly() throws {
        let a = try DenseLinearOperator(makeSPDMatrix(size: 8, condition: 50, seed: 71))
        let b = makeRandomMatrix(rows: 8, columns: 2, seed: 72)
        let factor = 0x1p200
        let inverse = try LSMRInverseLinearOperator(a, atol: 1e-10, btol: 1e-10)
        let plain = try inverse.solve(b)
        let scaled = try inverse.solve(factor * b)

        XCTAssertEqual(scaled.solution, factor * plain.solution)
        for (small, large) in zip(plain.report.columns, scaled.report.columns) {
            let smallStatistics = try XCTUnwrap(small.lsmr)
            let largeStatistics = try XCTUnwrap(large.lsmr)
            XCTAssertEqual(largeStatistics.istop, smallStatistics.istop)
            XCTAssertEqual(largeStatistics.itn, smallStatistics.itn)
            XCTAssertEqual(largeStatistics.normr, factor * smallStatistics.normr)
            XCTAssertEqual(largeStatistics.normar, factor * smallStatistics.normar)
            XCTAssertEqual(largeStatistics.normx, factor * smallStatistics.normx)
            XCTAssertEqual(largeStatistics.norma, smallStatistics.norma)
            XCTAssertEqual(largeStatistics.conda, smallStatistics.conda)
        }
    }

    func testHugeFloatRightHandSideSolves() throws {
        // ‖b‖·‖A‖ and similar products of LSMR's estimates exceed Float's range
        // for b = 1e25 unless b is scaled first.
        let a = try DiagonalLinearOperator<Float>([1, 2, 3])
        let result = try LSMRInverseLinearOperator(a).solve(Matrix(rows: 3, columns: 1, columnMajor: [1e25, 1e25, 1e25]))

        XCTAssertTrue(result.report.allConverged)
        XCTAssertNil(fixtureMismatch(result.solution.elements.map(Double.init), [1e25, 5e24, 1e25 / 3], rtol: 1e-5, atol: 0))
        let statistics = try XCTUnwrap(result.report.columns[0].lsmr)
        XCTAssertEqual(statistics.normx, 1e25 * (1 + 0.25 + 1.0 / 9).squareRoot(), accuracy: 1e20)
    }

    func testTinyFloatOperatorThrowsBreakdown() throws {
        // ‖A‖ = 1e-25: ρ·ρ̄ ≈ ‖A‖² underflows in Float, so LSMR's step size
        // overflows. The run must throw, not report x = 0 as an exact
        // solution (istop 0), as it did when α₁β₁ = 1e-50 underflowed to 0.
        let a = try DiagonalLinearOperator<Float>([1e-25, 1e-25, 1e-25])

        assertThrows(.numericalBreakdown, containing: ["LSMR: column 0", "LSMR's recurrences overflowed", "Rescale A"]) {
            try LSMRInverseLinearOperator(a).solve(Matrix(rows: 3, columns: 1, columnMajor: [1e-25, 1e-25, 1e-25]))
        }
    }

    func testExactStartIsDecidedOnTheFactors() {
        // ‖Aᵀr‖ = α₁β₁ underflows to 0 in Float although neither factor is 0.
        let underflowing = LSMRColumnRecurrence<Float>(alpha: 1e-30, beta: 1e-30, damp: 0, normB: 1)
        XCTAssertEqual(underflowing.normar, 0)
        XCTAssertFalse(underflowing.isSolvedAtStart)

        XCTAssertTrue(LSMRColumnRecurrence<Float>(alpha: 0, beta: 1, damp: 0, normB: 1).isSolvedAtStart)
        XCTAssertTrue(LSMRColumnRecurrence<Float>(alpha: 1, beta: 0, damp: 0, normB: 1).isSolvedAtStart)
    }

    func testSmallOperatorHitsConditionLimit() throws {
        // SciPy's estimate of cond(A) after the first iteration divides the
        // start value 1 of its running maximum by ρ̄ ≈ ‖A‖, so ‖A‖ = 1e-9 reads as
        // cond(A) ≈ 1e9 and stops at the default conditionLimit 1e8 (SciPy
        // 1.17.1 returns the same istop 3 and x).
        let a = try DiagonalLinearOperator([1e-9, 2e-9, 3e-9])
        let b = try Matrix<Double>(rows: 3, columns: 1, columnMajor: [1e-9, 1e-9, 1e-9])
        let stopped = try LSMRInverseLinearOperator(a).solve(b)

        XCTAssertEqual(stopped.report.columns[0].lsmr?.istop, .conditionLimitExceeded)
        XCTAssertEqual(stopped.report.columns[0].iterations, 1)
        XCTAssertFalse(stopped.report.columns[0].converged)
        XCTAssertNil(fixtureMismatch(stopped.solution.elements, [0.123, 0.247, 0.370], rtol: 1e-2, atol: 0))

        // The documented remedies: disable the test, or rescale A.
        let unlimited = try LSMRInverseLinearOperator(a, atol: 1e-12, btol: 1e-12, conditionLimit: 0).solve(b)
        XCTAssertTrue(unlimited.report.allConverged)
        XCTAssertNil(fixtureMismatch(unlimited.solution.elements, [1, 0.5, 1.0 / 3], rtol: 1e-9, atol: 0))
        let rescaled = try LSMRInverseLinearOperator(1e9 * a, atol: 1e-12, btol: 1e-12).solve(1e9 * b)
        XCTAssertTrue(rescaled.report.allConverged)
        XCTAssertNil(fixtureMismatch(rescaled.solution.elements, [1, 0.5, 1.0 / 3], rtol: 1e-9, atol: 0))
    }

    func testOverflowingRecurrenceNamesLSMR() throws {
        // ‖A‖ near Float's largest value: the norm estimate ‖A‖² of the
        // bidiagonal matrix overflows, which is LSMR's arithmetic, not A's.
        let a = try DiagonalLinearOperator<Float>([3e38, 1e38])

        assertThrows(.numericalBreakdown, containing: ["LSMR", "overflowed", "Rescale A"]) {
            try LSMRInverseLinearOperator(a, conditionLimit: 0).apply([Float(1), 1])
        }
    }
}
