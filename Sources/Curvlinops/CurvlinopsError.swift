import Foundation

/// The one error type the library throws.
///
/// Every failure a caller can cause or meet is reported as a `CurvlinopsError`:
/// invalid arguments, shape mismatches, non-finite input, LAPACK failures,
/// solver breakdowns and unreadable state. The ``kind`` lets code react to a
/// class of failure; the ``message`` is written for a person and names the
/// argument or object concerned, the value met and what was expected.
///
/// Internal invariants that no input can break are checked with
/// `precondition` instead and are not reported through this type.
public struct CurvlinopsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The class of a failure.
    public enum Kind: Sendable, Equatable {
        /// An argument has a value outside its documented domain.
        case invalidArgument
        /// Two shapes that must agree do not.
        case shapeMismatch
        /// An input holds NaN or an infinity where finite values are required.
        case nonFiniteValue
        /// A LAPACK routine returned a non-zero `info`.
        case lapackFailure(routine: String, info: Int32)
        /// A matrix that must be positive definite is not.
        case notPositiveDefinite
        /// An iteration broke down or diverged, a computation overflowed, or
        /// an operator returned NaN or infinite values for finite input.
        case numericalBreakdown
        /// Saved state could not be read or does not fit the object it is loaded into.
        case invalidState
        /// A feature or configuration that this library does not support.
        case unsupported
    }

    /// The class of the failure.
    public let kind: Kind

    /// A sentence or two for a person: what failed, on which value, and what to do.
    public let message: String

    /// Creates an error of the given kind with a message for a person.
    ///
    /// - Parameters:
    ///   - kind: The class of the failure.
    ///   - message: What failed, on which value, and what to do.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The ``message``.
    public var description: String { message }
}

extension CurvlinopsError {
    static func invalidArgument(_ message: String) -> CurvlinopsError {
        CurvlinopsError(.invalidArgument, message)
    }

    static func shapeMismatch(_ message: String) -> CurvlinopsError {
        CurvlinopsError(.shapeMismatch, message)
    }

    static func nonFinite(_ message: String) -> CurvlinopsError {
        CurvlinopsError(.nonFiniteValue, message)
    }
}

extension CurvlinopsError: LocalizedError {
    /// The ``message``, so that `localizedDescription` shows it.
    public var errorDescription: String? { message }
}
