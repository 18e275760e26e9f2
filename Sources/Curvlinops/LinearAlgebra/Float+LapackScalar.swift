import CLapack

/// `Float` dispatches to the single-precision (`s`) routines.
extension Float: LapackScalar {
    /// `"float32"`.
    public static var precisionName: String { "float32" }

    /// Calls `cblas_sgemm`.
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int32, n: Int32, k: Int32,
        alpha: Float, a: UnsafePointer<Float>, lda: Int32,
        b: UnsafePointer<Float>, ldb: Int32,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int32
    ) {
        cblas_sgemm(
            CblasColMajor, cblasTranspose(transposeA), cblasTranspose(transposeB),
            m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    /// Calls `cblas_sgemv`.
    public static func gemv(
        transpose: Bool, m: Int32, n: Int32, alpha: Float,
        a: UnsafePointer<Float>, lda: Int32, x: UnsafePointer<Float>, incx: Int32,
        beta: Float, y: UnsafeMutablePointer<Float>, incy: Int32
    ) {
        cblas_sgemv(CblasColMajor, cblasTranspose(transpose), m, n, alpha, a, lda, x, incx, beta, y, incy)
    }

    /// Calls `cblas_ssyrk`.
    public static func syrk(
        lower: Bool, transpose: Bool, n: Int32, k: Int32, alpha: Float,
        a: UnsafePointer<Float>, lda: Int32, beta: Float,
        c: UnsafeMutablePointer<Float>, ldc: Int32
    ) {
        cblas_ssyrk(CblasColMajor, cblasTriangle(lower), cblasTranspose(transpose), n, k, alpha, a, lda, beta, c, ldc)
    }

    /// Calls `cblas_strsm`.
    public static func trsm(
        leftSide: Bool, lower: Bool, transpose: Bool, unitDiagonal: Bool,
        m: Int32, n: Int32, alpha: Float, a: UnsafePointer<Float>, lda: Int32,
        b: UnsafeMutablePointer<Float>, ldb: Int32
    ) {
        cblas_strsm(
            CblasColMajor, leftSide ? CblasLeft : CblasRight, cblasTriangle(lower),
            cblasTranspose(transpose), unitDiagonal ? CblasUnit : CblasNonUnit,
            m, n, alpha, a, lda, b, ldb)
    }

    /// Calls `cblas_sdot`.
    public static func dot(n: Int32, x: UnsafePointer<Float>, incx: Int32, y: UnsafePointer<Float>, incy: Int32) -> Float {
        cblas_sdot(n, x, incx, y, incy)
    }

    /// Calls `cblas_saxpy`.
    public static func axpy(n: Int32, alpha: Float, x: UnsafePointer<Float>, incx: Int32, y: UnsafeMutablePointer<Float>, incy: Int32) {
        cblas_saxpy(n, alpha, x, incx, y, incy)
    }

    /// Calls `cblas_snrm2`.
    public static func nrm2(n: Int32, x: UnsafePointer<Float>, incx: Int32) -> Float {
        cblas_snrm2(n, x, incx)
    }

    /// Calls `cblas_sscal`.
    public static func scal(n: Int32, alpha: Float, x: UnsafeMutablePointer<Float>, incx: Int32) {
        cblas_sscal(n, alpha, x, incx)
    }

    /// Calls `LAPACKE_spotrf`.
    public static func potrf(lower: Bool, n: Int32, a: UnsafeMutablePointer<Float>, lda: Int32) -> Int32 {
        LAPACKE_spotrf(LAPACK_COL_MAJOR, lapackTriangle(lower), n, a, lda)
    }

    /// Calls `LAPACKE_spotrs`.
    public static func potrs(
        lower: Bool, n: Int32, nrhs: Int32, a: UnsafePointer<Float>, lda: Int32,
        b: UnsafeMutablePointer<Float>, ldb: Int32
    ) -> Int32 {
        LAPACKE_spotrs(LAPACK_COL_MAJOR, lapackTriangle(lower), n, nrhs, a, lda, b, ldb)
    }

    /// Calls `LAPACKE_spotri`.
    public static func potri(lower: Bool, n: Int32, a: UnsafeMutablePointer<Float>, lda: Int32) -> Int32 {
        LAPACKE_spotri(LAPACK_COL_MAJOR, lapackTriangle(lower), n, a, lda)
    }

    /// Calls `LAPACKE_ssyevd`.
    public static func syevd(
        vectors: Bool, lower: Bool, n: Int32, a: UnsafeMutablePointer<Float>, lda: Int32,
        w: UnsafeMutablePointer<Float>
    ) -> Int32 {
        LAPACKE_ssyevd(LAPACK_COL_MAJOR, vectors ? CChar(UInt8(ascii: "V")) : CChar(UInt8(ascii: "N")), lapackTriangle(lower), n, a, lda, w)
    }

    /// Calls `LAPACKE_sgesv`.
    public static func gesv(
        n: Int32, nrhs: Int32, a: UnsafeMutablePointer<Float>, lda: Int32,
        pivots: UnsafeMutablePointer<Int32>, b: UnsafeMutablePointer<Float>, ldb: Int32
    ) -> Int32 {
        LAPACKE_sgesv(LAPACK_COL_MAJOR, n, nrhs, a, lda, pivots, b, ldb)
    }

    /// Calls `LAPACKE_sgeqrf`.
    public static func geqrf(
        m: Int32, n: Int32, a: UnsafeMutablePointer<Float>, lda: Int32,
        tau: UnsafeMutablePointer<Float>
    ) -> Int32 {
        LAPACKE_sgeqrf(LAPACK_COL_MAJOR, m, n, a, lda, tau)
    }

    /// Calls `LAPACKE_sorgqr`.
    public static func orgqr(
        m: Int32, n: Int32, k: Int32, a: UnsafeMutablePointer<Float>, lda: Int32,
        tau: UnsafePointer<Float>
    ) -> Int32 {
        LAPACKE_sorgqr(LAPACK_COL_MAJOR, m, n, k, a, lda, tau)
    }
}
