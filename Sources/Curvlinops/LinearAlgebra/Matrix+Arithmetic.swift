extension Matrix {
    /// Whether every entry is finite (no NaN, no infinity).
    ///
    /// - Complexity: O(rows × columns).
    public var isFinite: Bool {
        elements.withUnsafeBufferPointer { buffer in
            for value in buffer where !value.isFinite {
                return false
            }
            return true
        }
    }

    /// The Frobenius norm √(Σ aᵢⱼ²), computed by BLAS `nrm2` without undue overflow.
    public var frobeniusNorm: Scalar {
        guard !elements.isEmpty else { return 0 }
        return elements.withUnsafeBufferPointer { buffer in
            Scalar.nrm2(n: Int32(truncatingIfNeeded: buffer.count), x: buffer.baseAddress!, incx: 1)
        }
    }

    /// The largest absolute entry, or 0 for an empty matrix.
    public var maxAbsoluteValue: Scalar {
        elements.reduce(0) { Swift.max($0, abs($1)) }
    }

    /// The Euclidean norm of each column.
    ///
    /// - Complexity: O(rows × columns).
    public var columnNorms: [Scalar] {
        let m = rows
        guard m > 0 else { return Array(repeating: 0, count: columns) }
        return elements.withUnsafeBufferPointer { buffer in
            (0..<columns).map { j in
                Scalar.nrm2(n: Int32(truncatingIfNeeded: m), x: buffer.baseAddress! + j * m, incx: 1)
            }
        }
    }

    /// The entry-wise sum of two matrices of the same shape.
    ///
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when the shapes differ.
    public static func + (lhs: Matrix, rhs: Matrix) throws -> Matrix {
        try lhs.checkSameShape(as: rhs, operation: "+")
        var result = lhs
        result.add(rhs, scaledBy: 1)
        return result
    }

    /// The entry-wise difference of two matrices of the same shape.
    ///
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when the shapes differ.
    public static func - (lhs: Matrix, rhs: Matrix) throws -> Matrix {
        try lhs.checkSameShape(as: rhs, operation: "-")
        var result = lhs
        result.add(rhs, scaledBy: -1)
        return result
    }

    /// The matrix with every entry multiplied by `scale`.
    public static func * (scale: Scalar, matrix: Matrix) -> Matrix {
        var result = matrix
        result.scale(by: scale)
        return result
    }

    /// The matrix product, computed by `gemm`.
    ///
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when `lhs.columns != rhs.rows`.
    /// - Complexity: 2·m·n·k flops for an m × k times k × n product.
    public static func * (lhs: Matrix, rhs: Matrix) throws -> Matrix {
        var result = Matrix(zeros: lhs.rows, rhs.columns)
        try BLAS.gemm(lhs, rhs, into: &result)
        return result
    }

    /// Adds `scale · other` to this matrix in place (BLAS `axpy`).
    ///
    /// The shapes must agree; a mismatch is a programming error and traps.
    public mutating func add(_ other: Matrix, scaledBy scale: Scalar) {
        precondition(rows == other.rows && columns == other.columns,
                     "Matrix.add: \(rows) × \(columns) and \(other.rows) × \(other.columns) differ")
        guard !elements.isEmpty else { return }
        elements.withUnsafeMutableBufferPointer { y in
            other.elements.withUnsafeBufferPointer { x in
                Scalar.axpy(n: Int32(truncatingIfNeeded: x.count), alpha: scale, x: x.baseAddress!, incx: 1,
                            y: y.baseAddress!, incy: 1)
            }
        }
    }

    /// Multiplies every entry by `scale` in place (BLAS `scal`).
    public mutating func scale(by scale: Scalar) {
        guard !elements.isEmpty else { return }
        elements.withUnsafeMutableBufferPointer { x in
            Scalar.scal(n: Int32(truncatingIfNeeded: x.count), alpha: scale, x: x.baseAddress!, incx: 1)
        }
    }

    /// Copies the lower triangle onto the upper one (or the reverse), making
    /// the matrix symmetric after a routine that wrote one triangle only.
    public mutating func symmetrize(fromLower lower: Bool = true) {
        precondition(isSquare, "Matrix.symmetrize needs a square matrix, got \(rows) × \(columns)")
        let n = rows
        elements.withUnsafeMutableBufferPointer { a in
            for j in 0..<n {
                for i in (j + 1)..<Swift.max(j + 1, n) {
                    if lower {
                        a[j + i * n] = a[i + j * n]
                    } else {
                        a[i + j * n] = a[j + i * n]
                    }
                }
            }
        }
    }

    /// Sets the strict upper triangle (`lower` true) or the strict lower
    /// triangle to zero, leaving a triangular factor.
    public mutating func zeroOppositeTriangle(keepLower lower: Bool = true) {
        precondition(isSquare, "Matrix.zeroOppositeTriangle needs a square matrix, got \(rows) × \(columns)")
        let n = rows
        elements.withUnsafeMutableBufferPointer { a in
            for j in 0..<n {
                for i in (j + 1)..<Swift.max(j + 1, n) {
                    if lower {
                        a[j + i * n] = 0
                    } else {
                        a[i + j * n] = 0
                    }
                }
            }
        }
    }

    func checkSameShape(as other: Matrix, operation: String) throws {
        guard rows == other.rows, columns == other.columns else {
            throw CurvlinopsError.shapeMismatch(
                "Matrix \(operation): left operand is \(rows) × \(columns), right operand is \(other.rows) × \(other.columns); expected equal shapes.")
        }
    }
}
