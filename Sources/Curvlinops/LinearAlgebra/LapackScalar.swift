/// A floating-point type with BLAS and LAPACK routines: `Float` (the `s`
/// routines) and `Double` (the `d` routines).
///
/// The requirements are the raw routines, column-major, with 32-bit LAPACK
/// integers (the LP64 interface). They are public so that code generic over the
/// scalar can reach them, but most callers use the checked wrappers in ``BLAS``
/// and ``LAPACK``, or the methods of ``Matrix``, which validate shapes and turn a
/// non-zero `info` into a ``CurvlinopsError``.
///
/// Pointers must address at least as many elements as the dimensions and
/// leading dimensions imply; the routines do not check this.
public protocol LapackScalar: BinaryFloatingPoint, Sendable, Codable
where Self.RawSignificand: FixedWidthInteger {
    /// The name of the precision as used in reports and file headers: `"float32"` or `"float64"`.
    static var precisionName: String { get }

    /// C ← α·op(A)·op(B) + β·C, with op(A) of size m × k and op(B) of size k × n.
    static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int32, n: Int32, k: Int32,
        alpha: Self, a: UnsafePointer<Self>, lda: Int32,
        b: UnsafePointer<Self>, ldb: Int32,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int32)

    /// y ← α·op(A)·x + β·y, with A of size m × n.
    static func gemv(
        transpose: Bool, m: Int32, n: Int32, alpha: Self,
        a: UnsafePointer<Self>, lda: Int32, x: UnsafePointer<Self>, incx: Int32,
        beta: Self, y: UnsafeMutablePointer<Self>, incy: Int32)

    /// C ← α·op(A)·op(A)ᵀ + β·C on the `lower` or upper triangle of the n × n matrix C.
    ///
    /// op(A) is n × k: A itself when `transpose` is false, Aᵀ (A stored k × n) otherwise.
    static func syrk(
        lower: Bool, transpose: Bool, n: Int32, k: Int32, alpha: Self,
        a: UnsafePointer<Self>, lda: Int32, beta: Self,
        c: UnsafeMutablePointer<Self>, ldc: Int32)

    /// B ← α·op(A)⁻¹·B (`leftSide`) or B ← α·B·op(A)⁻¹, with A triangular and B of size m × n.
    static func trsm(
        leftSide: Bool, lower: Bool, transpose: Bool, unitDiagonal: Bool,
        m: Int32, n: Int32, alpha: Self, a: UnsafePointer<Self>, lda: Int32,
        b: UnsafeMutablePointer<Self>, ldb: Int32)

    /// Returns xᵀy over n elements.
    static func dot(n: Int32, x: UnsafePointer<Self>, incx: Int32, y: UnsafePointer<Self>, incy: Int32) -> Self

    /// y ← α·x + y over n elements.
    static func axpy(n: Int32, alpha: Self, x: UnsafePointer<Self>, incx: Int32, y: UnsafeMutablePointer<Self>, incy: Int32)

    /// Returns the Euclidean norm of n elements, computed without undue overflow.
    static func nrm2(n: Int32, x: UnsafePointer<Self>, incx: Int32) -> Self

    /// x ← α·x over n elements.
    static func scal(n: Int32, alpha: Self, x: UnsafeMutablePointer<Self>, incx: Int32)

    /// Cholesky factorisation of a symmetric positive-definite n × n matrix, in place; returns `info`.
    static func potrf(lower: Bool, n: Int32, a: UnsafeMutablePointer<Self>, lda: Int32) -> Int32

    /// Solves A·X = B from a Cholesky factor computed by `potrf`; returns `info`.
    static func potrs(
        lower: Bool, n: Int32, nrhs: Int32, a: UnsafePointer<Self>, lda: Int32,
        b: UnsafeMutablePointer<Self>, ldb: Int32) -> Int32

    /// Overwrites a Cholesky factor with the matching triangle of A⁻¹; returns `info`.
    static func potri(lower: Bool, n: Int32, a: UnsafeMutablePointer<Self>, lda: Int32) -> Int32

    /// Eigenvalues (ascending, into `w`) and, when `vectors` is true, eigenvectors
    /// (into the columns of `a`) of a symmetric n × n matrix by the
    /// divide-and-conquer driver; returns `info`.
    static func syevd(
        vectors: Bool, lower: Bool, n: Int32, a: UnsafeMutablePointer<Self>, lda: Int32,
        w: UnsafeMutablePointer<Self>) -> Int32

    /// Solves A·X = B for a general n × n matrix by LU with partial pivoting; returns `info`.
    static func gesv(
        n: Int32, nrhs: Int32, a: UnsafeMutablePointer<Self>, lda: Int32,
        pivots: UnsafeMutablePointer<Int32>, b: UnsafeMutablePointer<Self>, ldb: Int32) -> Int32

    /// QR factorisation of an m × n matrix in place (Householder form); returns `info`.
    static func geqrf(
        m: Int32, n: Int32, a: UnsafeMutablePointer<Self>, lda: Int32,
        tau: UnsafeMutablePointer<Self>) -> Int32

    /// Forms the m × n matrix Q with orthonormal columns from `geqrf`'s output; returns `info`.
    static func orgqr(
        m: Int32, n: Int32, k: Int32, a: UnsafeMutablePointer<Self>, lda: Int32,
        tau: UnsafePointer<Self>) -> Int32
}
