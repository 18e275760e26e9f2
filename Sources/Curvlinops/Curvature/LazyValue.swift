import Foundation

/// A value computed on first request by a closure, exactly once, however many
/// threads request it at the same time.
///
/// The lock is held while the closure runs, so concurrent callers wait for the
/// one computation and then share its result. When the closure throws, nothing
/// is stored, every waiting caller retries in turn, and the error reaches the
/// caller whose attempt failed. After a successful computation the closure is
/// released, together with everything it captured (a model, data).
///
/// The closure must not request the same `LazyValue` again: the lock is not
/// recursive, so that would deadlock.
///
/// Thread safety: every stored property is read and written under `lock`,
/// which is why the class can be `@unchecked Sendable`.
final class LazyValue<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var compute: (@Sendable () throws -> Value)?
    private var stored: Value?
    private var successfulComputations = 0

    /// Creates a value that `compute` produces on first request.
    init(_ compute: @escaping @Sendable () throws -> Value) {
        self.compute = compute
    }

    /// Creates a value that is known already.
    init(value: Value) {
        self.stored = value
    }

    /// Returns the value, computing it first if no computation has succeeded yet.
    ///
    /// - Throws: Whatever the closure throws; the next request tries again.
    func value() throws -> Value {
        lock.lock()
        defer { lock.unlock() }
        if let stored {
            return stored
        }
        guard let compute else {
            preconditionFailure("LazyValue holds neither a value nor a closure")
        }
        let result = try compute()
        stored = result
        self.compute = nil
        successfulComputations += 1
        return result
    }

    /// The value if it has been computed or filled, without computing it.
    var valueIfPresent: Value? {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    /// Stores `value` unless a value is present already.
    ///
    /// - Returns: Whether `value` was stored.
    @discardableResult
    func fill(with value: Value) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard stored == nil else { return false }
        stored = value
        compute = nil
        return true
    }

    /// How many times the closure ran to completion: 0 or 1.
    var computationCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return successfulComputations
    }
}

/// A value that several threads read and replace, each access under a lock.
///
/// Thread safety: `stored` is only touched under `lock`.
final class LockedValue<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) {
        self.stored = value
    }

    /// The current value.
    var value: Value {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    /// Replaces the value.
    func set(_ value: Value) {
        lock.lock()
        defer { lock.unlock() }
        stored = value
    }

    /// Runs `body` on the value under the lock and returns its result.
    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&stored)
    }
}
