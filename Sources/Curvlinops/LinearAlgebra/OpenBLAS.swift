import CLapack

/// The OpenBLAS settings that affect every BLAS and LAPACK call of the process.
///
/// The library never changes these settings itself. OpenBLAS runs each call
/// on a thread pool whose size is process-wide. For the small gemms of many
/// curvature products (dimensions below a few hundred) one thread is often
/// faster. On a machine shared with other busy processes, several OpenBLAS
/// threads can spend most of their time yielding to each other.
public enum OpenBLAS {
    /// The build configuration OpenBLAS reports, such as its version and kernel.
    public static var configuration: String {
        String(cString: openblas_get_config())
    }

    /// The number of threads OpenBLAS uses for one call.
    public static var threadCount: Int {
        Int(openblas_get_num_threads())
    }

    /// Sets the number of threads OpenBLAS uses for every later call in the process.
    ///
    /// - Parameter count: The thread count, at least 1.
    /// - Throws: ``CurvlinopsError/Kind/invalidArgument`` when `count` is below 1
    ///   or above `Int32.max`.
    public static func setThreadCount(_ count: Int) throws {
        guard count >= 1, let count32 = Int32(exactly: count) else {
            throw CurvlinopsError.invalidArgument(
                "OpenBLAS.setThreadCount: count = \(count); expected an integer from 1 to \(Int32.max).")
        }
        openblas_set_num_threads(count32)
    }
}
