/// Converts a dimension to the 32-bit integer LAPACK takes, or throws when it
/// does not fit (the LP64 interface cannot address more).
@inline(__always)
func lapackInteger(_ value: Int, _ name: String, routine: String) throws -> Int32 {
    guard let result = Int32(exactly: value) else {
        throw CurvlinopsError(
            .unsupported,
            "\(routine): \(name) = \(value) exceeds the 32-bit LAPACK integer range (at most \(Int32.max)).")
    }
    return result
}

/// A leading dimension for LAPACK, which requires at least 1 even for empty matrices.
@inline(__always)
func leadingDimension(_ rows: Int) -> Int32 {
    Int32(truncatingIfNeeded: max(1, rows))
}

/// Calls `body` with consecutive (offset, length) pieces that cover `0..<count`,
/// each short enough for a 32-bit BLAS length.
///
/// Level-1 BLAS routines take their length as a 32-bit integer, so an array of
/// more than `Int32.max` entries is processed in pieces instead of having its
/// length truncated.
@inline(__always)
func forEachBLASChunk(count: Int, _ body: (_ offset: Int, _ length: Int32) -> Void) {
    var offset = 0
    while offset < count {
        let length = min(count - offset, Int(Int32.max))
        body(offset, Int32(length))
        offset += length
    }
}
