import XCTest
@testable import Curvlinops

/// The checks that library code runs on what an operator it did not write
/// returns: a result of the wrong shape or with NaN must throw a
/// `CurvlinopsError` naming the operator's type, never trap or pass NaN on.
final class OperatorResultCheckTests: XCTestCase {
    private let ones = [1.0, 1, 1]

    // MARK: Wrong shape

    func testSumNamesTermWithWrongShape() throws {
        let sum = try MisshapenOperator(returnedRows: 2) + IdentityLinearOperator<Double>(size: 3)

        assertThrows(.shapeMismatch, containing: ["SumLinearOperator.apply", "term 0 (MisshapenOperator)", "2 × 1 matrix", "expected 3 × 1"]) {
            try sum.apply(ones)
        }
    }

    func testScaledNamesBaseWithWrongShape() throws {
        let scaled = try 2 * MisshapenOperator(returnedRows: 4)

        assertThrows(.shapeMismatch, containing: ["ScaledLinearOperator.apply", "the base operator (MisshapenOperator)", "4 × 1 matrix"]) {
            try scaled.apply(ones)
        }
    }

    func testCompositionNamesLastFactorWithWrongShape() throws {
        // The factor applied last has no later factor whose input check could catch it.
        let composed = try MisshapenOperator(returnedRows: 2) * IdentityLinearOperator<Double>(size: 3)

        assertThrows(.shapeMismatch, containing: ["ComposedLinearOperator.apply", "factor 0 (MisshapenOperator)"]) {
            try composed.apply(ones)
        }
    }

    func testCompositionNamesFactorWithWrongColumnCount() throws {
        let composed = try IdentityLinearOperator<Double>(size: 3) * MisshapenOperator(returnedColumns: 2)

        assertThrows(.shapeMismatch, containing: ["factor 1 (MisshapenOperator)", "3 × 2 matrix", "expected 3 × 1"]) {
            try composed.apply(ones)
        }
    }

    func testVectorBlockAndDenseFormsCheckTheResult() throws {
        let misshapen = MisshapenOperator(returnedRows: 2)

        assertThrows(.shapeMismatch, containing: ["MisshapenOperator.apply", "the operator (MisshapenOperator)", "2 × 1 matrix"]) {
            try misshapen.apply(ones)
        }
        assertThrows(.shapeMismatch, containing: ["MisshapenOperator.apply", "2 × 1 matrix"]) {
            try misshapen.apply(blocks: [Tensor(shape: [3], elements: ones)])
        }
        assertThrows(.shapeMismatch, containing: ["MisshapenOperator.dense", "2 × 3 matrix", "expected 3 × 3"]) {
            try misshapen.dense()
        }
    }

    func testSolversNameOperatorWithWrongShape() throws {
        let misshapen = MisshapenOperator(returnedRows: 2)

        assertThrows(.shapeMismatch, containing: ["CG: the operator A (MisshapenOperator)", "2 × 1 matrix"]) {
            try CGInverseLinearOperator(misshapen).apply(ones)
        }
        assertThrows(.shapeMismatch, containing: ["LSMR: the adjoint Aᵀ (MisshapenOperator)", "2 × 1 matrix"]) {
            try LSMRInverseLinearOperator(misshapen).apply(ones)
        }
        assertThrows(.shapeMismatch, containing: ["NeumannInverseLinearOperator: the operator A (MisshapenOperator)", "2 × 1 matrix"]) {
            try NeumannInverseLinearOperator(misshapen, scale: 0.5).apply(ones)
        }
        assertThrows(.shapeMismatch, containing: ["CG: the preconditioner M (MisshapenOperator)"]) {
            try CGInverseLinearOperator(DiagonalLinearOperator([1.0, 2, 3]), preconditioner: misshapen).apply(ones)
        }
        assertThrows(.shapeMismatch, containing: ["NeumannInverseLinearOperator: the preconditioner P (MisshapenOperator)"]) {
            try NeumannInverseLinearOperator(DiagonalLinearOperator([1.0, 2, 3]), preconditioner: misshapen).apply(ones)
        }
        assertThrows(.shapeMismatch, containing: ["power iteration's product with A (MisshapenOperator)"]) {
            try NeumannInverseLinearOperator(misshapen, estimatingScale: NeumannScaleEstimation())
        }
    }

    // MARK: Non-finite results

    func testNonFiniteResultNamesOperatorAndColumn() throws {
        let nan = NonFiniteOperator(value: .nan, column: 1)
        let x = Matrix<Double>(zeros: 3, 2)

        assertThrows(.numericalBreakdown, containing: ["SumLinearOperator.apply", "term 1 (NonFiniteOperator)", "nan", "column 1"]) {
            try (IdentityLinearOperator<Double>(size: 3) + nan).apply(x)
        }
        assertThrows(.numericalBreakdown, containing: ["ComposedLinearOperator.apply", "factor 0 (NonFiniteOperator)"]) {
            try (nan * IdentityLinearOperator<Double>(size: 3)).apply(x)
        }
        assertThrows(.numericalBreakdown, containing: ["ScaledLinearOperator.apply", "(NonFiniteOperator)"]) {
            try (3 * NonFiniteOperator(value: .infinity, column: 0)).apply(x)
        }
    }

    func testSolversNameOperatorReturningNaN() throws {
        let nan = NonFiniteOperator(value: .nan, column: 0)

        assertThrows(.numericalBreakdown, containing: ["CG: the operator A (NonFiniteOperator)", "column 0"]) {
            try CGInverseLinearOperator(nan).apply(ones)
        }
        assertThrows(.numericalBreakdown, containing: ["LSMR: the adjoint Aᵀ (NonFiniteOperator)"]) {
            try LSMRInverseLinearOperator(nan).apply(ones)
        }
        assertThrows(.numericalBreakdown, containing: ["CG: the preconditioner M (NonFiniteOperator)"]) {
            try CGInverseLinearOperator(DiagonalLinearOperator([1.0, 2, 3]), preconditioner: nan).apply(ones)
        }
    }

    func testSolverNamesOriginalColumnOfRunningBlock() throws {
        // Column 0 is zero and never runs, so the running block's column 0 is column 1 of X.
        let nan = NonFiniteOperator(value: .nan, column: 0)
        let x = try Matrix<Double>(rows: 3, columns: 2, columnMajor: [0, 0, 0, 1, 2, 3])

        assertThrows(.numericalBreakdown, containing: ["CG: the operator A (NonFiniteOperator)", "column 1"]) {
            try CGInverseLinearOperator(nan).apply(x)
        }
    }

    // MARK: Overflow in the library's own arithmetic

    func testOverflowingDifferenceThrows() throws {
        let a = try DenseLinearOperator(Matrix<Double>(rows: 3, columns: 3, rowMajor: [2, 0, 0, 0, 3, 0, 0, 0, 4]))
        let difference = try (1e308 * a) - (1e308 * a)

        assertThrows(.numericalBreakdown, containing: ["ScaledLinearOperator.apply", "scale · A·x with scale = 1e+308", "overflowed", "column 0"]) {
            try difference.apply(ones)
        }
    }

    func testSumThatOverflowsThrows() throws {
        let identity = try IdentityLinearOperator<Double>(size: 3)
        let sum = try (1e308 * identity) + (1e308 * identity)

        assertThrows(.numericalBreakdown, containing: ["SumLinearOperator.apply", "weighted sum", "overflowed to inf"]) {
            try sum.apply(ones)
        }
    }

    func testDenseAndDiagonalProductsThatOverflowThrow() throws {
        assertThrows(.numericalBreakdown, containing: ["DenseLinearOperator.apply", "overflowed to inf"]) {
            try DenseLinearOperator(Matrix<Float>.diagonal([3e38])).apply([Float(10)])
        }
        assertThrows(.numericalBreakdown, containing: ["DiagonalLinearOperator.apply", "overflowed to -inf"]) {
            try DiagonalLinearOperator<Float>([-3e38]).apply([Float(10)])
        }
    }

    // MARK: Sum weights

    func testSumRejectsNonFiniteWeights() throws {
        let identity = try IdentityLinearOperator<Double>(size: 2)
        for weight in [Double.nan, .infinity, -.infinity] {
            assertThrows(.nonFiniteValue, containing: ["SumLinearOperator", "terms[1].weight = \(weight)", "finite"]) {
                try SumLinearOperator([(1, identity), (weight, identity)])
            }
        }
    }

    func testSumRejectsNestedWeightsWhoseProductOverflows() throws {
        let identity = try IdentityLinearOperator<Double>(size: 2)
        let inner = try SumLinearOperator([(1e200, identity)])

        assertThrows(.nonFiniteValue, containing: ["terms[0].weight = 1e+200", "nested term 0", "is inf"]) {
            try SumLinearOperator([(1e200, inner)])
        }
        let flattened = try SumLinearOperator([(1e100, inner)])
        XCTAssertEqual(flattened.terms.map(\.weight), [1e300])
    }
}

/// A 3 × 3 operator whose apply returns a matrix of the wrong shape, as a
/// user's operator with a bug might.
private struct MisshapenOperator: LinearOperator {
    typealias Scalar = Double
    var returnedRows = 3
    var returnedColumns: Int?

    var inputShapes: [[Int]] { [[3]] }
    var outputShapes: [[Int]] { [[3]] }

    func apply(_ x: Matrix<Double>) throws -> Matrix<Double> {
        try validateInput(x)
        return Matrix(zeros: returnedRows, returnedColumns ?? x.columns)
    }

    func adjoint() -> any LinearOperator<Double> { self }
}

/// A 3 × 3 operator that returns the identity's result with `value` written
/// into one entry of `column`, standing in for a model that overflows.
private struct NonFiniteOperator: LinearOperator {
    typealias Scalar = Double
    let value: Double
    let column: Int

    var inputShapes: [[Int]] { [[3]] }
    var outputShapes: [[Int]] { [[3]] }

    func apply(_ x: Matrix<Double>) throws -> Matrix<Double> {
        try validateInput(x)
        var result = x
        if column < x.columns {
            result[1, column] = value
        }
        return result
    }

    func adjoint() -> any LinearOperator<Double> { self }
}
