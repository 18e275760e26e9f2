/// The record of how ``KFACInverseLinearOperator`` factorised the damped
/// Kronecker factors: per layer, the damping used, fallbacks, precision
/// retries and, where known, the smallest damped eigenvalue.
public struct KFACInverseReport<Scalar: LapackScalar>: Sendable, Equatable {
    /// The damping applied to one layer.
    public enum AppliedDamping: Sendable, Equatable {
        /// δ_A added to the input factor and δ_G to the gradient factor (scalar,
        /// per-factor and heuristic damping). A layer without weight has no input
        /// factor; its `input` value is reported as the mode defines it but unused.
        case perFactor(input: Scalar, gradient: Scalar)

        /// λ added to the Kronecker product (exact damping, and EKFAC).
        case exact(Scalar)
    }

    /// The report of one layer.
    public struct Layer: Sendable, Equatable {
        /// The layer's name.
        public let name: String

        /// The damping actually used.
        public let damping: AppliedDamping

        /// The reason heuristic damping fell back to (λ, λ) for this layer, or `nil`
        /// when it did not and in the other modes. A layer without weight uses (λ, λ) by
        /// definition, which is not reported as a fallback.
        public let fallbackReason: String?

        /// Whether the Cholesky factorisation of the damped input factor failed in
        /// `Float` and was redone in `Double`.
        public let inputRetriedInDoublePrecision: Bool

        /// Whether the Cholesky factorisation of the damped gradient factor failed
        /// in `Float` and was redone in `Double`.
        public let gradientRetriedInDoublePrecision: Bool

        /// The smallest eigenvalue of the damped block, min (λ_G[i]·λ_A[j] + λ) or
        /// min (Λ + λ), under exact damping and for EKFAC; `nil` for the
        /// Cholesky-based modes, which do not compute eigenvalues.
        public let smallestDampedEigenvalue: Scalar?

        /// Whether heuristic damping fell back to (λ, λ).
        public var usedFallbackDamping: Bool { fallbackReason != nil }
    }

    /// One entry per layer, in the operator's layer order.
    public let layers: [Layer]

    /// Returns the report of the layer with the given name, or `nil` when there is none.
    public subscript(layer name: String) -> Layer? {
        layers.first { $0.name == name }
    }

    /// Whether any factor was retried in double precision.
    public var retriedInDoublePrecision: Bool {
        layers.contains { $0.inputRetriedInDoublePrecision || $0.gradientRetriedInDoublePrecision }
    }
}
