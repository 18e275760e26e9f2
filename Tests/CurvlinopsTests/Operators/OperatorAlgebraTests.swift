import XCTest
@testable import Curvlinops

/// Operator arithmetic against the same arithmetic on dense matrices, the
/// block and flat forms, and the errors for mismatched shapes and bad input.
final class OperatorAlgebraTests: XCTestCase {
    func testDenseOfCombinationsMatchesMatrixAlgebraFloat() throws {
        try checkCombinations(Float.self)
    }

    func testDenseOfCombinationsMatchesMatrixAlgebraDouble() throws {
        try checkCombinations(Double.self)
    }

    func testBlockFormMatchesFlatFormFloat() throws {
        try checkBlockForm(Float.self)
    }

    func testBlockFormMatchesFlatFormDouble() throws {
        try checkBlockForm(Double.self)
    }

    func testAdjointOfCompositionIsReversedCompositionOfAdjoints() throws {
        var generator = SeededGenerator(seed: 31)
        let a = try DenseLinearOperator(Matrix<Double>.random(4, 3, using: &generator))
        let b = try DenseLinearOperator(Matrix<Double>.random(3, 5, using: &generator))
        let c = try DenseLinearOperator(Matrix<Double>.random(5, 2, using: &generator))
        let product = try a * b * c

        XCTAssertEqual(product.factors.count, 3, "nested compositions are flattened")
        let adjoint = try XCTUnwrap(product.adjoint() as? ComposedLinearOperator<Double>)
        XCTAssertEqual(adjoint.factors.count, 3)
        let expectedFactors = [c.matrix.transposed, b.matrix.transposed, a.matrix.transposed]
        for (index, (factor, expected)) in zip(adjoint.factors, expectedFactors).enumerated() {
            XCTAssertEqual(try factor.dense(), expected, "factor \(index) of the adjoint")
        }
        XCTAssertEqual(adjoint.inputShapes, [[4]])
        XCTAssertEqual(adjoint.outputShapes, [[2]])
        let expected = try c.matrix.transposed * (b.matrix.transposed * a.matrix.transposed)
        assertClose(try adjoint.dense(), expected, tolerance: 1e-14, "dense adjoint of A·B·C")
    }

    func testNestedSumsAreFlattenedWithWeights() throws {
        let a = try DiagonalLinearOperator<Double>([1, 2])
        let b = try IdentityLinearOperator<Double>(size: 2)
        let sum = try a - (a + b)
        XCTAssertEqual(sum.terms.map(\.weight), [1, -1, -1])
        XCTAssertEqual(try sum.dense(), Matrix.diagonal([-1, -1]))
    }

    func testIdentityAndDiagonalOperators() throws {
        let shapes = [[2, 2], [3]]
        let identity = try IdentityLinearOperator<Float>(shapes: shapes)
        XCTAssertEqual(identity.inputSize, 7)
        XCTAssertEqual(try identity.dense(), Matrix.identity(7))
        XCTAssertEqual(identity.adjoint().outputShapes, shapes)

        let d: [Float] = [1, -2, 3, 0.5, 4, 5, -6]
        let diagonal = try DiagonalLinearOperator(d, shapes: shapes)
        XCTAssertEqual(try diagonal.dense(), Matrix.diagonal(d))
        XCTAssertEqual(try diagonal.apply([1, 1, 1, 1, 1, 1, 1]), d)
        XCTAssertEqual(try diagonal.adjoint().dense(), Matrix.diagonal(d))
        XCTAssertTrue(diagonal.isSquare)
    }

    func testOperatorsCombineThroughExistentials() throws {
        var generator = SeededGenerator(seed: 32)
        let m = Matrix<Double>.random(3, 3, using: &generator)
        let a = try DenseLinearOperator(m)
        let adjoint: any LinearOperator<Double> = a.adjoint()
        let symmetricPart = try 0.5 * (try adjoint + a)
        let expected = 0.5 * (try m + m.transposed)
        assertClose(try symmetricPart.dense(), expected, tolerance: 1e-15, "(A + Aᵀ)/2 from an existential adjoint")
    }

    // MARK: - Shape errors

    func testSumOfDifferentShapesThrows() throws {
        let a = try DenseLinearOperator(Matrix<Double>(zeros: 2, 3))
        let b = try DenseLinearOperator(Matrix<Double>(zeros: 3, 2))
        assertThrows(.shapeMismatch, containing: ["SumLinearOperator", "term 1 maps [[2]] → [[3]]", "term 0 maps [[3]] → [[2]]", "equal shapes"]) {
            try a + b
        }
        assertThrows(.shapeMismatch, containing: ["SumLinearOperator", "term 1"]) {
            try a - b
        }
        assertThrows(.invalidArgument, containing: ["SumLinearOperator", "no terms"]) {
            try SumLinearOperator<Double>([])
        }
    }

    func testCompositionOfMismatchedShapesThrows() throws {
        let a = try DenseLinearOperator(Matrix<Double>(zeros: 2, 3))
        let b = try DenseLinearOperator(Matrix<Double>(zeros: 4, 2))
        assertThrows(.shapeMismatch, containing: ["ComposedLinearOperator", "factor 0 takes input shapes [[3]]", "factor 1 produces [[4]]"]) {
            try a * b
        }
        assertThrows(.invalidArgument, containing: ["ComposedLinearOperator", "no factors"]) {
            try ComposedLinearOperator<Double>([])
        }
    }

    func testApplyToWrongSizeThrows() throws {
        let a = try DenseLinearOperator(Matrix<Double>(zeros: 2, 4), inputShapes: [[2, 2]])
        assertThrows(.shapeMismatch, containing: ["DenseLinearOperator.apply", "X has 5 rows", "inputSize = 4", "[[2, 2]]"]) {
            try a.apply(Matrix<Double>(zeros: 5, 3))
        }
        assertThrows(.shapeMismatch, containing: ["DenseLinearOperator.apply", "x has 3 entries", "inputSize = 4"]) {
            try a.apply([1, 2, 3] as [Double])
        }
        assertThrows(.shapeMismatch, containing: ["apply(blocks:)", "got 2 blocks", "expected 1", "[[2, 2]]"]) {
            try a.apply(blocks: [Tensor(zeros: [2, 2]), Tensor(zeros: [1])])
        }
        assertThrows(.shapeMismatch, containing: ["apply(blocks:)", "block 0 has shape [4]", "expected [2, 2]"]) {
            try a.apply(blocks: [Tensor(zeros: [4])])
        }
    }

    func testEveryOperatorChecksInputRows() throws {
        let shapes = [[3]]
        let dense = try DenseLinearOperator(Matrix<Double>.identity(3))
        let operators: [any LinearOperator<Double>] = [
            dense,
            try IdentityLinearOperator(shapes: shapes),
            try DiagonalLinearOperator([1, 2, 3]),
            try dense + dense,
            try 2 * dense,
            try dense * dense,
        ]
        for linearOperator in operators {
            assertThrows(.shapeMismatch, containing: ["X has 2 rows", "inputSize = 3"]) {
                try linearOperator.apply(Matrix<Double>(zeros: 2, 1))
            }
        }
    }

    func testConstructorsRejectBadShapesAndValues() throws {
        assertThrows(.shapeMismatch, containing: ["DenseLinearOperator", "inputShapes [[2, 2]] hold 4 entries", "expected 3"]) {
            try DenseLinearOperator(Matrix<Double>(zeros: 2, 3), inputShapes: [[2, 2]])
        }
        assertThrows(.shapeMismatch, containing: ["DenseLinearOperator", "outputShapes [[3]] hold 3 entries", "expected 2"]) {
            try DenseLinearOperator(Matrix<Double>(zeros: 2, 3), outputShapes: [[3]])
        }
        assertThrows(.invalidArgument, containing: ["DenseLinearOperator", "inputShapes[1] = [-1]", "negative size"]) {
            try DenseLinearOperator(Matrix<Double>(zeros: 2, 3), inputShapes: [[3], [-1]])
        }
        var withNaN = Matrix<Double>.identity(2)
        withNaN[0, 1] = .nan
        assertThrows(.nonFiniteValue, containing: ["DenseLinearOperator", "NaN"]) {
            try DenseLinearOperator(withNaN)
        }
        assertThrows(.shapeMismatch, containing: ["DiagonalLinearOperator", "shapes [[2]] hold 2 entries", "expected 3"]) {
            try DiagonalLinearOperator<Double>([1, 2, 3], shapes: [[2]])
        }
        assertThrows(.nonFiniteValue, containing: ["DiagonalLinearOperator", "diagonal[1] = inf"]) {
            try DiagonalLinearOperator<Double>([1, .infinity])
        }
        assertThrows(.invalidArgument, containing: ["IdentityLinearOperator", "shapes[0] = [-2]"]) {
            try IdentityLinearOperator<Float>(size: -2)
        }
        assertThrows(.nonFiniteValue, containing: ["ScaledLinearOperator", "scale = nan"]) {
            try Double.nan * IdentityLinearOperator<Double>(size: 2)
        }
    }

    // MARK: - Non-finite input

    func testNonFiniteInputNamesColumn() throws {
        let a = try DenseLinearOperator(Matrix<Double>.identity(3))
        var x = Matrix<Double>(zeros: 3, 4)
        x[1, 2] = .nan
        assertThrows(.nonFiniteValue, containing: ["DenseLinearOperator.apply", "column 2 of X", "NaN"]) {
            try a.apply(x)
        }
        let sum = try a + a
        assertThrows(.nonFiniteValue, containing: ["SumLinearOperator.apply", "column 2"]) {
            try sum.apply(x)
        }
        x[1, 2] = 0
        x[0, 3] = .infinity
        assertThrows(.nonFiniteValue, containing: ["column 3 of X"]) {
            try a.apply(x)
        }
    }

    func testNonFiniteBlockIsNamed() throws {
        let a = try DiagonalLinearOperator<Float>([1, 2, 3, 4, 5], shapes: [[2], [3]])
        let blocks = [try Tensor<Float>(shape: [2], elements: [1, 2]), try Tensor<Float>(shape: [3], elements: [1, .nan, 3])]
        assertThrows(.nonFiniteValue, containing: ["apply(blocks:)", "block 1", "flat index 1"]) {
            try a.apply(blocks: blocks)
        }
    }

    func testEmptyInputsDoNotCrash() throws {
        let a = try DenseLinearOperator(Matrix<Double>.identity(3))
        XCTAssertEqual(try a.apply(Matrix<Double>(zeros: 3, 0)).columns, 0)
        let empty = try IdentityLinearOperator<Double>(size: 0)
        XCTAssertEqual(try empty.dense().rows, 0)
        XCTAssertEqual(try empty.apply([Double]()), [])
    }

    // MARK: - Generic checks

    private func checkCombinations<Scalar: LapackScalar>(_: Scalar.Type) throws {
        var generator = SeededGenerator(seed: 33)
        let ma = Matrix<Scalar>.random(4, 3, using: &generator)
        let mb = Matrix<Scalar>.random(4, 3, using: &generator)
        let mc = Matrix<Scalar>.random(3, 5, using: &generator)
        let a = try DenseLinearOperator(ma)
        let b = try DenseLinearOperator(mb)
        let c = try DenseLinearOperator(mc)
        let d = try DiagonalLinearOperator<Scalar>([2, -1, 0.5])
        let scale: Scalar = -1.25
        let tolerance = tolerance(for: Scalar.self)

        let da: Matrix<Double> = ma.converted()
        let db: Matrix<Double> = mb.converted()
        let dc: Matrix<Double> = mc.converted()
        let dd = Matrix<Double>.diagonal([2, -1, 0.5])

        assertClose(try (a + b).dense(), try da + db, tolerance: tolerance, "\(Scalar.self) A + B")
        assertClose(try (a - b).dense(), try da - db, tolerance: tolerance, "\(Scalar.self) A − B")
        assertClose(try (scale * a).dense(), Double(scale) * da, tolerance: tolerance, "\(Scalar.self) cA")
        assertClose(try (a * c).dense(), try da * dc, tolerance: tolerance, "\(Scalar.self) A·C")
        assertClose(try (a * d * c).dense(), try da * dd * dc, tolerance: tolerance, "\(Scalar.self) A·D·C")
        assertClose(try a.adjoint().dense(), da.transposed, tolerance: 0, "\(Scalar.self) Aᵀ")
        assertClose(try (a + b).adjoint().dense(), (try da + db).transposed, tolerance: tolerance, "\(Scalar.self) (A + B)ᵀ")
        assertClose(try (scale * a).adjoint().dense(), Double(scale) * da.transposed, tolerance: tolerance, "\(Scalar.self) (cA)ᵀ")
        assertClose(try (a * c).adjoint().dense(), try dc.transposed * da.transposed, tolerance: tolerance, "\(Scalar.self) (A·C)ᵀ")

        // The products on k columns at once equal the dense product.
        let x = Matrix<Scalar>.random(3, 6, using: &generator)
        let combination = try a + scale * b - (a * d)
        let expected = try (da + Double(scale) * db - da * dd) * x.converted()
        assertClose(try combination.apply(x), expected, tolerance: tolerance, "\(Scalar.self) (A + cB − A·D)·X")
    }

    private func checkBlockForm<Scalar: LapackScalar>(_: Scalar.Type) throws {
        var generator = SeededGenerator(seed: 34)
        let inputShapes = [[2, 3], [3], [1, 2, 2]]
        let outputShapes = [[4], [2, 2], []]
        let m = Matrix<Scalar>.random(9, 13, using: &generator)
        let a = try DenseLinearOperator(m, inputShapes: inputShapes, outputShapes: outputShapes)
        XCTAssertEqual(a.inputSize, 13)
        XCTAssertEqual(a.outputSize, 9)

        let x = Matrix<Scalar>.random(13, 1, using: &generator)
        var blocks: [Tensor<Scalar>] = []
        var offset = 0
        for shape in inputShapes {
            let size = shape.reduce(1, *)
            blocks.append(try Tensor(shape: shape, elements: Array(x.elements[offset..<(offset + size)])))
            offset += size
        }

        let image = try a.apply(blocks: blocks)
        XCTAssertEqual(image.map(\.shape), outputShapes, "\(Scalar.self): output block shapes")
        let flatImage = try a.apply(x)
        XCTAssertEqual(image.flatMap(\.elements), flatImage.elements, "\(Scalar.self): block form against flat form")
        XCTAssertEqual(try a.apply(x.elements), flatImage.elements, "\(Scalar.self): vector form against flat form")
        assertClose(flatImage, naiveProduct(m, x), tolerance: tolerance(for: Scalar.self), "\(Scalar.self): flat form against naive product")

        // Blocks through a composition with the adjoint come back in the input shapes.
        let gram = try a.adjoint() * a
        let gramImage = try gram.apply(blocks: blocks)
        XCTAssertEqual(gramImage.map(\.shape), inputShapes, "\(Scalar.self): AᵀA block shapes")
        assertClose(try Matrix(rows: 13, columns: 1, columnMajor: gramImage.flatMap(\.elements)),
                    naiveProduct(m.converted(to: Double.self), naiveProduct(m, x), transposeA: true),
                    tolerance: tolerance(for: Scalar.self), "\(Scalar.self): AᵀA in block form")

        // Several columns at once equal one column at a time.
        let columns = Matrix<Scalar>.random(13, 4, using: &generator)
        let batch = try a.apply(columns)
        for j in 0..<4 {
            // OpenBLAS may order the sums differently for one column, so equality is up to rounding.
            let single = try Matrix(rows: 9, columns: 1, columnMajor: try a.apply(columns.column(j)))
            assertClose(single, try Matrix<Double>(rows: 9, columns: 1, columnMajor: batch.column(j).map(Double.init)),
                        tolerance: tolerance(for: Scalar.self), "\(Scalar.self): column \(j) of the batch")
        }
    }
}
