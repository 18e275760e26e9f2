import XCTest
@testable import Curvlinops

final class NeumannInverseLinearOperatorTests: XCTestCase {
    /// α·Σₖ₌₀ᴷ (I − α·P·A)ᵏ·P·X by dense matrix products.
    private func denseSeries(_ a: Matrix<Double>, _ x: Matrix<Double>, terms: Int, scale: Double,
                             preconditioner p: Matrix<Double>? = nil) throws -> Matrix<Double> {
        let n = a.rows
        let pa = try p.map { try $0 * a } ?? a
        let iteration = try Matrix<Double>.identity(n) - scale * pa
        var term = try p.map { try $0 * x } ?? x
        var sum = term
        for _ in 0..<terms {
            term = try iteration * term
            sum = try sum + term
        }
        return scale * sum
    }

    func testSeriesMatchesDenseSum() throws {
        let a = try makeSPDMatrix(size: 7, condition: 5, seed: 41)
        let x = makeRandomMatrix(rows: 7, columns: 2, seed: 42)
        let inverse = try NeumannInverseLinearOperator(DenseLinearOperator(a), terms: 6, scale: 0.3)

        XCTAssertNil(fixtureMismatch(try inverse.apply(x).elements, try denseSeries(a, x, terms: 6, scale: 0.3).elements,
                                     rtol: 1e-13, atol: 0))
    }

    func testPreconditionedSeriesMatchesDenseSum() throws {
        // A general (non-diagonal) preconditioner P = (A + E)⁻¹ close to A⁻¹.
        let n = 8
        let a = try makeSPDMatrix(size: n, condition: 100, seed: 43)
        let perturbed = try a + 0.05 * (try makeSPDMatrix(size: n, condition: 2, seed: 44))
        let p = try LAPACK.gesv(perturbed, Matrix.identity(n))
        let x = makeRandomMatrix(rows: n, columns: 3, seed: 45)
        let inverse = try NeumannInverseLinearOperator(
            DenseLinearOperator(a), terms: 20, scale: 1, preconditioner: DenseLinearOperator(p))

        let result = try inverse.solve(x)
        XCTAssertNil(fixtureMismatch(result.solution.elements, try denseSeries(a, x, terms: 20, scale: 1, preconditioner: p).elements,
                                     rtol: 1e-12, atol: 0))
        // P·A is close to I, so 20 terms solve the system to high accuracy.
        XCTAssertNil(fixtureMismatch(result.solution.elements, try LAPACK.gesv(a, x).elements, rtol: 1e-8, atol: 0))
        XCTAssertEqual(result.report.preconditionerApplications, 21)
    }

    func testZeroTermsReturnsScaledPreconditionedInput() throws {
        let a = try makeSPDMatrix(size: 4, condition: 3, seed: 46)
        let x = makeRandomMatrix(rows: 4, columns: 2, seed: 47)
        let diagonal = [2.0, 0.5, 1, 4]
        let inverse = try NeumannInverseLinearOperator(
            DenseLinearOperator(a), terms: 0, scale: 0.5, preconditioner: DiagonalLinearOperator(diagonal))

        let expected = 0.5 * (try DiagonalLinearOperator(diagonal).apply(x))
        XCTAssertEqual(try inverse.apply(x), expected)
    }

    func testDivergentSeriesThrowsNamingTerm() throws {
        // Eigenvalues of 1.0·A in [1, 10]: the factor 1 − 10 = −9 makes the
        // terms grow by 9 per step until they overflow.
        let a = try makeSPDMatrix(size: 6, condition: 10, seed: 48)
        let inverse = try NeumannInverseLinearOperator(DenseLinearOperator(a), terms: 1000, scale: 1)

        assertThrowsCurvlinopsError(.numericalBreakdown, containing: ["term k = ", "diverges", "scale = 1.0", "Decrease scale"]) {
            try inverse.apply(makeRandomMatrix(rows: 6, columns: 2, seed: 49))
        }
    }

    func testDivergentSeriesWithoutCheckNeverReturnsNaN() throws {
        let a = try makeSPDMatrix(size: 6, condition: 10, seed: 48)
        let inverse = try NeumannInverseLinearOperator(DenseLinearOperator(a), terms: 1000, scale: 1, checkNaN: false)

        XCTAssertThrowsError(try inverse.apply(makeRandomMatrix(rows: 6, columns: 2, seed: 49))) { error in
            XCTAssertTrue(error is CurvlinopsError, "\(error)")
        }
    }

    func testEstimatedScaleConverges() throws {
        let n = 30
        let a = try makeSPDMatrix(size: n, condition: 20, seed: 50)
        let largest = try LAPACK.syevd(a).eigenvalues.last!
        let inverse = try NeumannInverseLinearOperator(DenseLinearOperator(a), terms: 400, estimatingScale: NeumannScaleEstimation())

        // The norm ratio never exceeds λmax for a symmetric positive-definite A.
        let estimate = try XCTUnwrap(inverse.estimatedLargestEigenvalue)
        XCTAssertLessThanOrEqual(estimate, largest * (1 + 1e-12))
        XCTAssertGreaterThan(estimate, largest / 2.2, "the estimate is too low for the default safety factor")
        XCTAssertEqual(inverse.scale, 1 / (1.1 * estimate), accuracy: 1e-15 * inverse.scale)

        // Slowest factor 1 − λmin/(1.1·λ̂) ≤ 1 − 1/22, so 400 terms leave (21/22)⁴⁰¹ < 1e-8.
        let x = makeRandomMatrix(rows: n, columns: 2, seed: 51)
        XCTAssertNil(fixtureMismatch(try inverse.apply(x).elements, try LAPACK.gesv(a, x).elements, rtol: 1e-7, atol: 0))
    }

    func testEstimatedScaleIsReproducible() throws {
        let a = try DenseLinearOperator(makeSPDMatrix(size: 10, condition: 5, seed: 52))
        let first = try NeumannInverseLinearOperator(a, estimatingScale: NeumannScaleEstimation(iterations: 10))
        let second = try NeumannInverseLinearOperator(a, estimatingScale: NeumannScaleEstimation(iterations: 10))

        XCTAssertEqual(first.scale, second.scale)
    }

    func testInvalidArgumentsThrow() throws {
        let a = try DenseLinearOperator(makeSPDMatrix(size: 3, condition: 2, seed: 53))
        assertThrowsCurvlinopsError(.invalidArgument, containing: ["terms = -1"]) {
            try NeumannInverseLinearOperator(a, terms: -1)
        }
        for scale in [0.0, -0.5, .nan, .infinity] {
            assertThrowsCurvlinopsError(.invalidArgument, containing: ["scale = \(scale)"]) {
                try NeumannInverseLinearOperator(a, scale: scale)
            }
        }
        assertThrowsCurvlinopsError(.invalidArgument, containing: ["iterations = 0"]) {
            try NeumannInverseLinearOperator(a, estimatingScale: NeumannScaleEstimation(iterations: 0))
        }
        assertThrowsCurvlinopsError(.invalidArgument, containing: ["safetyFactor = 0.5"]) {
            try NeumannInverseLinearOperator(a, estimatingScale: NeumannScaleEstimation(safetyFactor: 0.5))
        }
        assertThrowsCurvlinopsError(.shapeMismatch, containing: ["square"]) {
            try NeumannInverseLinearOperator(DenseLinearOperator(Matrix<Double>(zeros: 3, 4)))
        }
        assertThrowsCurvlinopsError(.shapeMismatch, containing: ["preconditioner"]) {
            try NeumannInverseLinearOperator(a, preconditioner: IdentityLinearOperator<Double>(size: 2))
        }
    }

    func testZeroOperatorScaleEstimationThrows() throws {
        let zero = try DenseLinearOperator(Matrix<Double>(zeros: 4, 4))

        assertThrowsCurvlinopsError(.numericalBreakdown, containing: ["power iteration", "zero", "give scale explicitly"]) {
            try NeumannInverseLinearOperator(zero, estimatingScale: NeumannScaleEstimation())
        }
    }

    func testNaNRightHandSideThrowsNamingColumn() throws {
        let inverse = try NeumannInverseLinearOperator(DenseLinearOperator(makeSPDMatrix(size: 3, condition: 2, seed: 54)), scale: 0.5)
        let x = try Matrix<Double>(rows: 3, columns: 2, columnMajor: [1, 2, 3, 4, .infinity, 6])

        assertThrowsCurvlinopsError(.nonFiniteValue, containing: ["column 1"]) {
            try inverse.apply(x)
        }
    }

    func testAdjointIsSeriesOfAdjoint() throws {
        let n = 6
        var a = makeRandomMatrix(rows: n, columns: n, seed: 55)
        for i in 0..<n {
            a[i, i] += 3
        }
        let p = (0..<n).map { 1 / a[$0, $0] }
        let inverse = try NeumannInverseLinearOperator(DenseLinearOperator(a), terms: 5, scale: 0.8, preconditioner: DiagonalLinearOperator(p))

        XCTAssertNil(fixtureMismatch(try inverse.adjoint().dense().elements, try inverse.dense().transposed.elements, rtol: 1e-13, atol: 0))
    }

    func testReportHoldsTermsAndTrueResidual() throws {
        let n = 9
        let a = try makeSPDMatrix(size: n, condition: 4, seed: 56)
        let x = makeRandomMatrix(rows: n, columns: 3, seed: 57)
        let inverse = try NeumannInverseLinearOperator(DenseLinearOperator(a), terms: 12, scale: 0.4)
        let result = try inverse.solve(x)

        XCTAssertEqual(result.report.method, .neumannSeries)
        XCTAssertEqual(result.report.operatorApplications, 13)
        XCTAssertEqual(result.report.preconditionerApplications, 0)
        let residuals = relativeResiduals(a, result.solution, x)
        for (j, column) in result.report.columns.enumerated() {
            XCTAssertEqual(column.iterations, 12)
            XCTAssertEqual(column.stopReason, .termsCompleted)
            XCTAssertFalse(column.converged)
            XCTAssertEqual(column.relativeResidualNorm, residuals[j], accuracy: 1e-13)
        }
        XCTAssertEqual(inverse.lastReport, result.report)
    }

    func testFloatMatchesDouble() throws {
        // 40 terms of a series with factor ≤ 0.6 per term in Float: each term
        // adds rounding of relative size 6e-8 to the sum, 40·6e-8·(1/(1 − 0.6))
        // stays below 1e-5 relative.
        let n = 10
        let a = try makeSPDMatrix(size: n, condition: 4, seed: 58)
        let x = makeRandomMatrix(rows: n, columns: 2, seed: 59)
        let double = try NeumannInverseLinearOperator(DenseLinearOperator(a), terms: 40, scale: 0.4).apply(x)
        let float = try NeumannInverseLinearOperator(DenseLinearOperator(converted(a, to: Float.self)), terms: 40, scale: 0.4)
            .apply(converted(x, to: Float.self))

        XCTAssertNil(fixtureMismatch(toDouble(float).elements, double.elements, rtol: 1e-5, atol: 0))
    }
}
