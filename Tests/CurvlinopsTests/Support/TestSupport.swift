import XCTest
@testable import Curvlinops

extension Matrix {
    /// Returns a rows × columns matrix of entries drawn uniformly from [-1, 1).
    static func random(_ rows: Int, _ columns: Int, using generator: inout SeededGenerator) -> Matrix {
        var result = Matrix(zeros: rows, columns)
        result.withUnsafeMutableBufferPointer { buffer in
            for index in buffer.indices {
                buffer[index] = Scalar(Double.random(in: -1..<1, using: &generator))
            }
        }
        return result
    }

    /// Returns a random symmetric positive-definite n × n matrix B·Bᵀ + n·I.
    /// Its eigenvalues lie in [n, n + n²], so it is well conditioned.
    static func randomSPD(_ n: Int, using generator: inout SeededGenerator) -> Matrix {
        let b = Matrix<Double>.random(n, n, using: &generator)
        var spd = naiveProduct(b, b, transposeB: true)
        for i in 0..<n {
            spd[i, i] += Double(n)
        }
        return spd.converted()
    }

    /// Returns the same entries in another precision.
    func converted<Other: LapackScalar>(to _: Other.Type = Other.self) -> Matrix<Other> {
        try! Matrix<Other>(rows: rows, columns: columns, columnMajor: elements.map { Other($0) })
    }
}

/// Computes the reference product op(A)·op(B) by the textbook triple loop, in Double.
func naiveProduct<Scalar: LapackScalar>(
    _ a: Matrix<Scalar>, _ b: Matrix<Scalar>, transposeA: Bool = false, transposeB: Bool = false
) -> Matrix<Double> {
    let a = transposeA ? a.transposed : a
    let b = transposeB ? b.transposed : b
    precondition(a.columns == b.rows, "naiveProduct: inner dimensions differ")
    var result = Matrix<Double>(zeros: a.rows, b.columns)
    for i in 0..<a.rows {
        for j in 0..<b.columns {
            var sum = 0.0
            for k in 0..<a.columns {
                sum += Double(a[i, k]) * Double(b[k, j])
            }
            result[i, j] = sum
        }
    }
    return result
}

/// Returns the largest absolute entry of `actual − expected`, divided by the
/// largest absolute entry of `expected` when that exceeds 1.
func relativeError<Scalar: LapackScalar>(_ actual: Matrix<Scalar>, _ expected: Matrix<Double>) -> Double {
    precondition(actual.rows == expected.rows && actual.columns == expected.columns, "relativeError: shapes differ")
    var difference = 0.0
    for (x, y) in zip(actual.elements, expected.elements) {
        difference = max(difference, abs(Double(x) - y))
    }
    return difference / max(expected.maxAbsoluteValue, 1)
}

/// Asserts that `actual` matches `expected` within `tolerance` in the sense of ``relativeError``.
func assertClose<Scalar: LapackScalar>(
    _ actual: Matrix<Scalar>, _ expected: Matrix<Double>, tolerance: Double, _ message: String,
    file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(actual.rows, expected.rows, "\(message): row count", file: file, line: line)
    XCTAssertEqual(actual.columns, expected.columns, "\(message): column count", file: file, line: line)
    guard actual.rows == expected.rows, actual.columns == expected.columns else { return }
    let error = relativeError(actual, expected)
    XCTAssertLessThanOrEqual(error, tolerance, "\(message): relative error \(error) exceeds \(tolerance)", file: file, line: line)
}

/// Returns the tolerance for results of one precision against a Double
/// reference: 1e-4 for Float (about 1700 units in the last place) and 1e-13
/// for Double (about 450), which suits the small, well-conditioned problems
/// of these tests.
func tolerance<Scalar: LapackScalar>(for _: Scalar.Type) -> Double {
    Scalar.self == Float.self ? 1e-4 : 1e-13
}

/// Asserts that `body` throws a ``CurvlinopsError`` of `kind` whose message
/// contains every string in `fragments`.
func assertThrows<T>(
    _ kind: CurvlinopsError.Kind, containing fragments: [String],
    file: StaticString = #filePath, line: UInt = #line,
    _ body: () throws -> T
) {
    do {
        _ = try body()
        XCTFail("expected a \(kind) error containing \(fragments), but nothing was thrown", file: file, line: line)
    } catch let error as CurvlinopsError {
        XCTAssertEqual(error.kind, kind, "wrong kind for: \(error.message)", file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(error.message.contains(fragment),
                          "message \"\(error.message)\" lacks \"\(fragment)\"", file: file, line: line)
        }
    } catch {
        XCTFail("expected a CurvlinopsError, got \(error)", file: file, line: line)
    }
}
