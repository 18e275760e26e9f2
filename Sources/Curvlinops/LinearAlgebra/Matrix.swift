/// A dense matrix of real numbers stored column by column.
///
/// Column-major order is what BLAS, LAPACK and the flat form of
/// ``LinearOperator`` use: a matrix with k columns contains k vectors, each
/// contiguous in memory. Element (i, j) is at index `i + j * rows` of
/// ``elements``.
///
/// `Matrix` is a value type with copy-on-write storage. It does not track
/// symmetry or triangular structure; routines that read one triangle say which.
public struct Matrix<Scalar: LapackScalar>: Sendable, Equatable {
    /// The number of rows.
    public let rows: Int

    /// The number of columns.
    public let columns: Int

    /// The entries in column-major order, `rows * columns` of them.
    public internal(set) var elements: [Scalar]

    /// Creates a matrix of zeros.
    ///
    /// A negative dimension, or dimensions whose product exceeds `Int.max`,
    /// is a programming error and traps, as for `Array(repeating:count:)`;
    /// the throwing initialisers check theirs.
    ///
    /// - Parameters:
    ///   - rows: The number of rows, at least 0.
    ///   - columns: The number of columns, at least 0.
    /// - Complexity: O(rows × columns).
    public init(zeros rows: Int, _ columns: Int) {
        precondition(rows >= 0 && columns >= 0, "Matrix dimensions must be non-negative, got \(rows) × \(columns)")
        guard let count = checkedProduct(rows, columns) else {
            preconditionFailure("Matrix dimensions \(rows) × \(columns) have more entries than Int can count")
        }
        self.rows = rows
        self.columns = columns
        self.elements = Array(repeating: 0, count: count)
    }

    /// Creates a matrix from entries listed column by column.
    ///
    /// - Parameters:
    ///   - rows: The number of rows.
    ///   - columns: The number of columns.
    ///   - columnMajor: `rows * columns` entries, the first column first.
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when the count of
    ///   entries is not `rows * columns`, or a dimension is negative.
    public init(rows: Int, columns: Int, columnMajor: [Scalar]) throws {
        try Self.checkDimensions(rows: rows, columns: columns, count: columnMajor.count, argument: "columnMajor")
        self.rows = rows
        self.columns = columns
        self.elements = columnMajor
    }

    /// Creates a matrix from entries listed row by row, as NumPy, PyTorch and
    /// the JSON fixtures store them.
    ///
    /// - Parameters:
    ///   - rows: The number of rows.
    ///   - columns: The number of columns.
    ///   - rowMajor: `rows * columns` entries, the first row first.
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when the count of
    ///   entries is not `rows * columns`, or a dimension is negative.
    /// - Complexity: O(rows × columns).
    public init(rows: Int, columns: Int, rowMajor: [Scalar]) throws {
        try Self.checkDimensions(rows: rows, columns: columns, count: rowMajor.count, argument: "rowMajor")
        self.init(zeros: rows, columns)
        elements.withUnsafeMutableBufferPointer { destination in
            rowMajor.withUnsafeBufferPointer { source in
                for i in 0..<rows {
                    for j in 0..<columns {
                        destination[i + j * rows] = source[i * columns + j]
                    }
                }
            }
        }
    }

    /// Creates a matrix whose columns are the given vectors.
    ///
    /// - Parameter columnVectors: At least one vector; all of the same length.
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when the vectors differ
    ///   in length, ``CurvlinopsError/Kind/invalidArgument`` when there are none.
    public init(columnVectors: [[Scalar]]) throws {
        guard let first = columnVectors.first else {
            throw CurvlinopsError.invalidArgument("Matrix(columnVectors:): got no columns; expected at least one.")
        }
        for (j, column) in columnVectors.enumerated() where column.count != first.count {
            throw CurvlinopsError.shapeMismatch(
                "Matrix(columnVectors:): column \(j) has \(column.count) entries, but column 0 has \(first.count).")
        }
        self.rows = first.count
        self.columns = columnVectors.count
        self.elements = columnVectors.flatMap { $0 }
    }

    /// Returns the n × n identity matrix.
    ///
    /// - Parameter n: The dimension, at least 0.
    public static func identity(_ n: Int) -> Matrix {
        var result = Matrix(zeros: n, n)
        for i in 0..<n {
            result.elements[i + i * n] = 1
        }
        return result
    }

    /// Returns a square matrix with the given diagonal and zeros elsewhere.
    ///
    /// - Parameter diagonal: The diagonal entries, top left first.
    public static func diagonal(_ diagonal: [Scalar]) -> Matrix {
        let n = diagonal.count
        var result = Matrix(zeros: n, n)
        for i in 0..<n {
            result.elements[i + i * n] = diagonal[i]
        }
        return result
    }

    /// The entry in row `row` and column `column`.
    ///
    /// An index out of range is a programming error and traps, as for `Array`.
    public subscript(row: Int, column: Int) -> Scalar {
        get {
            precondition(row >= 0 && row < rows && column >= 0 && column < columns,
                         "Matrix index (\(row), \(column)) out of range for \(rows) × \(columns)")
            return elements[row + column * rows]
        }
        set {
            precondition(row >= 0 && row < rows && column >= 0 && column < columns,
                         "Matrix index (\(row), \(column)) out of range for \(rows) × \(columns)")
            elements[row + column * rows] = newValue
        }
    }

    /// Whether the matrix has as many rows as columns.
    public var isSquare: Bool { rows == columns }

    /// The entries listed row by row.
    ///
    /// - Complexity: O(rows × columns).
    public var rowMajorElements: [Scalar] { transposed.elements }

    /// The transpose.
    ///
    /// - Complexity: O(rows × columns).
    public var transposed: Matrix {
        var result = Matrix(zeros: columns, rows)
        let (m, n) = (rows, columns)
        result.elements.withUnsafeMutableBufferPointer { destination in
            elements.withUnsafeBufferPointer { source in
                for j in 0..<n {
                    for i in 0..<m {
                        destination[j + i * n] = source[i + j * m]
                    }
                }
            }
        }
        return result
    }

    /// Column `j` as an array.
    public func column(_ j: Int) -> [Scalar] {
        precondition(j >= 0 && j < columns, "Matrix column \(j) out of range for \(columns) columns")
        return Array(elements[(j * rows)..<((j + 1) * rows)])
    }

    /// Overwrites column `j` with `values`, which must have `rows` entries.
    public mutating func setColumn(_ j: Int, to values: [Scalar]) {
        precondition(j >= 0 && j < columns, "Matrix column \(j) out of range for \(columns) columns")
        precondition(values.count == rows, "Matrix.setColumn: got \(values.count) values for \(rows) rows")
        elements.replaceSubrange((j * rows)..<((j + 1) * rows), with: values)
    }

    /// Returns the matrix made of the listed columns, in the order listed.
    ///
    /// - Complexity: O(rows × indices.count).
    public func columns(_ indices: [Int]) -> Matrix {
        var result = Matrix(zeros: rows, indices.count)
        let m = rows
        result.elements.withUnsafeMutableBufferPointer { destination in
            elements.withUnsafeBufferPointer { source in
                for (k, j) in indices.enumerated() {
                    precondition(j >= 0 && j < columns, "Matrix column \(j) out of range for \(columns) columns")
                    let from = UnsafeMutableBufferPointer(rebasing: destination[(k * m)..<((k + 1) * m)])
                    _ = from.initialize(from: source[(j * m)..<((j + 1) * m)])
                }
            }
        }
        return result
    }

    /// Writes the columns of `source` into the listed columns of this matrix.
    ///
    /// - Complexity: O(rows × indices.count).
    public mutating func setColumns(_ indices: [Int], from source: Matrix) {
        precondition(source.rows == rows && source.columns == indices.count,
                     "Matrix.setColumns: source is \(source.rows) × \(source.columns), expected \(rows) × \(indices.count)")
        let m = rows
        let n = columns
        elements.withUnsafeMutableBufferPointer { destination in
            source.elements.withUnsafeBufferPointer { values in
                for (k, j) in indices.enumerated() {
                    precondition(j >= 0 && j < n, "Matrix column \(j) out of range for \(n) columns")
                    for i in 0..<m {
                        destination[i + j * m] = values[i + k * m]
                    }
                }
            }
        }
    }

    /// Calls `body` with a pointer to the column-major entries.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Scalar>) throws -> R) rethrows -> R {
        try elements.withUnsafeBufferPointer(body)
    }

    /// Calls `body` with a mutable pointer to the column-major entries.
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (inout UnsafeMutableBufferPointer<Scalar>) throws -> R
    ) rethrows -> R {
        try elements.withUnsafeMutableBufferPointer(body)
    }

    /// Checks the dimensions and entry count a caller passed to an initialiser.
    static func checkDimensions(rows: Int, columns: Int, count: Int, argument: String) throws {
        let initializer = "Matrix(rows:columns:\(argument):)"
        guard rows >= 0, columns >= 0 else {
            throw CurvlinopsError.shapeMismatch(
                "\(initializer): rows = \(rows), columns = \(columns); expected non-negative dimensions.")
        }
        let (expected, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard !overflow else {
            throw CurvlinopsError.shapeMismatch(
                "\(initializer): a \(rows) × \(columns) matrix has more entries than Int can count.")
        }
        guard count == expected else {
            throw CurvlinopsError.shapeMismatch(
                "\(initializer): \(argument) has \(count) entries; expected rows × columns = \(rows) × \(columns) = \(expected).")
        }
    }
}

extension Matrix: CustomStringConvertible {
    /// The shape, then one bracketed line per row.
    public var description: String {
        var lines: [String] = []
        for i in 0..<rows {
            let entries = (0..<columns).map { "\(self[i, $0])" }
            lines.append("[" + entries.joined(separator: ", ") + "]")
        }
        return "Matrix \(rows) × \(columns)\n" + lines.joined(separator: "\n")
    }
}
