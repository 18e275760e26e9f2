/// Checked LAPACK routines on ``Matrix`` values.
///
/// Each wrapper validates shapes and finiteness, calls the LAPACKE routine for
/// the scalar type, and turns a non-zero `info` into a ``CurvlinopsError`` of
/// kind ``CurvlinopsError/Kind/lapackFailure(routine:info:)`` (or
/// ``CurvlinopsError/Kind/notPositiveDefinite`` for Cholesky) whose message says
/// what the value means.
///
/// Input with NaN or infinite entries is rejected before the call, because the
/// reference LAPACK routines give no defined result for it.
public enum LAPACK {
    /// Factorises a symmetric positive-definite matrix in place as A = L·Lᵀ
    /// (`lower`) or A = Uᵀ·U.
    ///
    /// Only the chosen triangle of A is read and overwritten with the factor;
    /// the other triangle keeps its old entries (call
    /// ``Matrix/zeroOppositeTriangle(keepLower:)`` for a triangular matrix).
    /// Every entry must be finite, in both triangles.
    ///
    /// - Parameters:
    ///   - a: The n × n matrix A, overwritten with its Cholesky factor.
    ///   - lower: Whether to read A's lower triangle and produce L. Default true.
    /// - Throws: ``CurvlinopsError/Kind/notPositiveDefinite`` when a leading
    ///   minor is not positive definite (the message gives its order),
    ///   ``CurvlinopsError/Kind/nonFiniteValue`` for NaN or infinite input,
    ///   ``CurvlinopsError/Kind/shapeMismatch`` for a non-square A.
    /// - Complexity: n³/3 flops.
    public static func potrf<Scalar: LapackScalar>(_ a: inout Matrix<Scalar>, lower: Bool = true) throws {
        try checkSquareAndFinite(a, routine: "potrf")
        let n = a.rows
        guard n > 0 else { return }
        let n32 = try lapackInteger(n, "n", routine: "potrf")
        let info = a.withUnsafeMutableBufferPointer { pa in
            Scalar.potrf(lower: lower, n: n32, a: pa.baseAddress!, lda: leadingDimension(n))
        }
        if info > 0 {
            throw CurvlinopsError(
                .notPositiveDefinite,
                "potrf: the leading minor of order \(info) is not positive definite (info = \(info)); the matrix is not symmetric positive definite.")
        }
        try checkInfo(info, routine: "potrf")
    }

    /// Solves A·X = B in place from the Cholesky factor of A computed by ``potrf(_:lower:)``.
    ///
    /// - Parameters:
    ///   - factor: The n × n Cholesky factor; only the `lower` (or upper) triangle is read.
    ///   - lower: Whether the factor is lower triangular. Default true.
    ///   - b: The n × k right-hand sides, overwritten with the solution.
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when the shapes do not fit,
    ///   ``CurvlinopsError/Kind/nonFiniteValue`` when the factor or B holds NaN
    ///   or infinite entries, ``CurvlinopsError/Kind/invalidArgument`` when the
    ///   factor has a zero on its diagonal (it is singular, so it cannot come
    ///   from a successful ``potrf(_:lower:)``).
    /// - Complexity: 2·n²·k flops.
    public static func potrs<Scalar: LapackScalar>(
        factor: Matrix<Scalar>, lower: Bool = true, solving b: inout Matrix<Scalar>
    ) throws {
        guard factor.isSquare else {
            throw CurvlinopsError.shapeMismatch("potrs: the factor is \(factor.rows) × \(factor.columns); expected a square matrix.")
        }
        guard b.rows == factor.rows else {
            throw CurvlinopsError.shapeMismatch(
                "potrs: B has \(b.rows) rows; expected \(factor.rows) to match the \(factor.rows) × \(factor.rows) factor.")
        }
        guard factor.isFinite else {
            throw CurvlinopsError.nonFinite("potrs: the factor contains NaN or infinite entries; expected finite values.")
        }
        guard b.isFinite else {
            throw CurvlinopsError.nonFinite("potrs: B contains NaN or infinite entries; expected finite values.")
        }
        if let i = (0..<factor.rows).first(where: { factor[$0, $0] == 0 }) {
            throw CurvlinopsError.invalidArgument(
                "potrs: factor[\(i), \(i)] = 0, so the factor is singular; expected the Cholesky factor of a positive-definite matrix from potrf.")
        }
        guard factor.rows > 0, b.columns > 0 else { return }
        let n32 = try lapackInteger(factor.rows, "n", routine: "potrs")
        let k32 = try lapackInteger(b.columns, "nrhs", routine: "potrs")
        let ldb = leadingDimension(b.rows)
        let info = factor.withUnsafeBufferPointer { pf in
            b.withUnsafeMutableBufferPointer { pb in
                Scalar.potrs(lower: lower, n: n32, nrhs: k32, a: pf.baseAddress!, lda: leadingDimension(factor.rows),
                             b: pb.baseAddress!, ldb: ldb)
            }
        }
        try checkInfo(info, routine: "potrs")
    }

    /// Overwrites a Cholesky factor with the inverse of the factorised matrix.
    ///
    /// LAPACK writes only the `lower` (or upper) triangle of A⁻¹; this wrapper
    /// copies it to the other triangle, so the result is the full symmetric A⁻¹.
    ///
    /// - Parameters:
    ///   - factor: The Cholesky factor from ``potrf(_:lower:)``, overwritten with A⁻¹.
    ///   - lower: Whether the factor is lower triangular. Default true.
    /// - Throws: ``CurvlinopsError/Kind/lapackFailure(routine:info:)`` when a
    ///   diagonal entry of the factor is zero (A is singular),
    ///   ``CurvlinopsError/Kind/shapeMismatch`` for a non-square factor,
    ///   ``CurvlinopsError/Kind/nonFiniteValue`` when it holds NaN or infinite entries.
    /// - Complexity: 2·n³/3 flops.
    public static func potri<Scalar: LapackScalar>(_ factor: inout Matrix<Scalar>, lower: Bool = true) throws {
        try checkSquareAndFinite(factor, argument: "the factor", routine: "potri")
        let n = factor.rows
        guard n > 0 else { return }
        let n32 = try lapackInteger(n, "n", routine: "potri")
        let info = factor.withUnsafeMutableBufferPointer { pa in
            Scalar.potri(lower: lower, n: n32, a: pa.baseAddress!, lda: leadingDimension(n))
        }
        if info > 0 {
            throw CurvlinopsError(
                .lapackFailure(routine: "potri", info: info),
                "potri: diagonal entry \(info) of the Cholesky factor is zero (info = \(info)); the matrix is singular and has no inverse.")
        }
        try checkInfo(info, routine: "potri")
        factor.symmetrize(fromLower: lower)
    }

    /// Computes the eigenvalues and eigenvectors of a symmetric matrix by the
    /// divide-and-conquer driver `syevd`.
    ///
    /// Only the `lower` (or upper) triangle of A is read, but every entry must
    /// be finite. The eigenvalues come in
    /// ascending order, eigenvector j in column j, so A = Q·diag(λ)·Qᵀ. The sign
    /// of each eigenvector, and the basis inside a repeated eigenvalue, are
    /// whatever LAPACK returns.
    ///
    /// - Parameters:
    ///   - a: The n × n symmetric matrix A.
    ///   - lower: Whether to read the lower triangle. Default true.
    /// - Returns: The eigenvalues λ (ascending) and the orthogonal matrix Q.
    /// - Throws: ``CurvlinopsError/Kind/lapackFailure(routine:info:)`` when the
    ///   algorithm fails to converge, ``CurvlinopsError/Kind/nonFiniteValue``
    ///   for NaN or infinite input, ``CurvlinopsError/Kind/shapeMismatch`` for a
    ///   non-square A.
    /// - Complexity: O(n³) flops; several times faster than `syev` for large n.
    public static func syevd<Scalar: LapackScalar>(
        _ a: Matrix<Scalar>, lower: Bool = true
    ) throws -> (eigenvalues: [Scalar], eigenvectors: Matrix<Scalar>) {
        try checkSquareAndFinite(a, routine: "syevd")
        let n = a.rows
        guard n > 0 else { return ([], a) }
        let n32 = try lapackInteger(n, "n", routine: "syevd")
        var vectors = a
        var values = [Scalar](repeating: 0, count: n)
        let info = vectors.withUnsafeMutableBufferPointer { pa in
            values.withUnsafeMutableBufferPointer { pw in
                Scalar.syevd(vectors: true, lower: lower, n: n32, a: pa.baseAddress!, lda: leadingDimension(n),
                             w: pw.baseAddress!)
            }
        }
        if info > 0 {
            throw CurvlinopsError(
                .lapackFailure(routine: "syevd", info: info),
                "syevd: the divide-and-conquer algorithm failed to converge (info = \(info)); an eigenvalue could not be computed.")
        }
        try checkInfo(info, routine: "syevd")
        return (values, vectors)
    }

    /// Solves A·X = B for a general square A by LU factorisation with partial pivoting (`gesv`).
    ///
    /// - Parameters:
    ///   - a: The n × n matrix A.
    ///   - b: The n × k right-hand sides.
    /// - Returns: X = A⁻¹·B.
    /// - Throws: ``CurvlinopsError/Kind/lapackFailure(routine:info:)`` when A is
    ///   exactly singular, ``CurvlinopsError/Kind/shapeMismatch`` or
    ///   ``CurvlinopsError/Kind/nonFiniteValue`` for bad input.
    /// - Complexity: 2·n³/3 + 2·n²·k flops.
    public static func gesv<Scalar: LapackScalar>(_ a: Matrix<Scalar>, _ b: Matrix<Scalar>) throws -> Matrix<Scalar> {
        try checkSquareAndFinite(a, routine: "gesv")
        guard b.rows == a.rows else {
            throw CurvlinopsError.shapeMismatch("gesv: B has \(b.rows) rows; expected \(a.rows) to match A.")
        }
        guard b.isFinite else {
            throw CurvlinopsError.nonFinite("gesv: B contains NaN or infinite entries; expected finite values.")
        }
        let n = a.rows
        guard n > 0, b.columns > 0 else { return b }
        let n32 = try lapackInteger(n, "n", routine: "gesv")
        let k32 = try lapackInteger(b.columns, "nrhs", routine: "gesv")
        var lu = a
        var x = b
        var pivots = [Int32](repeating: 0, count: n)
        let info = lu.withUnsafeMutableBufferPointer { pa in
            x.withUnsafeMutableBufferPointer { px in
                pivots.withUnsafeMutableBufferPointer { pp in
                    Scalar.gesv(n: n32, nrhs: k32, a: pa.baseAddress!, lda: leadingDimension(n), pivots: pp.baseAddress!,
                                b: px.baseAddress!, ldb: leadingDimension(n))
                }
            }
        }
        if info > 0 {
            throw CurvlinopsError(
                .lapackFailure(routine: "gesv", info: info),
                "gesv: U(\(info), \(info)) of the LU factorisation is exactly zero (info = \(info)); the matrix is singular.")
        }
        try checkInfo(info, routine: "gesv")
        return x
    }

    /// Returns the m × n factor Q with orthonormal columns of the QR
    /// factorisation of an m × n matrix with m ≥ n (`geqrf`, then `orgqr`).
    ///
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when m < n,
    ///   ``CurvlinopsError/Kind/nonFiniteValue`` for NaN or infinite input.
    /// - Complexity: about 4·m·n² flops.
    public static func orthonormalFactor<Scalar: LapackScalar>(ofQR a: Matrix<Scalar>) throws -> Matrix<Scalar> {
        guard a.rows >= a.columns else {
            throw CurvlinopsError.shapeMismatch("geqrf: A is \(a.rows) × \(a.columns); expected at least as many rows as columns.")
        }
        guard a.isFinite else {
            throw CurvlinopsError.nonFinite("geqrf: A contains NaN or infinite entries; expected finite values.")
        }
        guard a.columns > 0 else { return a }
        let m32 = try lapackInteger(a.rows, "m", routine: "geqrf")
        let n32 = try lapackInteger(a.columns, "n", routine: "geqrf")
        var q = a
        var tau = [Scalar](repeating: 0, count: a.columns)
        let factorInfo = q.withUnsafeMutableBufferPointer { pa in
            tau.withUnsafeMutableBufferPointer { pt in
                Scalar.geqrf(m: m32, n: n32, a: pa.baseAddress!, lda: leadingDimension(a.rows), tau: pt.baseAddress!)
            }
        }
        try checkInfo(factorInfo, routine: "geqrf")
        let formInfo = q.withUnsafeMutableBufferPointer { pa in
            tau.withUnsafeBufferPointer { pt in
                Scalar.orgqr(m: m32, n: n32, k: n32, a: pa.baseAddress!, lda: leadingDimension(a.rows), tau: pt.baseAddress!)
            }
        }
        try checkInfo(formInfo, routine: "orgqr")
        return q
    }

    /// Checks that the matrix passed as `argument` is square and has finite
    /// entries (in both triangles, though a routine may read only one).
    static func checkSquareAndFinite<Scalar>(_ a: Matrix<Scalar>, argument: String = "A", routine: String) throws {
        guard a.isSquare else {
            throw CurvlinopsError.shapeMismatch(
                "\(routine): \(argument) is \(a.rows) × \(a.columns); expected a square matrix.")
        }
        guard a.isFinite else {
            throw CurvlinopsError.nonFinite("\(routine): \(argument) contains NaN or infinite entries; expected finite values.")
        }
    }

    /// Throws for a negative `info`, which means the wrapper passed an invalid
    /// argument; positive values are routine-specific and handled by the caller.
    static func checkInfo(_ info: Int32, routine: String) throws {
        if info < 0 {
            throw CurvlinopsError(
                .lapackFailure(routine: routine, info: info),
                "\(routine): argument \(-info) had an illegal value (info = \(info)); this is a bug in Curvlinops, please report it.")
        }
        if info > 0 {
            throw CurvlinopsError(
                .lapackFailure(routine: routine, info: info),
                "\(routine): failed with info = \(info).")
        }
    }
}
