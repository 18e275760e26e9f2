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
