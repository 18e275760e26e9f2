/// LSMR, Fong and Saunders' Krylov method for least-squares problems, on all
/// columns of a right-hand side at once.
///
/// For an m × n operator A (any shape) and each column b of B, LSMR finds x
/// minimising
///
/// ```
/// ‖A·x − b‖² + damp²·‖x‖²
/// ```
///
/// It is MINRES applied to the normal equations (AᵀA + damp²·I)·x = Aᵀb, run on
/// Golub–Kahan bidiagonalization, so it needs only products with A and Aᵀ and
/// works on singular, non-symmetric and rectangular A. With `damp` = 0 and a
/// consistent system it solves A·x = b; when m < n it converges to the
/// minimum-norm solution (from x₀ = 0).
///
/// Arguments, stopping rules, stop codes and reported norms are those of
/// SciPy's `scipy.sparse.linalg.lsmr` (SciPy 1.17), which curvlinops'
/// `LSMRInverseLinearOperator` calls; see ``LSMRStopReason`` for the codes.
/// Two differences: every column runs in the same loop, and `maxIterations`
/// = 0 returns the initial guess with code 7 (SciPy returns code 0 without
/// iterating).
///
/// **Stopping rule** (per column, after each iteration, r = b − A·x):
/// 1. ‖r‖ ≤ btol·‖b‖ + atol·‖A‖·‖x‖ (a compatible system is solved);
/// 2. ‖Aᵀr‖ ≤ atol·‖A‖·‖r‖ (the least-squares problem is solved);
/// 3. the estimate of cond(A) ≥ `conditionLimit`;
/// 4–6. the same three tests with atol = btol = machine precision and
///    `conditionLimit` = 1 / machine precision of `Scalar`;
/// 7. `maxIterations` iterations ran.
/// The norms are LSMR's running estimates; for `damp` > 0 they are those of
/// the damped problem (A replaced by [A; damp·I], b by [b; 0]). Code 0 is
/// decided on the factors of ‖Aᵀ(b − A·x₀)‖ = α₁β₁: β₁ = ‖b − A·x₀‖ = 0 or
/// α₁ = ‖Aᵀu₁‖ = 0 exactly. SciPy tests the product, which can underflow to 0
/// when neither factor is 0.
///
/// **Scale.** Each column of b (and of x₀) is divided by the power of 2
/// nearest below its norm before the run and the results are multiplied
/// back. This is exact and every recurrence is homogeneous in b, so the
/// iterates and codes are SciPy's, but a huge or tiny b cannot overflow
/// LSMR's estimates. The scale of A is not normalised, because SciPy's tests
/// depend on it, and this type keeps SciPy's results:
/// - Test 3 compares cond(A) with `conditionLimit`. SciPy's estimate after
///   the first iteration is max(1, ρ₁) / ρ₁, where ρ₁ ≥ ‖Aᵀu₁‖ is of the size
///   of ‖A‖, because the running maximum of the estimate starts at 1. A
///   column with ρ₁ ≤ 1/`conditionLimit` therefore stops at iteration 1 with
///   code 3 and an x that can be far from the solution: A = diag(1e-9, 2e-9,
///   3e-9) with b = 1e-9·(1, 1, 1) gives x ≈ (0.12, 0.25, 0.37) instead of
///   (1, 0.5, 0.33), as in SciPy 1.17.1.
///   Pass `conditionLimit: 0`, or rescale A (and b) so that ‖A‖ is near 1.
///   Test 6 uses 1/ε in place of `conditionLimit` and cannot be disabled;
///   it fires when ‖A‖ is below about ε (1e-16 in Double, 6e-8 in Float).
/// - The recurrences multiply numbers of the size of ‖A‖, so ‖A‖ below about
///   1e-19 or above 1e19 in Float (1e-154 or 1e154 in Double) makes them
///   underflow or overflow. The run then loses accuracy or throws
///   ``CurvlinopsError/Kind/numericalBreakdown`` naming LSMR's recurrences.
///   Rescale A then.
/// A column reported as converged (codes 0, 1, 2, 4, 5) met its test on
/// these estimates; its ``SolverColumnReport/relativeResidualNorm`` is the
/// measured ‖b − A·x‖ / ‖b‖.
public enum LSMR {
    /// Solves min ‖A·x − b‖² + damp²‖x‖² for every column b of B by LSMR.
    ///
    /// - Parameters:
    ///   - A: The operator, m × n (outputSize × inputSize), any shape.
    ///   - b: The right-hand sides, m × k, finite.
    ///   - damp: The damping λ ≥ 0 of the regularised problem; it enters
    ///     squared. Default 0: plain least squares.
    ///   - atol: The relative accuracy of A assumed by tests 1 and 2, finite and
    ///     ≥ 0. Default 1e-6, SciPy's: about 6 correct digits of ‖r‖.
    ///   - btol: The relative accuracy of b assumed by test 1, finite and ≥ 0.
    ///     Default 1e-6, SciPy's.
    ///   - conditionLimit: Stop when the estimate of cond(A) reaches this value.
    ///     Default 1e8, SciPy's, suited to least-squares problems (up to 1e12
    ///     suits compatible systems). 0 disables the test, as in SciPy; values
    ///     in (0, 1) are rejected because every condition number is ≥ 1.
    ///   - maxIterations: The iteration limit per column, ≥ 0. Default `nil`:
    ///     min(m, n), SciPy's default, which ill-conditioned problems often
    ///     need to raise.
    ///   - initialGuess: The starting point x₀, n × k. Default `nil`: 0. LSMR then
    ///     solves for the correction from x₀.
    /// - Returns: The solutions (n × k) and the report, whose columns carry
    ///   ``LSMRColumnStatistics``.
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when B does not have m
    ///   rows or the initial guess is not n × k,
    ///   ``CurvlinopsError/Kind/nonFiniteValue`` naming the first column of B
    ///   or of the initial guess with NaN or infinite entries,
    ///   ``CurvlinopsError/Kind/invalidArgument`` for a negative or non-finite
    ///   damp, atol, btol or conditionLimit, a conditionLimit in (0, 1) or a
    ///   negative maxIterations, or shapes of A with a negative size or more
    ///   than `Int.max` entries; ``CurvlinopsError/Kind/shapeMismatch`` also
    ///   when A or Aᵀ returns a result of the wrong shape,
    ///   ``CurvlinopsError/Kind/numericalBreakdown`` when A or Aᵀ returns NaN
    ///   or infinite values or LSMR's recurrences overflow (see **Scale**);
    ///   and whatever A throws.
    /// - Complexity: Per iteration one product with A and one with Aᵀ on the
    ///   running columns, plus about 14·n + 5·m flops per column. One more
    ///   product with A at the end measures the true residuals for the report,
    ///   and one at the start the residual of an initial guess.
    public static func solve<Scalar: LapackScalar>(
        _ A: some LinearOperator<Scalar>,
        _ b: Matrix<Scalar>,
        damp: Scalar = 0,
        atol: Scalar = 1e-6,
        btol: Scalar = 1e-6,
        conditionLimit: Scalar = 1e8,
        maxIterations: Int? = nil,
        initialGuess: Matrix<Scalar>? = nil
    ) throws -> SolverResult<Scalar> {
        let owner = "LSMR.solve"
        try validateOperatorShapes(A, argument: "A", owner: owner)
        let settings = try LSMRSettings(
            damp: damp, atol: atol, btol: btol, conditionLimit: conditionLimit,
            maxIterations: maxIterations, owner: owner)
        guard b.rows == A.outputSize else {
            throw CurvlinopsError.shapeMismatch(
                "\(owner): b has \(b.rows) rows; expected \(A.outputSize), the output size of A.")
        }
        if let column = b.firstNonFiniteColumn() {
            throw CurvlinopsError.nonFinite("\(owner): column \(column) of b contains NaN or infinite entries; expected finite values.")
        }
        try validateInitialGuess(initialGuess, rows: A.inputSize, columns: b.columns, owner: owner)
        return try LSMRIteration(linearOperator: A, settings: settings).solve(b, initialGuess: initialGuess)
    }
}

/// The validated arguments of an LSMR run.
struct LSMRSettings<Scalar: LapackScalar>: Sendable {
    let damp: Scalar
    let atol: Scalar
    let btol: Scalar
    let conditionLimit: Scalar
    /// `nil` for min(m, n).
    let maxIterations: Int?

    init(damp: Scalar, atol: Scalar, btol: Scalar, conditionLimit: Scalar, maxIterations: Int?, owner: String) throws {
        try validateNonNegative(damp, "damp", owner: owner)
        try validateNonNegative(atol, "atol", owner: owner)
        try validateNonNegative(btol, "btol", owner: owner)
        guard conditionLimit.isFinite, conditionLimit == 0 || conditionLimit >= 1 else {
            throw CurvlinopsError.invalidArgument(
                "\(owner): conditionLimit = \(conditionLimit); expected 0 (no limit) or a finite number ≥ 1, because a condition number is never below 1.")
        }
        if let maxIterations {
            try validateCount(maxIterations, "maxIterations", owner: owner)
        }
        self.damp = damp
        self.atol = atol
        self.btol = btol
        self.conditionLimit = conditionLimit
        self.maxIterations = maxIterations
    }

    /// 1 / conditionLimit, or 0 when the limit is disabled.
    var conditionTolerance: Scalar { conditionLimit > 0 ? 1 / conditionLimit : 0 }
}
