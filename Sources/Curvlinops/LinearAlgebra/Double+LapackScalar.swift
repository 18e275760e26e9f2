import CLapack

/// `Double` dispatches to the double-precision (`d`) routines.
extension Double: LapackScalar {
    /// `"float64"`.
    public static var precisionName: String { "float64" }

    /// Calls `cblas_dgemm`.
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int32, n: Int32, k: Int32,
        alpha: Double, a: UnsafePointer<Double>, lda: Int32,
        b: UnsafePointer<Double>, ldb: Int32,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int32
    ) {
        cblas_dgemm(
            CblasColMajor, cblasTranspose(transposeA), cblasTranspose(transposeB),
            m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    /// Calls `cblas_dgemv`.
    public static func gemv(
        transpose: Bool, m: Int32, n: Int32, alpha: Double,
        a: UnsafePointer<Double>, lda: Int32, x: UnsafePointer<Double>, incx: Int32,
        beta: Double, y: UnsafeMutablePointer<Double>, incy: Int32
    ) {
        cblas_dgemv(CblasColMajor, cblasTranspose(transpose), m, n, alpha, a, lda, x, incx, beta, y, incy)
    }

    /// Calls `cblas_dsyrk`.
    public static func syrk(
        lower: Bool, transpose: Bool, n: Int32, k: Int32, alpha: Double,
        a: UnsafePointer<Double>, lda: Int32, beta: Double,
        c: UnsafeMutablePointer<Double>, ldc: Int32
    ) {
        cblas_dsyrk(CblasColMajor, cblasTriangle(lower), cblasTranspose(transpose), n, k, alpha, a, lda, beta, c, ldc)
    }

    /// Calls `cblas_dtrsm`.
    public static func trsm(
        leftSide: Bool, lower: Bool, transpose: Bool, unitDiagonal: Bool,
        m: Int32, n: Int32, alpha: Double, a: UnsafePointer<Double>, lda: Int32,
        b: UnsafeMutablePointer<Double>, ldb: Int32
    ) {
        cblas_dtrsm(
            CblasColMajor, leftSide ? CblasLeft : CblasRight, cblasTriangle(lower),
            cblasTranspose(transpose), unitDiagonal ? CblasUnit : CblasNonUnit,
            m, n, alpha, a, lda, b, ldb)
    }

    /// Calls `cblas_ddot`.
    public static func dot(n: Int32, x: UnsafePointer<Double>, incx: Int32, y: UnsafePointer<Double>, incy: Int32) -> Double {
        cblas_ddot(n, x, incx, y, incy)
    }

    /// Calls `cblas_daxpy`.
    public static func axpy(n: Int32, alpha: Double, x: UnsafePointer<Double>, incx: Int32, y: UnsafeMutablePointer<Double>, incy: Int32) {
        cblas_daxpy(n, alpha, x, incx, y, incy)
    }

    /// Calls `cblas_dnrm2`.
    public static func nrm2(n: Int32, x: UnsafePointer<Double>, incx: Int32) -> Double {
        cblas_dnrm2(n, x, incx)
    }

    /// Calls `cblas_dscal`.
    public static func scal(n: Int32, alpha: Double, x: UnsafeMutablePointer<Double>, incx: Int32) {
        cblas_dscal(n, alpha, x, incx)
    }

    /// Calls `LAPACKE_dpotrf`.
    public static func potrf(lower: Bool, n: Int32, a: UnsafeMutablePointer<Double>, lda: Int32) -> Int32 {
        LAPACKE_dpotrf(LAPACK_COL_MAJOR, lapackTriangle(lower), n, a, lda)
    }

    /// Calls `LAPACKE_dpotrs`.
    public static func potrs(
        lower: Bool, n: Int32, nrhs: Int32, a: UnsafePointer<Double>, lda: Int32,
        b: UnsafeMutablePointer<Double>, ldb: Int32
    ) -> Int32 {
        LAPACKE_dpotrs(LAPACK_COL_MAJOR, lapackTriangle(lower), n, nrhs, a, lda, b, ldb)
    }

    /// Calls `LAPACKE_dpotri`.
    public static func potri(lower: Bool, n: Int32, a: UnsafeMutablePointer<Double>, lda: Int32) -> Int32 {
        LAPACKE_dpotri(LAPACK_COL_MAJOR, lapackTriangle(lower), n, a, lda)
    }

    /// Calls `LAPACKE_dsyevd`.
    public static func syevd(
        vectors: Bool, lower: Bool, n: Int32, a: UnsafeMutablePointer<Double>, lda: Int32,
        w: UnsafeMutablePointer<Double>
    ) -> Int32 {
        LAPACKE_dsyevd(LAPACK_COL_MAJOR, vectors ? CChar(UInt8(ascii: "V")) : CChar(UInt8(ascii: "N")), lapackTriangle(lower), n, a, lda, w)
    }

    /// Calls `LAPACKE_dgesv`.
    public static func gesv(
        n: Int32, nrhs: Int32, a: UnsafeMutablePointer<Double>, lda: Int32,
        pivots: UnsafeMutablePointer<Int32>, b: UnsafeMutablePointer<Double>, ldb: Int32
    ) -> Int32 {
        LAPACKE_dgesv(LAPACK_COL_MAJOR, n, nrhs, a, lda, pivots, b, ldb)
    }

    /// Calls `LAPACKE_dgeqrf`.
    public static func geqrf(
        m: Int32, n: Int32, a: UnsafeMutablePointer<Double>, lda: Int32,
        tau: UnsafeMutablePointer<Double>
    ) -> Int32 {
        LAPACKE_dgeqrf(LAPACK_COL_MAJOR, m, n, a, lda, tau)
    }

    /// Calls `LAPACKE_dorgqr`.
    public static func orgqr(
        m: Int32, n: Int32, k: Int32, a: UnsafeMutablePointer<Double>, lda: Int32,
        tau: UnsafePointer<Double>
    ) -> Int32 {
        LAPACKE_dorgqr(LAPACK_COL_MAJOR, m, n, k, a, lda, tau)
    }
}
