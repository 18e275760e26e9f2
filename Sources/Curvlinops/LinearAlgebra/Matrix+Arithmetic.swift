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
    ///
    /// - Complexity: O(rows × columns).
    public var frobeniusNorm: Scalar {
        elements.withUnsafeBufferPointer { buffer in
            var norm: Scalar = 0
            forEachBLASChunk(count: buffer.count) { offset, length in
                let piece = Scalar.nrm2(n: length, x: buffer.baseAddress! + offset, incx: 1)
                norm = combinedNorm(norm, piece)
            }
            return norm
        }
    }

    /// The largest absolute entry, 0 for an empty matrix, or NaN when an entry is NaN.
    ///
    /// - Complexity: O(rows × columns).
    public var maxAbsoluteValue: Scalar {
        elements.withUnsafeBufferPointer { buffer in
            var result: Scalar = 0
            for value in buffer {
                if value.isNaN { return value }
                result = Swift.max(result, abs(value))
            }
            return result
        }
    }

    /// The Euclidean norm of each column.
    ///
    /// - Complexity: O(rows × columns).
    public var columnNorms: [Scalar] {
        let m = rows
        guard m > 0 else { return Array(repeating: 0, count: columns) }
        return elements.withUnsafeBufferPointer { buffer in
            (0..<columns).map { j in
                var norm: Scalar = 0
                forEachBLASChunk(count: m) { offset, length in
                    let piece = Scalar.nrm2(n: length, x: buffer.baseAddress! + j * m + offset, incx: 1)
                    norm = combinedNorm(norm, piece)
                }
                return norm
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
        elements.withUnsafeMutableBufferPointer { y in
            other.elements.withUnsafeBufferPointer { x in
                forEachBLASChunk(count: x.count) { offset, length in
                    Scalar.axpy(n: length, alpha: scale, x: x.baseAddress! + offset, incx: 1,
                                y: y.baseAddress! + offset, incy: 1)
                }
            }
        }
    }

    /// Multiplies every entry by `scale` in place (BLAS `scal`).
    public mutating func scale(by scale: Scalar) {
        elements.withUnsafeMutableBufferPointer { x in
            forEachBLASChunk(count: x.count) { offset, length in
                Scalar.scal(n: length, alpha: scale, x: x.baseAddress! + offset, incx: 1)
            }
        }
    }

    /// Copies the lower triangle onto the upper one (or the reverse), making
    /// the matrix symmetric after a routine that wrote one triangle only.
    ///
    /// The matrix must be square; calling this on another shape traps.
    ///
    /// - Parameter lower: Whether the lower triangle is the source. Default true.
    /// - Complexity: O(rows²).
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
    ///
    /// The matrix must be square; calling this on another shape traps.
    ///
    /// - Parameter lower: Whether to keep the lower triangle. Default true.
    /// - Complexity: O(rows²).
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

/// Returns √(a² + b²) for two non-negative norms without squaring large values.
private func combinedNorm<Scalar: LapackScalar>(_ a: Scalar, _ b: Scalar) -> Scalar {
    let larger = Swift.max(a, b)
    guard larger > 0, larger.isFinite else { return a + b }
    let (x, y) = (a / larger, b / larger)
    return larger * (x * x + y * y).squareRoot()
}
