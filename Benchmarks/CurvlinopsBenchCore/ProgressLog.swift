/// Progress lines of a long run, each prefixed with the seconds since the log started.
///
/// The benchmark sends them to standard error, so that standard output holds
/// only the results; the tests pass a sink that drops them.
public struct ProgressLog: Sendable {
    private let start: ContinuousClock.Instant
    private let sink: @Sendable (String) -> Void

    /// Creates a log whose clock starts now.
    ///
    /// - Parameter sink: Receives each finished line, without a newline.
    ///   It may be called from any thread.
    public init(sink: @escaping @Sendable (String) -> Void) {
        start = ContinuousClock.now
        self.sink = sink
    }

    /// A log that drops every line.
    public static var silent: ProgressLog { ProgressLog { _ in } }

    /// Sends `message` with the elapsed time, as `[  12.3 s] message`.
    public func callAsFunction(_ message: String) {
        let elapsed = seconds(ContinuousClock.now - start)
        sink("[" + formatFixed(elapsed, width: 6, decimals: 1) + " s] " + message)
    }
}

/// Converts a duration to seconds.
func seconds(_ duration: Duration) -> Double {
    let parts = duration.components
    return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
}

/// Runs `body` and returns its result with the wall time it took, in seconds.
func timed<T>(_ body: () throws -> T) rethrows -> (result: T, seconds: Double) {
    let start = ContinuousClock.now
    let result = try body()
    return (result, seconds(ContinuousClock.now - start))
}
