import XCTest
@testable import Curvlinops

/// The checks on the estimated Neumann scale and the divergence the series
/// detects, with messages that name the series, the term and the scale.
final class NeumannScaleCheckTests: XCTestCase {
    // MARK: The estimated scale

    func testScaleBelowFloatNormalRangeThrows() throws {
        let a = try DiagonalLinearOperator<Float>([3.3e38])

        assertThrows(.numericalBreakdown, containing: ["λ̂ = 3.3", "e+38", "not a normal Float number", "Rescale A", "or use Double"]) {
            try NeumannInverseLinearOperator(a, estimatingScale: NeumannScaleEstimation())
        }
    }

    func testScaleAboveFloatRangeThrows() throws {
        // A subnormal Float, about 1e-39.
        let a = try DiagonalLinearOperator<Float>([Float.leastNormalMagnitude / 8])

        assertThrows(.numericalBreakdown, containing: ["estimated largest eigenvalue", "scale = 1 / (1.1 · λ̂) = inf", "Rescale A"]) {
            try NeumannInverseLinearOperator(a, estimatingScale: NeumannScaleEstimation())
        }
    }

    func testScaleAboveDoubleRangeThrows() throws {
        // A subnormal Double, about 3e-309.
        let a = try DiagonalLinearOperator<Double>([Double.leastNormalMagnitude / 8])

        assertThrows(.numericalBreakdown, containing: ["scale = 1 / (1.1 · λ̂) = inf", "not a normal Double number"]) {
            try NeumannInverseLinearOperator(a, estimatingScale: NeumannScaleEstimation())
        }
    }

    func testAbsurdSafetyFactorsThrow() throws {
        let a = try DiagonalLinearOperator<Double>([10])
        for factor in [1e308, 1e16, .infinity] {
            assertThrows(.invalidArgument, containing: ["safetyFactor = \(factor)", "rounding level"]) {
                try NeumannInverseLinearOperator(a, estimatingScale: NeumannScaleEstimation(safetyFactor: factor))
            }
        }
        // The bound depends on the precision: 1e7 is fine in Double but not in Float.
        XCTAssertNoThrow(try NeumannInverseLinearOperator(a, estimatingScale: NeumannScaleEstimation(safetyFactor: 1e7)))
        assertThrows(.invalidArgument, containing: ["safetyFactor = 10000000.0", "for Float"]) {
            try NeumannInverseLinearOperator(DiagonalLinearOperator<Float>([10]), estimatingScale: NeumannScaleEstimation(safetyFactor: 1e7))
        }
    }

    func testIterationCountIsBounded() throws {
        let a = try DiagonalLinearOperator<Double>([1, 2])
        for iterations in [Int.max, NeumannScaleEstimation.maximumIterations + 1] {
            assertThrows(.invalidArgument, containing: ["iterations = \(iterations)", "1 ... 10000"]) {
                try NeumannInverseLinearOperator(a, estimatingScale: NeumannScaleEstimation(iterations: iterations))
            }
        }
        let largest = try NeumannInverseLinearOperator(
            a, estimatingScale: NeumannScaleEstimation(iterations: NeumannScaleEstimation.maximumIterations))
        XCTAssertEqual(try XCTUnwrap(largest.estimatedLargestEigenvalue), 2, accuracy: 1e-12)
    }

    // MARK: Divergence

    func testNegativeDominantEigenvalueThrowsAtConstruction() throws {
        let negative = try DiagonalLinearOperator<Double>([-1, -1, -1])

        assertThrows(.notPositiveDefinite, containing: ["vᵀA·v = -0.99", "eigenvalue of largest magnitude of A is negative", "every scale > 0"]) {
            try NeumannInverseLinearOperator(negative, estimatingScale: NeumannScaleEstimation())
        }
        let preconditioned = try DenseLinearOperator(Matrix<Double>(rows: 2, columns: 2, rowMajor: [-3, 1, 1, -2]))
        assertThrows(.notPositiveDefinite, containing: ["of P·A is negative"]) {
            try NeumannInverseLinearOperator(
                preconditioned, estimatingScale: NeumannScaleEstimation(), preconditioner: DiagonalLinearOperator([0.5, 2]))
        }
    }

    func testSlowDivergenceShowsInReportOnly() throws {
        // The dominant eigenvalue 2 is positive, so the power iteration cannot
        // see the eigenvalue −0.5, whose factor 1 + 0.5·α ≈ 1.23 per term is too
        // slow to overflow in 100 terms. As documented, the result is finite
        // and the report's true residual, above 1, exposes the divergence.
        let a = try DiagonalLinearOperator<Double>([1, 2, -0.5])
        let inverse = try NeumannInverseLinearOperator(a, estimatingScale: NeumannScaleEstimation())
        let result = try inverse.solve(Matrix(rows: 3, columns: 1, columnMajor: [1, 1, 1]))

        XCTAssertTrue(result.solution.isFinite)
        XCTAssertGreaterThan(result.report.columns[0].relativeResidualNorm, 1e6)
    }

    func testConvergentSymmetricSeriesHasResidualAtMostOne() throws {
        // The counterpart of the documented signal: ‖I − αA‖₂ ≤ 1 for a
        // symmetric positive-definite A and α < 2 / λmax.
        let a = try DenseLinearOperator(makeSPDMatrix(size: 10, condition: 1e4, seed: 81))
        let x = makeRandomMatrix(rows: 10, columns: 3, seed: 82)
        for terms in [0, 1, 5, 50] {
            let report = try NeumannInverseLinearOperator(a, terms: terms, estimatingScale: NeumannScaleEstimation()).solve(x).report
            XCTAssertLessThanOrEqual(report.columns.map(\.relativeResidualNorm).max()!, 1 + 1e-12, "terms = \(terms)")
        }
    }

    func testUncheckedDivergenceNamesSeriesTermAndScale() throws {
        let a = try DenseLinearOperator(makeSPDMatrix(size: 6, condition: 10, seed: 48))
        let inverse = try NeumannInverseLinearOperator(a, terms: 1000, scale: 1, checkNaN: false)

        do {
            _ = try inverse.apply(makeRandomMatrix(rows: 6, columns: 2, seed: 49))
            XCTFail("expected a divergence error")
        } catch let error as CurvlinopsError {
            XCTAssertEqual(error.kind, .numericalBreakdown)
            XCTAssertTrue(error.message.hasPrefix("NeumannInverseLinearOperator: term k = "), error.message)
            XCTAssertTrue(error.message.contains("diverges for scale = 1.0"), error.message)
            XCTAssertTrue(error.message.contains("Decrease scale"), error.message)
        }
    }

    func testCheckedAndUncheckedDivergenceNameTheSameTerm() throws {
        let a = try DenseLinearOperator(makeSPDMatrix(size: 6, condition: 10, seed: 48))
        let x = makeRandomMatrix(rows: 6, columns: 2, seed: 49)
        func term(checkNaN: Bool) -> String? {
            do {
                _ = try NeumannInverseLinearOperator(a, terms: 1000, scale: 1, checkNaN: checkNaN).apply(x)
                return nil
            } catch let error as CurvlinopsError {
                return error.message.split(separator: " ").dropFirst(4).first.map(String.init)
            } catch {
                return nil
            }
        }

        let checked = try XCTUnwrap(term(checkNaN: true))
        XCTAssertEqual(term(checkNaN: false), checked)
    }

    func testDivergenceInFloatNamesScale() throws {
        let a = try DiagonalLinearOperator<Float>([1, 30])
        let inverse = try NeumannInverseLinearOperator(a, terms: 200, scale: 0.5, checkNaN: false)

        assertThrows(.numericalBreakdown, containing: ["NeumannInverseLinearOperator: term k = ", "scale = 0.5"]) {
            try inverse.apply([Float(1), 1])
        }
    }
}
