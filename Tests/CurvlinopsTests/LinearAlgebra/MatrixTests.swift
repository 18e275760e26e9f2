import XCTest
@testable import Curvlinops

/// Construction, layout and arithmetic of `Matrix` and `Tensor`.
final class MatrixTests: XCTestCase {
    func testRowMajorAndColumnMajorLayouts() throws {
        let byRows = try Matrix<Double>(rows: 2, columns: 3, rowMajor: [1, 2, 3, 4, 5, 6])
        let byColumns = try Matrix<Double>(rows: 2, columns: 3, columnMajor: [1, 4, 2, 5, 3, 6])
        XCTAssertEqual(byRows, byColumns)
        XCTAssertEqual(byRows[0, 2], 3)
        XCTAssertEqual(byRows[1, 0], 4)
        XCTAssertEqual(byRows.elements, [1, 4, 2, 5, 3, 6])
        XCTAssertEqual(byRows.rowMajorElements, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(byRows.transposed, try Matrix(rows: 3, columns: 2, rowMajor: [1, 4, 2, 5, 3, 6]))
    }

    func testConstructorsRejectWrongEntryCounts() {
        assertThrows(.shapeMismatch, containing: ["Matrix(rows:columns:rowMajor:)", "rowMajor has 5 entries", "2 × 3 = 6"]) {
            try Matrix<Double>(rows: 2, columns: 3, rowMajor: [1, 2, 3, 4, 5])
        }
        assertThrows(.shapeMismatch, containing: ["Matrix(rows:columns:columnMajor:)", "columnMajor has 7 entries", "= 6"]) {
            try Matrix<Float>(rows: 3, columns: 2, columnMajor: [1, 2, 3, 4, 5, 6, 7])
        }
        assertThrows(.shapeMismatch, containing: ["rows = -1", "non-negative"]) {
            try Matrix<Double>(rows: -1, columns: 2, columnMajor: [])
        }
        assertThrows(.shapeMismatch, containing: ["more entries than Int can count"]) {
            try Matrix<Double>(rows: Int.max, columns: 2, columnMajor: [])
        }
        assertThrows(.shapeMismatch, containing: ["Matrix(columnVectors:)", "column 1 has 1 entries", "column 0 has 2"]) {
            try Matrix<Double>(columnVectors: [[1, 2], [3]])
        }
        assertThrows(.invalidArgument, containing: ["Matrix(columnVectors:)", "no columns"]) {
            try Matrix<Double>(columnVectors: [])
        }
    }

    func testEmptyMatricesAreValid() throws {
        let empty = try Matrix<Double>(rows: 0, columns: 4, rowMajor: [])
        XCTAssertEqual(empty.rows, 0)
        XCTAssertEqual(empty.columns, 4)
        XCTAssertEqual(empty.transposed.rows, 4)
        XCTAssertEqual(empty.frobeniusNorm, 0)
        XCTAssertEqual(empty.columnNorms, [0, 0, 0, 0])
        XCTAssertEqual(Matrix<Float>.identity(0).elements, [])
    }

    func testIdentityAndDiagonal() {
        XCTAssertEqual(Matrix<Double>.identity(3).elements, [1, 0, 0, 0, 1, 0, 0, 0, 1])
        XCTAssertEqual(Matrix<Float>.diagonal([2, 3]).elements, [2, 0, 0, 3])
    }

    func testColumnSelectionAndAssignment() throws {
        let m = try Matrix<Double>(rows: 2, columns: 3, rowMajor: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(m.column(1), [2, 5])
        XCTAssertEqual(m.columns([2, 0]), try Matrix(rows: 2, columns: 2, rowMajor: [3, 1, 6, 4]))

        var target = Matrix<Double>(zeros: 2, 3)
        target.setColumns([2, 0], from: m.columns([0, 1]))
        XCTAssertEqual(target, try Matrix(rows: 2, columns: 3, rowMajor: [2, 0, 1, 5, 0, 4]))
        target.setColumn(1, to: [7, 8])
        XCTAssertEqual(target.column(1), [7, 8])
    }

    func testArithmeticMatchesEntrywiseResults() throws {
        let a = try Matrix<Double>(rows: 2, columns: 2, rowMajor: [1, 2, 3, 4])
        let b = try Matrix<Double>(rows: 2, columns: 2, rowMajor: [5, 6, 7, 8])
        XCTAssertEqual(try a + b, try Matrix(rows: 2, columns: 2, rowMajor: [6, 8, 10, 12]))
        XCTAssertEqual(try b - a, try Matrix(rows: 2, columns: 2, rowMajor: [4, 4, 4, 4]))
        XCTAssertEqual(2 * a, try Matrix(rows: 2, columns: 2, rowMajor: [2, 4, 6, 8]))
        XCTAssertEqual(try a * b, try Matrix(rows: 2, columns: 2, rowMajor: [19, 22, 43, 50]))

        var c = a
        c.add(b, scaledBy: -2)
        XCTAssertEqual(c, try Matrix(rows: 2, columns: 2, rowMajor: [-9, -10, -11, -12]))
    }

    func testArithmeticShapeMismatchesThrow() {
        let a = Matrix<Double>(zeros: 2, 3)
        let b = Matrix<Double>(zeros: 3, 2)
        assertThrows(.shapeMismatch, containing: ["Matrix +", "2 × 3", "3 × 2"]) { try a + b }
        assertThrows(.shapeMismatch, containing: ["Matrix -", "2 × 3", "3 × 2"]) { try a - b }
        assertThrows(.shapeMismatch, containing: ["gemm", "inner dimensions"]) { try a * a }
    }

    func testNormsAndFiniteness() throws {
        let m = try Matrix<Double>(rows: 2, columns: 2, rowMajor: [3, 0, 4, -12])
        XCTAssertEqual(m.frobeniusNorm, 13, accuracy: 1e-14)
        XCTAssertEqual(m.columnNorms[0], 5, accuracy: 1e-14)
        XCTAssertEqual(m.columnNorms[1], 12, accuracy: 1e-14)
        XCTAssertEqual(m.maxAbsoluteValue, 12)
        XCTAssertTrue(m.isFinite)

        var withNaN = m
        withNaN[1, 0] = .nan
        XCTAssertFalse(withNaN.isFinite)
        XCTAssertTrue(withNaN.maxAbsoluteValue.isNaN)
        XCTAssertTrue(withNaN.frobeniusNorm.isNaN)

        var withInfinity = m
        withInfinity[0, 1] = -.infinity
        XCTAssertFalse(withInfinity.isFinite)
        XCTAssertEqual(withInfinity.frobeniusNorm, .infinity)
    }

    func testSymmetrizeAndZeroOppositeTriangle() throws {
        let m = try Matrix<Double>(rows: 2, columns: 2, rowMajor: [1, 2, 3, 4])
        var fromLower = m
        fromLower.symmetrize()
        XCTAssertEqual(fromLower, try Matrix(rows: 2, columns: 2, rowMajor: [1, 3, 3, 4]))
        var fromUpper = m
        fromUpper.symmetrize(fromLower: false)
        XCTAssertEqual(fromUpper, try Matrix(rows: 2, columns: 2, rowMajor: [1, 2, 2, 4]))
        var lower = m
        lower.zeroOppositeTriangle()
        XCTAssertEqual(lower, try Matrix(rows: 2, columns: 2, rowMajor: [1, 0, 3, 4]))
        var upper = m
        upper.zeroOppositeTriangle(keepLower: false)
        XCTAssertEqual(upper, try Matrix(rows: 2, columns: 2, rowMajor: [1, 2, 0, 4]))
    }

    // MARK: - Tensor

    func testTensorIsRowMajor() throws {
        let t = try Tensor<Double>(shape: [2, 3, 2], elements: (0..<12).map(Double.init))
        XCTAssertEqual(t[0, 0, 1], 1)
        XCTAssertEqual(t[0, 2, 0], 4)
        XCTAssertEqual(t[1, 0, 0], 6)
        XCTAssertEqual(t[1, 2, 1], 11)
        XCTAssertEqual(t.count, 12)
        XCTAssertEqual(t.rank, 3)
        XCTAssertEqual(try t.reshaped([6, 2])[2, 1], 5)

        let scalar = try Tensor<Float>(shape: [], elements: [7])
        XCTAssertEqual(scalar[], 7)
        XCTAssertEqual(Tensor<Float>(zeros: [2, 0]).count, 0)
    }

    func testTensorConstructorsRejectWrongCounts() {
        assertThrows(.shapeMismatch, containing: ["Tensor(shape:elements:)", "elements has 5 entries", "expected 6", "[2, 3]"]) {
            try Tensor<Double>(shape: [2, 3], elements: [1, 2, 3, 4, 5])
        }
        assertThrows(.shapeMismatch, containing: ["Tensor(shape:elements:)", "size -2 on axis 1"]) {
            try Tensor<Double>(shape: [1, -2], elements: [])
        }
        assertThrows(.shapeMismatch, containing: ["Tensor.reshaped(_:)", "has 6 entries", "expected 8", "[2, 4]"]) {
            try Tensor<Float>(zeros: [2, 3]).reshaped([2, 4])
        }
        assertThrows(.shapeMismatch, containing: ["more entries than Int can count"]) {
            try Tensor<Float>(shape: [Int.max, 3], elements: [])
        }
    }

    func testTensorFiniteness() throws {
        XCTAssertTrue(try Tensor<Double>(shape: [2], elements: [1, 2]).isFinite)
        XCTAssertFalse(try Tensor<Double>(shape: [2], elements: [1, .nan]).isFinite)
    }
}
