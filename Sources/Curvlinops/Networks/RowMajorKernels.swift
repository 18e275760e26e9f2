// Raw-buffer kernels the layers are built from: a row-major gemm and an
// axis swap. A tensor of shape [rows…, features] is a row-major matrix with
// `features` columns, so every batched layer operation is one of these gemms.

/// Computes C ← α·op(A)·op(B) + β·C for row-major matrices.
///
/// op(A) is m × k and op(B) is k × n; `lda`, `ldb`, `ldc` are the row
/// strides of the stored matrices. A row-major matrix is the column-major
/// storage of its transpose, so this calls the column-major gemm for
/// Cᵀ = op(B)ᵀ·op(A)ᵀ with the operands swapped and the same transpose flags.
///
/// - Throws: ``CurvlinopsError/Kind/unsupported`` when a dimension exceeds
///   the 32-bit BLAS integer range.
/// - Complexity: 2·m·n·k flops.
func rowMajorGemm<Scalar: LapackScalar>(
    transposeA: Bool = false, transposeB: Bool = false,
    m: Int, n: Int, k: Int, alpha: Scalar = 1,
    a: UnsafePointer<Scalar>, lda: Int,
    b: UnsafePointer<Scalar>, ldb: Int,
    beta: Scalar = 0, c: UnsafeMutablePointer<Scalar>, ldc: Int
) throws {
    guard m > 0, n > 0 else { return }
    guard k > 0 else {
        // An empty inner dimension leaves only β·C.
        for row in 0..<m {
            for column in 0..<n {
                c[row * ldc + column] = beta == 0 ? 0 : beta * c[row * ldc + column]
            }
        }
        return
    }
    let routine = "gemm"
    Scalar.gemm(
        transposeA: transposeB, transposeB: transposeA,
        m: try lapackInteger(n, "n", routine: routine),
        n: try lapackInteger(m, "m", routine: routine),
        k: try lapackInteger(k, "k", routine: routine),
        alpha: alpha,
        a: b, lda: try lapackInteger(max(1, ldb), "ldb", routine: routine),
        b: a, ldb: try lapackInteger(max(1, lda), "lda", routine: routine),
        beta: beta, c: c, ldc: try lapackInteger(max(1, ldc), "ldc", routine: routine))
}

/// Copies a row-major array of shape [outer, first, second, inner] into one of
/// shape [outer, second, first, inner], or adds it there when `accumulate` is true.
///
/// This is the one data movement the layers need. It turns [k, rows, c]
/// into [rows, k, c], so that k products sharing one operand become one
/// gemm. It also turns a convolution's [N, S, C] gemm output into NCHW, and
/// it implements ``Rearrange``.
///
/// - Complexity: O(outer · first · second · inner) reads and writes.
func swapAxes<Scalar: LapackScalar>(
    _ source: UnsafePointer<Scalar>, into destination: UnsafeMutablePointer<Scalar>,
    outer: Int, first: Int, second: Int, inner: Int, accumulate: Bool = false
) {
    let block = first * second * inner
    for o in 0..<outer {
        let sourceBlock = source + o * block
        let destinationBlock = destination + o * block
        for i in 0..<first {
            for j in 0..<second {
                let from = sourceBlock + (i * second + j) * inner
                let to = destinationBlock + (j * first + i) * inner
                if accumulate {
                    for e in 0..<inner { to[e] += from[e] }
                } else {
                    to.update(from: from, count: inner)
                }
            }
        }
    }
}

extension Tensor {
    /// Returns the tensor with the axes `first` and `second` of the view
    /// [outer, first, second, inner] swapped, under `newShape`.
    func swappingAxes(outer: Int, first: Int, second: Int, inner: Int, newShape: [Int]) -> Tensor {
        precondition(outer * first * second * inner == count, "swappingAxes: view does not cover \(shape)")
        if first == 1 || second == 1 {
            // Swapping an axis of size 1 leaves the memory order unchanged.
            return reshapedUnchecked(newShape)
        }
        return withUnsafeBufferPointer { source in
            Tensor(uninitializedShape: newShape, writingEvery: { destination in
                guard count > 0 else { return }
                swapAxes(source.baseAddress!, into: destination.baseAddress!,
                         outer: outer, first: first, second: second, inner: inner)
            })
        }
    }
}

/// Computes C ← α·op(A)·op(B) + β·C on tensors viewed as row-major matrices.
///
/// `a` contains op(A) (m × k), or A stored k × m when `transposeA` is true.
/// Likewise `b` contains op(B) (k × n), or B stored n × k. `c` is m × n.
func gemm<Scalar: LapackScalar>(
    _ a: Tensor<Scalar>, _ b: Tensor<Scalar>, transposeA: Bool = false, transposeB: Bool = false,
    m: Int, n: Int, k: Int, alpha: Scalar = 1, beta: Scalar = 0, into c: inout Tensor<Scalar>
) throws {
    precondition(a.count == m * k && b.count == k * n && c.count == m * n,
                 "gemm: tensors \(a.shape), \(b.shape), \(c.shape) do not fit m = \(m), n = \(n), k = \(k)")
    guard m > 0, n > 0 else { return }
    try a.withUnsafeBufferPointer { pa in
        try b.withUnsafeBufferPointer { pb in
            try c.withUnsafeMutableBufferPointer { pc in
                try rowMajorGemm(
                    transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                    a: pa.baseAddress!, lda: transposeA ? m : k,
                    b: pb.baseAddress!, ldb: transposeB ? k : n,
                    beta: beta, c: pc.baseAddress!, ldc: n)
            }
        }
    }
}

extension Tensor {
    /// Adds `vector` (`features` entries) to every row of this tensor viewed as [rows, features].
    mutating func addToEveryRow(_ vector: UnsafePointer<Scalar>, features: Int) {
        precondition(features > 0 && count % features == 0, "addToEveryRow: \(shape) has no rows of \(features)")
        withUnsafeMutableBufferPointer { buffer in
            let rows = buffer.count / features
            for row in 0..<rows {
                let target = buffer.baseAddress! + row * features
                for e in 0..<features { target[e] += vector[e] }
            }
        }
    }

    /// Sums the rows of each of `blocks` blocks of this tensor viewed as
    /// [blocks, rows, features], giving shape [blocks, features].
    func sumsOverRows(blocks: Int, features: Int) -> Tensor {
        precondition(blocks > 0 && features > 0 && count % (blocks * features) == 0,
                     "sumsOverRows: \(shape) is not [\(blocks), rows, \(features)]")
        let rows = count / (blocks * features)
        return withUnsafeBufferPointer { source in
            Tensor(shape: [blocks, features]) { sums in
                for block in 0..<blocks {
                    let target = sums.baseAddress! + block * features
                    for row in 0..<rows {
                        let values = source.baseAddress! + (block * rows + row) * features
                        for e in 0..<features { target[e] += values[e] }
                    }
                }
            }
        }
    }
}
