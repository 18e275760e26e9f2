// The scalar recurrences of LSMR for one column (D. C.-L. Fong and
// M. A. Saunders, SIAM J. Sci. Comput. 33(5), 2950–2971, 2011), with the
// symbols that SciPy's `lsmr.py` and Krylov.jl's `lsmr.jl` use.
//
// Golub–Kahan bidiagonalization produces, per iteration k, the scalars αₖ and
// βₖ with βₖ₊₁uₖ₊₁ = A·vₖ − αₖuₖ and αₖ₊₁vₖ₊₁ = Aᵀ·uₖ₊₁ − βₖ₊₁vₖ. A first
// rotation (ĉ, ŝ) folds the damping λ = `damp` into ᾱₖ. Rotations (cₖ, sₖ)
// then turn the lower-bidiagonal matrix into an upper-triangular one with
// diagonal ρₖ and superdiagonal θₖ₊₁, and rotations (c̄ₖ, s̄ₖ) turn its
// transpose into one with diagonal ρ̄ₖ and superdiagonal θ̄ₖ. ζₖ and ζ̄ₖ₊₁ are
// the entries of the rotated right-hand side, and |ζ̄ₖ₊₁| = ‖Aᵀrₖ‖. The
// solution moves by xₖ = xₖ₋₁ + (ζₖ / (ρₖρ̄ₖ))·h̄ₖ along the directions hₖ, h̄ₖ.
//
// ‖rₖ‖ is estimated without forming rₖ, by applying the same rotations and a
// third sequence (c̃ₖ, s̃ₖ; ρ̃ₖ, θ̃ₖ) to the right-hand side: the quantities β̈
// (`betadd` in SciPy), β̇ (`betad`), β́, β̌, β̂, ρ̇ (`rhodold`), τ̃ and τ̇. ‖A‖ is
// estimated by the Frobenius norm of the bidiagonal matrix so far, and cond(A)
// by max ρ̄ / min ρ̄.
//
// Identifiers spell the symbols out: `rhoBar` is ρ̄, `betaDoubleDot` is β̈,
// `betaAcute` is β́, `betaCheck` is β̌, `rhoDot` is ρ̇, `tauTilde` is τ̃.

/// The scalar state of LSMR for one right-hand-side column.
struct LSMRColumnRecurrence<Scalar: LapackScalar> {
    let damp: Scalar
    /// ‖b‖ of the original right-hand side (not of b − A·x₀).
    let normB: Scalar

    // Bidiagonalization and the two QR factorizations.
    var alpha: Scalar
    var alphaBar: Scalar
    var rho: Scalar = 1
    var rhoBar: Scalar = 1
    var cBar: Scalar = 1
    var sBar: Scalar = 0
    var zeta: Scalar = 0
    var zetaBar: Scalar

    // Estimation of ‖r‖.
    var betaDoubleDot: Scalar
    var betaDot: Scalar = 0
    var rhoDotOld: Scalar = 1
    var tauTildeOld: Scalar = 0
    var thetaTilde: Scalar = 0
    var sumOfBetaCheckSquares: Scalar = 0

    // Estimation of ‖A‖ and cond(A).
    var normASquared: Scalar
    var maxRhoBar: Scalar = 0
    var minRhoBar: Scalar = Swift.min(Scalar.greatestFiniteMagnitude, Scalar(1e100))

    // The values reported after each iteration, as SciPy names them.
    var itn = 0
    var normr: Scalar
    var normar: Scalar
    var normA: Scalar
    var condA: Scalar = 1
    var normx: Scalar = 0

    /// Whether α₁ = 0 or β₁ = 0, so that Aᵀ(b − A·x₀) = 0 and x₀ is a
    /// least-squares solution. Tested on the factors rather than on the
    /// estimate ‖Aᵀr‖ = α₁β₁, which can underflow to 0 when neither is 0.
    let isSolvedAtStart: Bool

    /// Creates the state after the first bidiagonalization step
    /// β₁u₁ = b − A·x₀, α₁v₁ = Aᵀu₁.
    init(alpha: Scalar, beta: Scalar, damp: Scalar, normB: Scalar) {
        self.damp = damp
        self.normB = normB
        self.alpha = alpha
        self.alphaBar = alpha
        self.zetaBar = alpha * beta
        self.betaDoubleDot = beta
        self.normASquared = alpha * alpha
        self.normr = beta
        self.normar = alpha * beta
        self.normA = alpha
        self.isSolvedAtStart = alpha == 0 || beta == 0
    }

    /// The multipliers of the vector updates of one iteration:
    /// h̄ ← h + `hBarFactor`·h̄, x ← x + `stepSize`·h̄, h ← v + `hFactor`·h.
    struct VectorUpdate {
        var hBarFactor: Scalar
        var stepSize: Scalar
        var hFactor: Scalar
    }

    /// Advances the rotations by one iteration, given αₖ₊₁ and βₖ₊₁ of the
    /// bidiagonalization, and updates the estimates of ‖r‖, ‖Aᵀr‖, ‖A‖ and
    /// cond(A). ‖x‖ is set afterwards by the caller, from the updated vector.
    mutating func advance(alpha nextAlpha: Scalar, beta nextBeta: Scalar) -> VectorUpdate {
        itn += 1

        // Q̂ₖ folds the damping into ᾱₖ; Qₖ then eliminates βₖ₊₁.
        let damping = symmetricGivens(alphaBar, damp)
        let rhoOld = rho
        let rotation = symmetricGivens(damping.r, nextBeta)
        rho = rotation.r
        let thetaNew = rotation.s * nextAlpha
        alphaBar = rotation.c * nextAlpha
        alpha = nextAlpha

        // Q̄ₖ turns Rₖᵀ into R̄ₖ.
        let rhoBarOld = rhoBar
        let zetaOld = zeta
        let thetaBar = sBar * rho
        let rhoTemp = cBar * rho
        let barRotation = symmetricGivens(cBar * rho, thetaNew)
        cBar = barRotation.c
        sBar = barRotation.s
        rhoBar = barRotation.r
        zeta = cBar * zetaBar
        zetaBar = -sBar * zetaBar

        let update = VectorUpdate(
            hBarFactor: -(thetaBar * rho / (rhoOld * rhoBarOld)),
            stepSize: zeta / (rho * rhoBar),
            hFactor: -(thetaNew / rho))

        // Estimate ‖r‖: apply Q̂ₖ, Qₖ and Q̃ₖ₋₁ to the right-hand side.
        let betaAcute = damping.c * betaDoubleDot
        let betaCheck = -damping.s * betaDoubleDot
        let betaHat = rotation.c * betaAcute
        betaDoubleDot = -rotation.s * betaAcute
        let thetaTildeOld = thetaTilde
        let tildeRotation = symmetricGivens(rhoDotOld, thetaBar)
        thetaTilde = tildeRotation.s * rhoBar
        rhoDotOld = tildeRotation.c * rhoBar
        betaDot = -tildeRotation.s * betaDot + tildeRotation.c * betaHat
        tauTildeOld = (zetaOld - thetaTildeOld * tauTildeOld) / tildeRotation.r
        let tauDot = (zeta - thetaTilde * tauTildeOld) / rhoDotOld
        sumOfBetaCheckSquares += betaCheck * betaCheck
        let difference = betaDot - tauDot
        normr = (sumOfBetaCheckSquares + difference * difference + betaDoubleDot * betaDoubleDot).squareRoot()

        // Estimate ‖A‖ (the Frobenius norm of the bidiagonal matrix so far) and cond(A).
        normASquared += nextBeta * nextBeta
        normA = normASquared.squareRoot()
        normASquared += nextAlpha * nextAlpha
        maxRhoBar = Swift.max(maxRhoBar, rhoBarOld)
        if itn > 1 {
            minRhoBar = Swift.min(minRhoBar, rhoBarOld)
        }
        condA = Swift.max(maxRhoBar, rhoTemp) / Swift.min(minRhoBar, rhoTemp)

        normar = abs(zetaBar)
        return update
    }

    /// Returns the code of SciPy's stopping tests after an iteration, or `nil` to continue.
    ///
    /// When several tests hold, the one listed later wins, as in SciPy:
    /// 7 (iteration limit), 6, 5, 4 (machine precision), 3, 2, 1 (the user's
    /// tolerances).
    func stopReason(atol: Scalar, btol: Scalar, conditionTolerance: Scalar, maxIterations: Int) -> LSMRStopReason? {
        let test1 = normr / normB
        let test2 = normA * normr != 0 ? normar / (normA * normr) : Scalar.infinity
        let test3 = 1 / condA
        let t1 = test1 / (1 + normA * normx / normB)
        let residualTolerance = btol + atol * normA * normx / normB

        var reason: LSMRStopReason?
        if itn >= maxIterations { reason = .iterationLimit }
        if 1 + test3 <= 1 { reason = .conditionTooLargeForMachinePrecision }
        if 1 + test2 <= 1 { reason = .leastSquaresSolvedToMachinePrecision }
        if 1 + t1 <= 1 { reason = .compatibleSystemSolvedToMachinePrecision }
        if test3 <= conditionTolerance { reason = .conditionLimitExceeded }
        if test2 <= atol { reason = .leastSquaresSolved }
        if test1 <= residualTolerance { reason = .compatibleSystemSolved }
        return reason
    }

    /// Whether every reported estimate is a finite number.
    var isFinite: Bool {
        normr.isFinite && normar.isFinite && normA.isFinite && condA.isFinite && normx.isFinite
    }

    /// Returns the report values, converted to `Double`, for a run on b
    /// divided by `rightHandSideScale`: the estimates in the units of b
    /// (‖r‖, ‖Aᵀr‖, ‖x‖) are multiplied back by it.
    func statistics(_ reason: LSMRStopReason, rightHandSideScale: Scalar) -> LSMRColumnStatistics {
        let scale = Double(rightHandSideScale)
        return LSMRColumnStatistics(
            istop: reason, itn: itn, normr: Double(normr) * scale, normar: Double(normar) * scale,
            norma: Double(normA), conda: Double(condA), normx: Double(normx) * scale)
    }
}

/// Returns the plane rotation [c s; −s c] that maps (a, b) to (r, 0), computed
/// without overflow, with r ≥ 0: c = a/r, s = b/r, r = √(a² + b²). For
/// a = b = 0 it returns c = s = r = 0, as SciPy's LSMR expects.
func symmetricGivens<Scalar: LapackScalar>(_ a: Scalar, _ b: Scalar) -> (c: Scalar, s: Scalar, r: Scalar) {
    func sign(_ x: Scalar) -> Scalar { x > 0 ? 1 : (x < 0 ? -1 : 0) }
    if b == 0 {
        return (sign(a), 0, abs(a))
    }
    if a == 0 {
        return (0, sign(b), abs(b))
    }
    if abs(b) > abs(a) {
        let tau = a / b
        let s = sign(b) / (1 + tau * tau).squareRoot()
        return (s * tau, s, b / s)
    }
    let tau = b / a
    let c = sign(a) / (1 + tau * tau).squareRoot()
    return (c, c * tau, a / c)
}
