import XCTest
@testable import Curvlinops

/// The BLAS wrappers against textbook loops in Double, for Float and Double.
final class BLASTests: XCTestCase {
    /// (m, n, k) shapes of op(A)·op(B): square, tall, wide, and a vector case.
    private let productShapes = [(4, 4, 4), (3, 5, 4), (7, 2, 6), (1, 6, 3), (5, 1, 1)]

    func testGemmMatchesNaiveProductForEveryTransposeFloat() throws {
        try checkGemm(Float.self)
    }

    func testGemmMatchesNaiveProductForEveryTransposeDouble() throws {
        try checkGemm(Double.self)
    }

    func testGemvMatchesNaiveProductFloat() throws {
        try checkGemv(Float.self)
    }

    func testGemvMatchesNaiveProductDouble() throws {
        try checkGemv(Double.self)
    }

    func testSyrkWritesOneTriangleOfProductFloat() throws {
        try checkSyrk(Float.self)
    }

    func testSyrkWritesOneTriangleOfProductDouble() throws {
        try checkSyrk(Double.self)
    }

    func testTrsmSolvesEveryVariantFloat() throws {
        try checkTrsm(Float.self)
    }

    func testTrsmSolvesEveryVariantDouble() throws {
        try checkTrsm(Double.self)
    }

    func testFloatGemmAgreesWithDoubleGemm() throws {
        var generator = SeededGenerator(seed: 11)
        let a = Matrix<Double>.random(30, 20, using: &generator)
        let b = Matrix<Double>.random(20, 25, using: &generator)
        let single = try a.converted(to: Float.self) * b.converted(to: Float.self)
        let double = try a * b
        // Float inputs are rounded copies of the Double ones, so the bound is
        // the Float rounding of inputs and sums: about 20 · 2⁻²⁴ relative.
        assertClose(single, double, tolerance: 1e-5, "Float gemm against Double gemm")
    }

    // MARK: - Empty operands

    func testGemmWithEmptyInnerDimensionScalesC() throws {
        var c = try Matrix<Double>(rows: 2, columns: 2, columnMajor: [1, 2, 3, 4])
        try BLAS.gemm(Matrix(zeros: 2, 0), Matrix(zeros: 0, 2), beta: 3, into: &c)
        XCTAssertEqual(c.elements, [3, 6, 9, 12])

        var zeroed = try Matrix<Double>(rows: 2, columns: 2, columnMajor: [1, .nan, 3, 4])
        try BLAS.gemm(Matrix(zeros: 2, 0), Matrix(zeros: 0, 2), into: &zeroed)
        XCTAssertEqual(zeroed.elements, [0, 0, 0, 0], "β = 0 must ignore C's entries, NaN included")
    }

    func testEmptyOperandsDoNotCrash() throws {
        var c = Matrix<Float>(zeros: 0, 3)
        try BLAS.gemm(Matrix(zeros: 0, 4), Matrix(zeros: 4, 3), into: &c)
        XCTAssertEqual(c.rows, 0)

        var y = [Float]()
        try BLAS.gemv(Matrix(zeros: 0, 3), [1, 2, 3], into: &y)
        XCTAssertEqual(y, [])

        var y2: [Float] = [5, 6]
        try BLAS.gemv(Matrix(zeros: 2, 0), [], beta: 2, into: &y2)
        XCTAssertEqual(y2, [10, 12])

        var square = try Matrix<Float>(rows: 2, columns: 2, columnMajor: [1, 2, 3, 4])
        try BLAS.syrk(Matrix(zeros: 2, 0), beta: 2, into: &square)
        XCTAssertEqual(square[0, 0], 2)
        XCTAssertEqual(square[1, 0], 4)
        XCTAssertEqual(square[1, 1], 8)

        var empty = Matrix<Float>(zeros: 0, 0)
        try BLAS.syrk(Matrix(zeros: 0, 5), into: &empty)
        XCTAssertEqual(empty.elements, [])

        var noColumns = Matrix<Float>(zeros: 3, 0)
        try BLAS.trsm(Matrix.identity(3), solving: &noColumns)
        XCTAssertEqual(noColumns.columns, 0)
    }

    // MARK: - Shape and argument errors

    func testGemmShapeMismatchesNameRoutine() {
        var c = Matrix<Double>(zeros: 3, 4)
        assertThrows(.shapeMismatch, containing: ["gemm", "3 × 5", "2 × 4", "inner dimensions"]) {
            try BLAS.gemm(Matrix<Double>(zeros: 3, 5), Matrix(zeros: 2, 4), into: &c)
        }
        assertThrows(.shapeMismatch, containing: ["gemm", "C is 3 × 4", "expected 5 × 4"]) {
            try BLAS.gemm(Matrix<Double>(zeros: 2, 5), Matrix(zeros: 2, 4), transposeA: true, into: &c)
        }
    }

    func testGemvShapeMismatchesNameRoutine() {
        var y = [Double](repeating: 0, count: 3)
        assertThrows(.shapeMismatch, containing: ["gemv", "x has 2 entries", "expected 4"]) {
            try BLAS.gemv(Matrix<Double>(zeros: 3, 4), [1, 2], into: &y)
        }
        assertThrows(.shapeMismatch, containing: ["gemv", "y has 3 entries", "expected 4"]) {
            try BLAS.gemv(Matrix<Double>(zeros: 3, 4), [1, 2, 3], transpose: true, into: &y)
        }
    }

    func testSyrkShapeMismatchNamesRoutine() {
        var c = Matrix<Double>(zeros: 3, 3)
        assertThrows(.shapeMismatch, containing: ["syrk", "C is 3 × 3", "expected 4 × 4"]) {
            try BLAS.syrk(Matrix<Double>(zeros: 4, 2), into: &c)
        }
    }

    func testTrsmRejectsBadTriangularMatrix() {
        var b = Matrix<Double>(zeros: 3, 2)
        assertThrows(.shapeMismatch, containing: ["trsm", "T is 3 × 2", "square"]) {
            try BLAS.trsm(Matrix<Double>(zeros: 3, 2), solving: &b)
        }
        assertThrows(.shapeMismatch, containing: ["trsm", "T is 2 × 2", "B is 3 × 2", "order 3", "left"]) {
            try BLAS.trsm(Matrix<Double>.identity(2), solving: &b)
        }
        assertThrows(.shapeMismatch, containing: ["trsm", "order 2", "right"]) {
            try BLAS.trsm(Matrix<Double>.identity(3), leftSide: false, solving: &b)
        }
        var singular = Matrix<Double>.identity(3)
        singular[1, 1] = 0
        assertThrows(.invalidArgument, containing: ["trsm", "T[1, 1] = 0", "singular"]) {
            try BLAS.trsm(singular, solving: &b)
        }
    }

    func testTrsmWithUnitDiagonalIgnoresZeroDiagonal() throws {
        var t = Matrix<Double>(zeros: 2, 2)
        t[1, 0] = 2
        var b = try Matrix<Double>(rows: 2, columns: 1, columnMajor: [1, 5])
        try BLAS.trsm(t, unitDiagonal: true, solving: &b)
        XCTAssertEqual(b.elements, [1, 3])
    }

    // MARK: - Generic checks

    private func checkGemm<Scalar: LapackScalar>(_: Scalar.Type) throws {
        var generator = SeededGenerator(seed: 1)
        for (m, n, k) in productShapes {
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    let a: Matrix<Scalar> = transposeA ? .random(k, m, using: &generator) : .random(m, k, using: &generator)
                    let b: Matrix<Scalar> = transposeB ? .random(n, k, using: &generator) : .random(k, n, using: &generator)
                    let c0 = Matrix<Scalar>.random(m, n, using: &generator)
                    var c = c0
                    let (alpha, beta): (Scalar, Scalar) = (0.75, -1.5)
                    try BLAS.gemm(a, b, transposeA: transposeA, transposeB: transposeB,
                                  alpha: alpha, beta: beta, into: &c)

                    var expected = naiveProduct(a, b, transposeA: transposeA, transposeB: transposeB)
                    expected.scale(by: Double(alpha))
                    expected.add(c0.converted(), scaledBy: Double(beta))
                    assertClose(c, expected, tolerance: tolerance(for: Scalar.self),
                                "\(Scalar.self) gemm m=\(m) n=\(n) k=\(k) transposeA=\(transposeA) transposeB=\(transposeB)")
                }
            }
        }
    }

    private func checkGemv<Scalar: LapackScalar>(_: Scalar.Type) throws {
        var generator = SeededGenerator(seed: 2)
        for (rows, columns) in [(4, 4), (3, 6), (6, 2), (1, 5)] {
            for transpose in [false, true] {
                let a = Matrix<Scalar>.random(rows, columns, using: &generator)
                let (inLength, outLength) = transpose ? (rows, columns) : (columns, rows)
                let x = Matrix<Scalar>.random(inLength, 1, using: &generator)
                let y0 = Matrix<Scalar>.random(outLength, 1, using: &generator)
                var y = y0.elements
                try BLAS.gemv(a, x.elements, transpose: transpose, alpha: 2, beta: 0.5, into: &y)

                var expected = naiveProduct(a, x, transposeA: transpose)
                expected.scale(by: 2)
                expected.add(y0.converted(), scaledBy: 0.5)
                let actual = try Matrix(rows: outLength, columns: 1, columnMajor: y)
                assertClose(actual, expected, tolerance: tolerance(for: Scalar.self),
                            "\(Scalar.self) gemv \(rows) × \(columns) transpose=\(transpose)")
            }
        }
    }

    private func checkSyrk<Scalar: LapackScalar>(_: Scalar.Type) throws {
        var generator = SeededGenerator(seed: 3)
        for (n, k) in [(4, 4), (3, 7), (6, 2)] {
            for transpose in [false, true] {
                for lower in [false, true] {
                    let a: Matrix<Scalar> = transpose ? .random(k, n, using: &generator) : .random(n, k, using: &generator)
                    let c0 = Matrix<Scalar>.random(n, n, using: &generator)
                    var c = c0
                    try BLAS.syrk(a, transpose: transpose, alpha: 1.5, beta: -0.5, lower: lower, into: &c)

                    var expected = naiveProduct(a, a, transposeA: transpose, transposeB: !transpose)
                    expected.scale(by: 1.5)
                    expected.add(c0.converted(), scaledBy: -0.5)
                    let label = "\(Scalar.self) syrk n=\(n) k=\(k) transpose=\(transpose) lower=\(lower)"
                    for j in 0..<n {
                        for i in 0..<n {
                            let written = lower ? i >= j : i <= j
                            if written {
                                XCTAssertEqual(Double(c[i, j]), expected[i, j],
                                               accuracy: tolerance(for: Scalar.self) * max(1, expected.maxAbsoluteValue),
                                               "\(label): entry (\(i), \(j))")
                            } else {
                                XCTAssertEqual(c[i, j], c0[i, j], "\(label): entry (\(i), \(j)) of the other triangle changed")
                            }
                        }
                    }
                }
            }
        }
    }

    private func checkTrsm<Scalar: LapackScalar>(_: Scalar.Type) throws {
        var generator = SeededGenerator(seed: 4)
        let (m, n) = (5, 3)
        for leftSide in [true, false] {
            for lower in [true, false] {
                for transpose in [false, true] {
                    for unitDiagonal in [false, true] {
                        let order = leftSide ? m : n
                        var t = Matrix<Scalar>.random(order, order, using: &generator)
                        // A dominant diagonal keeps T well conditioned; the unit-diagonal
                        // variant must ignore the stored diagonal, so it gets 7s there.
                        for i in 0..<order {
                            t[i, i] = unitDiagonal ? 7 : t[i, i] + 3
                        }
                        var triangle = t
                        triangle.zeroOppositeTriangle(keepLower: lower)
                        if unitDiagonal {
                            for i in 0..<order {
                                triangle[i, i] = 1
                            }
                        }

                        let b = Matrix<Scalar>.random(m, n, using: &generator)
                        var x = b
                        try BLAS.trsm(t, lower: lower, transpose: transpose, unitDiagonal: unitDiagonal,
                                      leftSide: leftSide, alpha: 2, solving: &x)

                        // op(T)·X = 2B (left) or X·op(T) = 2B (right).
                        let product = leftSide
                            ? naiveProduct(triangle, x, transposeA: transpose)
                            : naiveProduct(x, triangle, transposeB: transpose)
                        var expected: Matrix<Double> = b.converted()
                        expected.scale(by: 2)
                        let label = "\(Scalar.self) trsm left=\(leftSide) lower=\(lower) transpose=\(transpose) unit=\(unitDiagonal)"
                        XCTAssertLessThanOrEqual(relativeError(product, expected), tolerance(for: Scalar.self), label)
                    }
                }
            }
        }
    }
}
