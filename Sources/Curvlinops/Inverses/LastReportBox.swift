import Foundation

/// A lock-protected slot for the report of a solver's last apply.
///
/// The inverse operators are `Sendable` value types whose `apply` may run on
/// several threads at once. The report is their one piece of mutable state, so
/// it lives in this shared reference behind a lock. Copies of an operator share
/// the box, and with concurrent applies the report is that of whichever apply
/// stored last.
final class LastReportBox: @unchecked Sendable {
    // `@unchecked` is sound because `report` is only read and written while
    // `lock` is held.
    private let lock = NSLock()
    private var report: SolverReport?

    init() {}

    /// The stored report, or `nil` before the first apply.
    var value: SolverReport? {
        lock.lock()
        defer { lock.unlock() }
        return report
    }

    /// Replaces the stored report.
    func store(_ newReport: SolverReport) {
        lock.lock()
        defer { lock.unlock() }
        report = newReport
    }
}
