// Column-by-column operations with a different scalar per column, as block
// Krylov solvers need them: each column of a block is its own vector with its
// own step size. All run on raw buffers through BLAS level 1.

extension Matrix {
    /// Returns the dot product of each column of this matrix with the same column of `other`.
    ///
    /// The shapes must agree; a mismatch is a programming error and traps.
    ///
    /// - Complexity: 2 · rows flops per column.
    func columnDots(with other: Matrix) -> [Scalar] {
        precondition(rows == other.rows && columns == other.columns,
                     "Matrix.columnDots: \(rows) × \(columns) and \(other.rows) × \(other.columns) differ")
        let m = rows
        guard m > 0 else { return Array(repeating: 0, count: columns) }
        let n32 = Int32(truncatingIfNeeded: m)
        return elements.withUnsafeBufferPointer { a in
            other.elements.withUnsafeBufferPointer { b in
                (0..<columns).map { j in
                    Scalar.dot(n: n32, x: a.baseAddress! + j * m, incx: 1, y: b.baseAddress! + j * m, incy: 1)
                }
            }
        }
    }

    /// Adds `factors[j] · other[:, j]` to column j, for every column (BLAS `axpy` per column).
    ///
    /// A factor of 0 leaves its column unchanged. The shapes must agree and
    /// `factors` must have one entry per column; a mismatch traps.
    mutating func addColumns(of other: Matrix, scaledBy factors: [Scalar]) {
        precondition(rows == other.rows && columns == other.columns && factors.count == columns,
                     "Matrix.addColumns: shapes or factor count do not match")
        let m = rows
        guard m > 0 else { return }
        let n32 = Int32(truncatingIfNeeded: m)
        elements.withUnsafeMutableBufferPointer { y in
            other.elements.withUnsafeBufferPointer { x in
                for j in 0..<columns where factors[j] != 0 {
                    Scalar.axpy(n: n32, alpha: factors[j], x: x.baseAddress! + j * m, incx: 1,
                                y: y.baseAddress! + j * m, incy: 1)
                }
            }
        }
    }

    /// Multiplies column j by `factors[j]`, for every column (BLAS `scal` per column).
    mutating func scaleColumns(by factors: [Scalar]) {
        precondition(factors.count == columns, "Matrix.scaleColumns: got \(factors.count) factors for \(columns) columns")
        let m = rows
        guard m > 0 else { return }
        let n32 = Int32(truncatingIfNeeded: m)
        elements.withUnsafeMutableBufferPointer { x in
            for j in 0..<columns where factors[j] != 1 {
                Scalar.scal(n: n32, alpha: factors[j], x: x.baseAddress! + j * m, incx: 1)
            }
        }
    }

    /// Returns whether the entries include a NaN and whether they include an
    /// infinity, found in one pass that ends at the first NaN.
    func nonFiniteContent() -> (containsNaN: Bool, containsInfinity: Bool) {
        elements.withUnsafeBufferPointer { buffer in
            var containsInfinity = false
            for value in buffer where !value.isFinite {
                if value.isNaN {
                    return (true, containsInfinity)
                }
                containsInfinity = true
            }
            return (false, containsInfinity)
        }
    }

    /// Returns the index of the first column that contains a NaN or an infinity, or `nil`.
    func firstNonFiniteColumn() -> Int? {
        let m = rows
        return elements.withUnsafeBufferPointer { buffer in
            for j in 0..<columns {
                for i in 0..<m where !buffer[i + j * m].isFinite {
                    return j
                }
            }
            return nil
        }
    }
}
