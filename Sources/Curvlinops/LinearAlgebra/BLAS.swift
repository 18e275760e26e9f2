/// Checked BLAS routines on ``Matrix`` values.
///
/// Each wrapper validates the shapes, then hands the raw column-major buffers to
/// OpenBLAS through ``LapackScalar``. Shapes that do not fit throw a
/// ``CurvlinopsError`` of kind ``CurvlinopsError/Kind/shapeMismatch`` naming the
/// routine and both shapes.
///
/// The wrappers do not scan their operands for NaN or infinite entries: such
/// entries propagate by IEEE arithmetic, as in BLAS itself. Callers on hot
/// paths validate their input once (``LinearOperator/validateInput(_:)``)
/// instead of paying for a scan in every product. The ``LAPACK`` wrappers do
/// reject non-finite input, because LAPACK gives no defined result for it.
public enum BLAS {
    /// Computes C ← α·op(A)·op(B) + β·C.
    ///
    /// - Parameters:
    ///   - a: A; op(A) is A, or Aᵀ when `transposeA` is true.
    ///   - b: B; op(B) is B, or Bᵀ when `transposeB` is true.
    ///   - transposeA: Whether to use Aᵀ. Default false.
    ///   - transposeB: Whether to use Bᵀ. Default false.
    ///   - alpha: The factor α of the product. Default 1.
    ///   - beta: The factor β of the old C. Default 0, which ignores C's
    ///     entries (even NaN ones), as BLAS specifies.
    ///   - c: The output, of shape rows(op(A)) × columns(op(B)).
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when the inner
    ///   dimensions differ or C has the wrong shape.
    /// - Complexity: 2·m·n·k flops.
    public static func gemm<Scalar: LapackScalar>(
        _ a: Matrix<Scalar>, _ b: Matrix<Scalar>,
        transposeA: Bool = false, transposeB: Bool = false,
        alpha: Scalar = 1, beta: Scalar = 0,
        into c: inout Matrix<Scalar>
    ) throws {
        let (m, kA) = transposeA ? (a.columns, a.rows) : (a.rows, a.columns)
        let (kB, n) = transposeB ? (b.columns, b.rows) : (b.rows, b.columns)
        guard kA == kB else {
            throw CurvlinopsError.shapeMismatch(
                "gemm: op(A) is \(m) × \(kA) but op(B) is \(kB) × \(n); expected equal inner dimensions.")
        }
        guard c.rows == m, c.columns == n else {
            throw CurvlinopsError.shapeMismatch(
                "gemm: C is \(c.rows) × \(c.columns); expected \(m) × \(n) for op(A)·op(B).")
        }
        guard m > 0, n > 0 else { return }
        guard kA > 0 else {
            // An empty product: only the β·C term remains.
            if beta == 0 {
                c = Matrix(zeros: m, n)
            } else {
                c.scale(by: beta)
            }
            return
        }
        let routine = "gemm"
        let (m32, n32, k32) = (try lapackInteger(m, "m", routine: routine),
                               try lapackInteger(n, "n", routine: routine),
                               try lapackInteger(kA, "k", routine: routine))
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    Scalar.gemm(
                        transposeA: transposeA, transposeB: transposeB, m: m32, n: n32, k: k32,
                        alpha: alpha, a: pa.baseAddress!, lda: leadingDimension(a.rows),
                        b: pb.baseAddress!, ldb: leadingDimension(b.rows),
                        beta: beta, c: pc.baseAddress!, ldc: leadingDimension(m))
                }
            }
        }
    }

    /// Computes y ← α·op(A)·x + β·y.
    ///
    /// - Parameters:
    ///   - a: A; op(A) is A, or Aᵀ when `transpose` is true.
    ///   - x: A vector with columns(op(A)) entries.
    ///   - transpose: Whether to use Aᵀ. Default false.
    ///   - alpha: The factor α. Default 1.
    ///   - beta: The factor β of the old y. Default 0.
    ///   - y: The output, with rows(op(A)) entries.
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when x or y has the wrong length.
    /// - Complexity: 2·m·n flops.
    public static func gemv<Scalar: LapackScalar>(
        _ a: Matrix<Scalar>, _ x: [Scalar], transpose: Bool = false,
        alpha: Scalar = 1, beta: Scalar = 0, into y: inout [Scalar]
    ) throws {
        let (m, n) = transpose ? (a.columns, a.rows) : (a.rows, a.columns)
        guard x.count == n else {
            throw CurvlinopsError.shapeMismatch("gemv: x has \(x.count) entries; expected \(n) for op(A) of \(m) × \(n).")
        }
        guard y.count == m else {
            throw CurvlinopsError.shapeMismatch("gemv: y has \(y.count) entries; expected \(m) for op(A) of \(m) × \(n).")
        }
        guard m > 0 else { return }
        guard n > 0 else {
            for i in y.indices { y[i] = beta == 0 ? 0 : beta * y[i] }
            return
        }
        let rows32 = try lapackInteger(a.rows, "rows", routine: "gemv")
        let columns32 = try lapackInteger(a.columns, "columns", routine: "gemv")
        a.withUnsafeBufferPointer { pa in
            x.withUnsafeBufferPointer { px in
                y.withUnsafeMutableBufferPointer { py in
                    Scalar.gemv(
                        transpose: transpose, m: rows32, n: columns32, alpha: alpha,
                        a: pa.baseAddress!, lda: leadingDimension(a.rows), x: px.baseAddress!, incx: 1,
                        beta: beta, y: py.baseAddress!, incy: 1)
                }
            }
        }
    }

    /// Computes the symmetric rank-k update C ← α·op(A)·op(A)ᵀ + β·C on one triangle.
    ///
    /// Only the `lower` (or upper) triangle of C is written; the other keeps its
    /// old entries. Call ``Matrix/symmetrize(fromLower:)`` for the full matrix.
    ///
    /// - Parameters:
    ///   - a: A; op(A) is A (n × k), or Aᵀ when `transpose` is true (A is k × n).
    ///   - transpose: Whether to use Aᵀ, giving AᵀA. Default false.
    ///   - alpha: The factor α. Default 1.
    ///   - beta: The factor β of the old C. Default 0.
    ///   - lower: Whether to write the lower triangle. Default true.
    ///   - c: The n × n output.
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when C is not n × n.
    /// - Complexity: n²·k flops, half of the equivalent gemm.
    public static func syrk<Scalar: LapackScalar>(
        _ a: Matrix<Scalar>, transpose: Bool = false,
        alpha: Scalar = 1, beta: Scalar = 0, lower: Bool = true,
        into c: inout Matrix<Scalar>
    ) throws {
        let (n, k) = transpose ? (a.columns, a.rows) : (a.rows, a.columns)
        guard c.rows == n, c.columns == n else {
            throw CurvlinopsError.shapeMismatch("syrk: C is \(c.rows) × \(c.columns); expected \(n) × \(n).")
        }
        guard n > 0 else { return }
        let n32 = try lapackInteger(n, "n", routine: "syrk")
        let k32 = try lapackInteger(k, "k", routine: "syrk")
        a.withUnsafeBufferPointer { pa in
            c.withUnsafeMutableBufferPointer { pc in
                // With k = 0 BLAS only scales C; a 1-element dummy keeps the pointer valid.
                let dummy: [Scalar] = [0]
                dummy.withUnsafeBufferPointer { pd in
                    Scalar.syrk(
                        lower: lower, transpose: transpose, n: n32, k: k32, alpha: alpha,
                        a: pa.baseAddress ?? pd.baseAddress!, lda: leadingDimension(a.rows),
                        beta: beta, c: pc.baseAddress!, ldc: leadingDimension(n))
                }
            }
        }
    }

    /// Solves a triangular system in place: B ← α·op(T)⁻¹·B (`leftSide`) or B ← α·B·op(T)⁻¹.
    ///
    /// - Parameters:
    ///   - t: The square triangular matrix T; only its `lower` (or upper) triangle is read.
    ///   - lower: Whether T is lower triangular. Default true.
    ///   - transpose: Whether to use Tᵀ. Default false.
    ///   - unitDiagonal: Whether to assume ones on T's diagonal. Default false.
    ///   - leftSide: Whether T multiplies from the left. Default true.
    ///   - alpha: The factor α. Default 1.
    ///   - b: The right-hand sides, overwritten with the solution.
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when T is not square or
    ///   does not fit B, ``CurvlinopsError/Kind/invalidArgument`` when T has a
    ///   zero on its diagonal (T is singular) and `unitDiagonal` is false.
    /// - Complexity: m²·n flops for a left solve with B of size m × n.
    public static func trsm<Scalar: LapackScalar>(
        _ t: Matrix<Scalar>, lower: Bool = true, transpose: Bool = false,
        unitDiagonal: Bool = false, leftSide: Bool = true, alpha: Scalar = 1,
        solving b: inout Matrix<Scalar>
    ) throws {
        guard t.isSquare else {
            throw CurvlinopsError.shapeMismatch("trsm: T is \(t.rows) × \(t.columns); expected a square matrix.")
        }
        let needed = leftSide ? b.rows : b.columns
        guard t.rows == needed else {
            throw CurvlinopsError.shapeMismatch(
                "trsm: T is \(t.rows) × \(t.columns) but B is \(b.rows) × \(b.columns); expected T of order \(needed) for a \(leftSide ? "left" : "right")-side solve.")
        }
        if !unitDiagonal, let i = (0..<t.rows).first(where: { t[$0, $0] == 0 }) {
            throw CurvlinopsError.invalidArgument(
                "trsm: T[\(i), \(i)] = 0, so the triangular matrix T is singular; expected a non-zero diagonal.")
        }
        guard b.rows > 0, b.columns > 0 else { return }
        let m32 = try lapackInteger(b.rows, "m", routine: "trsm")
        let n32 = try lapackInteger(b.columns, "n", routine: "trsm")
        let ldb = leadingDimension(b.rows)
        t.withUnsafeBufferPointer { pt in
            b.withUnsafeMutableBufferPointer { pb in
                Scalar.trsm(
                    leftSide: leftSide, lower: lower, transpose: transpose, unitDiagonal: unitDiagonal,
                    m: m32, n: n32, alpha: alpha, a: pt.baseAddress!, lda: leadingDimension(t.rows),
                    b: pb.baseAddress!, ldb: ldb)
            }
        }
    }
}
