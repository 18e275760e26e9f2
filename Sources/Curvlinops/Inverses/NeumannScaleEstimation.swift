/// Settings of the power iteration that chooses the scale α of a
/// ``NeumannInverseLinearOperator``.
///
/// **The estimate.** With M = P·A (M = A without preconditioner) and a fixed
/// pseudo-random unit start vector v₀, the iteration computes
///
/// ```
/// for i in 1 ... iterations:  w = M·vᵢ₋₁;  λ̂ = ‖w‖;  vᵢ = w / λ̂
/// ```
///
/// and the scale is α = 1 / (`safetyFactor` · λ̂). The start vector has entries
/// uniform in [−1, 1) from a SplitMix64 generator seeded with `seed`, so the
/// estimate, and with it the operator, is reproducible.
///
/// **Why the margin.** The series converges when α·λmax < 2, that is when
/// λ̂ > λmax / (2·`safetyFactor`). For symmetric positive-semidefinite M
/// (no preconditioner and a symmetric positive-semidefinite A, the usual
/// curvature case) λ̂ never exceeds λmax, because ‖M·v‖ ≤ λmax for a unit v,
/// so the risk is underestimation. Writing c for the component of v₀ along the
/// top eigenvector, λ̂ ≥ c^(1/(k−1)) · λmax / √2 after k iterations, because
/// the iterate's weights on eigenvalues below θ·λmax shrink like θ²⁽ᵏ⁻¹⁾
/// relative to the top one. With the defaults (k = 30, `safetyFactor` = 1.1)
/// the series therefore converges whenever c² > 10⁻¹¹; a random unit vector in
/// n dimensions has c² near 1/n. Where λ̂ is exact, the margin costs about 10 % in the convergence rate
/// of the slowest eigen-direction, whose factor per term is 1 − λmin/(1.1·λmax).
/// For a non-symmetric P·A these bounds do not hold; ‖M·v‖ may then also
/// exceed λmax, which only makes α smaller.
///
/// **Checks.** The last iterate v must have vᵀA·v ≥ 0: a negative value means
/// that the eigenvalue of P·A of largest magnitude is negative, for which no
/// scale makes the series converge. The scale α must be a finite normal
/// number of the operator's scalar type, which fails only for eigenvalues
/// near the ends of its range (A = diag(3.3e38) in Float gives α below the
/// normal range); rescale A then.
public struct NeumannScaleEstimation: Sendable, Equatable {
    /// The number of power iterations k, each one product with A and one with P
    /// on a single column.
    public var iterations: Int

    /// The factor s in α = 1 / (s·λ̂).
    public var safetyFactor: Double

    /// The seed of the start vector.
    public var seed: UInt64

    /// Creates power-iteration settings.
    ///
    /// The settings are checked when they are used, because the bound on the
    /// safety factor depends on the scalar type of the operator.
    ///
    /// - Parameters:
    ///   - iterations: k in 1 ... ``maximumIterations``. Default 30: enough for
    ///     the bound above to guarantee convergence for start vectors with
    ///     c² > 10⁻¹¹.
    ///   - safetyFactor: s in (0.5, 1/ε], where ε is `Scalar.ulpOfOne` of the
    ///     operator (1/ε = 4.5e15 for Double, 8.4e6 for Float). At 0.5 or below
    ///     α·λmax ≥ 2 even for an exact estimate and the series diverges; above
    ///     1/ε, α·λ lies below the rounding level and every term equals the
    ///     first. Default 1.1, which tolerates an estimate down to 45 % of λmax.
    ///   - seed: The seed of the pseudo-random start vector. Default 0x5EED.
    public init(iterations: Int = 30, safetyFactor: Double = 1.1, seed: UInt64 = 0x5EED) {
        self.iterations = iterations
        self.safetyFactor = safetyFactor
        self.seed = seed
    }

    /// The largest accepted ``iterations``.
    ///
    /// After k iterations the bound above gives λ̂ ≥ c^(1/(k−1))·λmax/√2. At
    /// k = 10⁴ that is at least 0.68·λmax for every start component
    /// c ≥ 10⁻¹⁵⁴, and the default safety factor needs only 0.45·λmax, so
    /// more iterations cannot make the scale safer; they only cost products.
    public static let maximumIterations = 10_000

    /// Runs the power iteration on P·A and returns λ̂.
    ///
    /// After the last iteration, the sign of vᵀA·v for the last unit iterate
    /// v is checked. For the eigenvector v of P·A that the iteration
    /// approaches, with eigenvalue λ, vᵀA·v = λ·vᵀP⁻¹v, which has the sign of λ
    /// for a symmetric positive-definite P (P = I included). A negative value
    /// therefore shows that the eigenvalue of largest magnitude is negative,
    /// and the series diverges for every α > 0.
    func largestEigenvalue<Scalar: LapackScalar>(
        of linearOperator: any LinearOperator<Scalar>, preconditioner: (any LinearOperator<Scalar>)?, owner: String
    ) throws -> Scalar {
        try validate(for: Scalar.self, owner: owner)
        let n = linearOperator.inputSize
        guard n > 0 else {
            throw CurvlinopsError.invalidArgument("\(owner): A has size 0; there is no eigenvalue to estimate a scale from.")
        }

        var generator = SplitMix64(seed: seed)
        var vector = try Matrix<Scalar>(rows: n, columns: 1, columnMajor: (0..<n).map { _ in Scalar(generator.nextUniform()) })
        vector.scale(by: 1 / vector.frobeniusNorm)
        var estimate: Scalar = 0
        for iteration in 0..<iterations {
            let product = try linearOperator.checkedApply(vector, owner: owner, role: "the power iteration's product with A")
            var image = product
            if let preconditioner {
                image = try preconditioner.checkedApply(product, owner: owner, role: "the power iteration's product with P")
            }
            estimate = image.frobeniusNorm
            guard estimate.isFinite, estimate > 0 else {
                throw CurvlinopsError(
                    .numericalBreakdown,
                    "\(owner): the power iteration got ‖P·A·v‖ = \(estimate) at iteration \(iteration); expected a finite positive number. A (or P·A) maps the iterate to \(estimate == 0 ? "zero" : "NaN or infinity"); give scale explicitly.")
            }
            if iteration == iterations - 1 {
                let rayleighQuotient = vector.columnDots(with: product)[0]
                guard rayleighQuotient >= 0 else {
                    throw CurvlinopsError(
                        .notPositiveDefinite,
                        "\(owner): the power iteration's last iterate v has vᵀA·v = \(rayleighQuotient) with ‖\(preconditioner == nil ? "A" : "P·A")·v‖ = \(estimate); the eigenvalue of largest magnitude of \(preconditioner == nil ? "A" : "P·A") is negative, so the Neumann series diverges for every scale > 0. Use LSMR, or CG on a positive-definite operator.")
                }
            }
            // Divide by the estimate in two exact-then-rounded steps, because
            // 1 / λ̂ overflows or loses digits below the normal range when λ̂
            // is near either end of the range of `Scalar`.
            let shift = Swift.min(-Int(estimate.exponent), Int(Scalar.greatestFiniteMagnitude.exponent))
            image.scale(by: timesPowerOfTwo(1, shift))
            image.scale(by: 1 / timesPowerOfTwo(estimate, shift))
            vector = image
        }
        return estimate
    }

    /// Returns the scale α = 1 / (`safetyFactor` · λ̂), computed in Double,
    /// after checking that it is a normal number of `Scalar`.
    ///
    /// - Throws: ``CurvlinopsError/Kind/numericalBreakdown`` naming λ̂ when α
    ///   overflows or falls below the normal range of `Scalar`, which happens
    ///   when A's eigenvalues are near the ends of that range.
    func scale<Scalar: LapackScalar>(forLargestEigenvalue largestEigenvalue: Scalar, owner: String) throws -> Scalar {
        let scale = Scalar(1 / safetyFactor / Double(largestEigenvalue))
        guard scale.isFinite, scale.isNormal else {
            throw CurvlinopsError(
                .numericalBreakdown,
                "\(owner): the estimated largest eigenvalue λ̂ = \(largestEigenvalue) gives scale = 1 / (\(safetyFactor) · λ̂) = \(scale), which is not a normal \(Scalar.self) number (expected a finite value ≥ \(Scalar.leastNormalMagnitude)). Rescale A, for example by a power of 2, so that its eigenvalues are nearer 1\(Scalar.self == Float.self ? ", or use Double" : "").")
        }
        return scale
    }

    /// Checks the settings for a run in `Scalar`.
    private func validate<Scalar: LapackScalar>(for _: Scalar.Type, owner: String) throws {
        guard (1...Self.maximumIterations).contains(iterations) else {
            throw CurvlinopsError.invalidArgument(
                "\(owner): estimatingScale.iterations = \(iterations); expected an integer in 1 ... \(Self.maximumIterations). More iterations cannot make the scale safer; see NeumannScaleEstimation.maximumIterations.")
        }
        let largestFactor = 1 / Double(Scalar.ulpOfOne)
        guard safetyFactor.isFinite, safetyFactor > 0.5, safetyFactor <= largestFactor else {
            throw CurvlinopsError.invalidArgument(
                "\(owner): estimatingScale.safetyFactor = \(safetyFactor); expected a number in (0.5, \(largestFactor)] for \(Scalar.self). At 0.5 or below the series diverges even for an exact estimate; above 1/ε of \(Scalar.self), α·λ lies below the rounding level, so every term of the series equals the first.")
        }
    }

}

/// The SplitMix64 generator: a 64-bit state advanced by a fixed odd increment
/// and mixed by two multiply–xorshift rounds.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Returns a number uniform in [−1, 1), made from the top 53 bits of the next output.
    mutating func nextUniform() -> Double {
        Double(next() >> 11) * 0x1.0p-52 - 1
    }
}
