/// A failure of the benchmark itself: unreadable data, a workload that cannot
/// run, a file that cannot be written. The message states what failed and why.
public struct BenchError: Error, CustomStringConvertible {
    /// The description of the failure, with the values involved.
    public let message: String

    /// Creates an error with its message.
    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
