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
    /// - Parameters:
    ///   - iterations: k ≥ 1. Default 30: enough for the bound above to
    ///     guarantee convergence for start vectors with c² > 10⁻¹¹.
    ///   - safetyFactor: s > 0.5; at 0.5 or below α·λmax ≥ 2 even for an exact
    ///     estimate and the series diverges. Default 1.1, which tolerates an
    ///     estimate down to 45 % of λmax.
    ///   - seed: The seed of the pseudo-random start vector. Default 0x5EED.
    public init(iterations: Int = 30, safetyFactor: Double = 1.1, seed: UInt64 = 0x5EED) {
        self.iterations = iterations
        self.safetyFactor = safetyFactor
        self.seed = seed
    }

    /// Runs the power iteration on P·A and returns λ̂.
    func largestEigenvalue<Scalar: LapackScalar>(
        of linearOperator: any LinearOperator<Scalar>, preconditioner: (any LinearOperator<Scalar>)?, owner: String
    ) throws -> Scalar {
        guard iterations >= 1 else {
            throw CurvlinopsError.invalidArgument(
                "\(owner): estimatingScale.iterations = \(iterations); expected an integer ≥ 1.")
        }
        guard safetyFactor.isFinite, safetyFactor > 0.5 else {
            throw CurvlinopsError.invalidArgument(
                "\(owner): estimatingScale.safetyFactor = \(safetyFactor); expected a finite number > 0.5, because at 0.5 or below the series diverges even for an exact estimate.")
        }
        let n = linearOperator.inputSize
        guard n > 0 else {
            throw CurvlinopsError.invalidArgument("\(owner): A has size 0; there is no eigenvalue to estimate a scale from.")
        }

        var generator = SplitMix64(seed: seed)
        var vector = try Matrix<Scalar>(rows: n, columns: 1, columnMajor: (0..<n).map { _ in Scalar(generator.nextUniform()) })
        vector.scale(by: 1 / vector.frobeniusNorm)
        var estimate: Scalar = 0
        for iteration in 0..<iterations {
            var image = try linearOperator.apply(vector)
            if let preconditioner {
                image = try preconditioner.apply(image)
            }
            estimate = image.frobeniusNorm
            guard estimate.isFinite, estimate > 0 else {
                throw CurvlinopsError(
                    .numericalBreakdown,
                    "\(owner): the power iteration got ‖P·A·v‖ = \(estimate) at iteration \(iteration); expected a finite positive number. A (or P·A) maps the iterate to \(estimate == 0 ? "zero" : "NaN or infinity"); give scale explicitly.")
            }
            image.scale(by: 1 / estimate)
            vector = image
        }
        return estimate
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
