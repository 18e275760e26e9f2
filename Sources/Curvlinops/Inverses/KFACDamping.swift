/// The damping that ``KFACInverseLinearOperator`` adds to KFAC before inverting it.
///
/// For a block with input factor A (n × n) and gradient factor G (m × m):
///
/// ```
/// scalar(λ):              (G + λI)⁻¹ ⊗ (A + λI)⁻¹
/// perFactor(δ_A, δ_G):    (G + δ_G I)⁻¹ ⊗ (A + δ_A I)⁻¹
/// heuristic(λ, minimum):  π = √((tr A / n) / (tr G / m)),
///                         δ_A = max(π·√λ, minimum),  δ_G = max(√λ / π, minimum)
/// exact(λ):               (G ⊗ A + λI)⁻¹ = (Q_G ⊗ Q_A)·diag(1 / (λ_G[i]·λ_A[j] + λ))·(Q_G ⊗ Q_A)ᵀ
/// ```
///
/// A bias block uses (G + δ_G I)⁻¹, or (G + λI)⁻¹ under exact damping. The
/// heuristic is Martens & Grosse (2015), section 6.3; it falls back to (λ, λ)
/// for a layer without weight, when tr A < 0 or tr G ≤ 0, and when it would
/// produce an infinite or NaN damping (for example tr A = 0, which gives π = 0).
/// EKFAC accepts `exact` only, which damps its corrected eigenvalues: 1/(Λ + λ).
///
/// Every value must be finite and ≥ 0. See `docs/damping.md` for when to use which.
public enum KFACDamping<Scalar: LapackScalar>: Sendable, Equatable {
    /// The same damping λ added to both factors.
    case scalar(Scalar)

    /// Separate dampings for the input factor A and the gradient factor G.
    case perFactor(input: Scalar, gradient: Scalar)

    /// Martens and Grosse's factored Tikhonov damping for λ, with each factor's damping at least `minimum`.
    ///
    /// `minimum` defaults to 1e-8, as in curvlinops.
    case heuristic(Scalar, minimum: Scalar = 1e-8)

    /// The damping λ added to the Kronecker product itself, inverted through the factors' eigendecompositions.
    case exact(Scalar)

    /// Whether this is exact damping.
    public var isExact: Bool {
        if case .exact = self { return true }
        return false
    }

    /// Checks that every value is finite and ≥ 0.
    func validate(owner: String) throws {
        let values: [(String, Scalar)]
        switch self {
        case let .scalar(value): values = [("damping", value)]
        case let .perFactor(input, gradient): values = [("input damping", input), ("gradient damping", gradient)]
        case let .heuristic(value, minimum): values = [("damping", value), ("minimum damping", minimum)]
        case let .exact(value): values = [("damping", value)]
        }
        for (name, value) in values where !(value.isFinite && value >= 0) {
            throw CurvlinopsError.invalidArgument("\(owner): \(name) = \(value); expected a finite number ≥ 0.")
        }
    }
}

/// The dampings of one layer's two factors and why they differ from the
/// requested ones, if they do.
struct FactorDamping<Scalar: LapackScalar>: Sendable, Equatable {
    let input: Scalar
    let gradient: Scalar
    /// The reason the heuristic fell back to (λ, λ), or `nil` when it did not.
    let fallbackReason: String?
}

extension KFACDamping {
    /// Returns the dampings of a layer's input and gradient factors in the non-exact modes.
    ///
    /// - Parameters:
    ///   - input: The layer's input factor, or `nil` for a layer without weight.
    ///   - gradient: The layer's gradient factor.
    func factorDamping(input: Matrix<Scalar>?, gradient: Matrix<Scalar>) -> FactorDamping<Scalar> {
        switch self {
        case let .scalar(value), let .exact(value):
            return FactorDamping(input: value, gradient: value, fallbackReason: nil)
        case let .perFactor(input, gradient):
            return FactorDamping(input: input, gradient: gradient, fallbackReason: nil)
        case let .heuristic(value, minimum):
            guard let input else {
                return FactorDamping(input: value, gradient: value, fallbackReason: nil)
            }
            return Self.heuristicDamping(value, minimum: minimum, input: input, gradient: gradient)
        }
    }

    private static func heuristicDamping(
        _ damping: Scalar, minimum: Scalar, input: Matrix<Scalar>, gradient: Matrix<Scalar>
    ) -> FactorDamping<Scalar> {
        let inputMean = matrixTrace(input) / Scalar(input.rows)
        let gradientMean = matrixTrace(gradient) / Scalar(gradient.rows)
        guard inputMean >= 0, gradientMean > 0 else {
            return FactorDamping(
                input: damping, gradient: damping,
                fallbackReason: "tr(A)/dim A = \(inputMean) and tr(G)/dim G = \(gradientMean); the heuristic needs tr(A) ≥ 0 and tr(G) > 0")
        }

        let pi = (inputMean / gradientMean).squareRoot()
        let root = damping.squareRoot()
        let inputDamping = pi * root
        let gradientDamping = root / pi
        guard inputDamping.isFinite, gradientDamping.isFinite else {
            return FactorDamping(
                input: damping, gradient: damping,
                fallbackReason: "π = \(pi) gives the damping pair (\(inputDamping), \(gradientDamping)), which is not finite")
        }
        return FactorDamping(
            input: max(inputDamping, minimum), gradient: max(gradientDamping, minimum), fallbackReason: nil)
    }
}
