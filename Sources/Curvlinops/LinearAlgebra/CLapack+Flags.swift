import CLapack

// Translations from the Bool flags of `LapackScalar` to the enums and
// characters that CBLAS and LAPACKE expect.

@inline(__always)
func cblasTranspose(_ transpose: Bool) -> CBLAS_TRANSPOSE {
    transpose ? CblasTrans : CblasNoTrans
}

@inline(__always)
func cblasTriangle(_ lower: Bool) -> CBLAS_UPLO {
    lower ? CblasLower : CblasUpper
}

@inline(__always)
func lapackTriangle(_ lower: Bool) -> CChar {
    lower ? CChar(UInt8(ascii: "L")) : CChar(UInt8(ascii: "U"))
}
