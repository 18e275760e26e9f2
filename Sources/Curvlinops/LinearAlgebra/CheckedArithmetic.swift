// Overflow-checked size arithmetic for sizes that come from callers or from
// files: a shape, a sample count or a header field may be any Int, and Swift
// traps on an overflowing `*` or `+`.

/// Returns the number of entries of a tensor of this shape, or `nil` when it
/// exceeds `Int.max`.
///
/// A shape with a size 0 has 0 entries, whatever its other sizes. Negative
/// sizes are the caller's to reject; their product is returned as computed.
func checkedElementCount(_ shape: [Int]) -> Int? {
    if shape.contains(0) {
        return 0
    }
    var count = 1
    for size in shape {
        let (product, overflow) = count.multipliedReportingOverflow(by: size)
        guard !overflow else { return nil }
        count = product
    }
    return count
}

/// Returns the product of two sizes, or `nil` when it exceeds `Int.max`.
func checkedProduct(_ a: Int, _ b: Int) -> Int? {
    let (product, overflow) = a.multipliedReportingOverflow(by: b)
    return overflow ? nil : product
}

/// Returns the sum of two sizes, or `nil` when it exceeds `Int.max`.
func checkedSum(_ a: Int, _ b: Int) -> Int? {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? nil : sum
}

/// Returns the number of bytes of `count` values of `Scalar`, or `nil` when it exceeds `Int.max`.
func checkedByteCount<Scalar>(_ count: Int, of _: Scalar.Type) -> Int? {
    checkedProduct(count, MemoryLayout<Scalar>.stride)
}
