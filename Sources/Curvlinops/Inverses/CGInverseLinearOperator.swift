/// The inverse A⁻¹ of a symmetric positive-definite operator, applied by
/// preconditioned conjugate gradients (CG) on all columns at once.
///
/// Applying the operator to X solves A·x_j = b_j for every column b_j of X
/// (Hestenes and Stiefel's CG; with a preconditioner M ≈ A⁻¹, the
/// preconditioned variant). Per column, from x₀ (0 or the initial guess):
///
/// ```
/// r = b − A·x₀;  z = M·r;  p = z;  ρ = rᵀz
/// repeat:  q = A·p;  α = ρ / pᵀq;  x += α·p;  r −= α·q
///          stop if ‖r‖ ≤ tolerance·‖b‖ (confirmed on b − A·x, see below)
///          z = M·r;  ρ' = rᵀz;  β = ρ'/ρ;  p = z + β·p;  ρ = ρ'
/// ```
///
/// All columns run together: each iteration applies A once, and M once, to
/// the block of columns still running, and every column keeps its own α, β
/// and ρ. A column leaves the block as soon as it stops. Truncated at m
/// iterations from x₀ = 0 with tolerance 0, the iterates are those of
/// textbook CG after m steps.
///
/// **Stopping rule.** A column stops when its relative residual
/// ‖b − A·x‖ / ‖b‖ is at most `tolerance`, tested per column. The test first
/// uses the recursively updated residual r. When r passes, the true residual
/// b − A·x is computed for the passing columns in one batched product with A,
/// and it must pass too. If it does not, r is replaced by the true residual
/// and CG restarts on that column from its current x (the next direction is
/// M·r), because the old direction belongs to a residual that drifted from the
/// true one. A converged column therefore always meets the tolerance on its
/// true residual. A column whose recursive residual is exactly 0 stops as
/// converged without this check, because CG cannot continue from there (its
/// next direction is 0); its reported true residual is then at rounding
/// level, which can exceed a tolerance of 0. A column also stops at
/// `maxIterations`.
///
/// **Tolerance below the attainable accuracy.** The recursive residual keeps
/// falling after the true residual has stagnated at rounding level, far
/// below the range of `Scalar` if the run is long. CG therefore stores r and
/// p multiplied by a power of 2 per column, raised whenever ‖r‖ falls below
/// the scaled ‖b‖, and b divided by the power of 2 nearest below ‖b‖. Powers
/// of 2 multiply exactly, so the iterates are those of the unscaled
/// recurrence, but rᵀM·r and pᵀA·p cannot underflow: with `tolerance: 0` a
/// column runs to `maxIterations` and stops there without an error.
///
/// Special cases: a zero right-hand side gives x = 0 after 0 iterations (for
/// positive-definite A that is the exact solution, whatever the initial guess);
/// an initial guess that already meets the tolerance is returned after 0
/// iterations.
///
/// **Failure.** pᵀA·p ≤ 0 means A is not positive definite along p; CG then
/// throws ``CurvlinopsError/Kind/notPositiveDefinite`` naming the column and
/// the iteration instead of dividing by it. On a singular positive-semidefinite
/// A a column whose residual reaches exactly 0 stops before that test, so the
/// solution found is returned. With a preconditioner, rᵀM·r ≤ 0 throws the
/// same kind naming the preconditioner. It is tested on the scaled residual,
/// whose norm is at least 1, so a small residual cannot cause it by underflow;
/// without a preconditioner rᵀr ≥ 1 there and the test cannot fail. Every
/// product with A and M is checked: a result of the wrong shape throws
/// ``CurvlinopsError/Kind/shapeMismatch`` and NaN or infinite values throw
/// ``CurvlinopsError/Kind/numericalBreakdown``, both naming the operator's
/// type. An overflow in CG's own dot products or norms throws
/// ``CurvlinopsError/Kind/numericalBreakdown`` too.
///
/// **Differences from curvlinops.** curvlinops 3.0.0 calls GPyTorch's
/// `linear_cg` (linear_operator 0.6.1), whose default tolerance is 1, which
/// tests the mean of the column residuals, runs at least 10 iterations, and
/// zeroes α and β below `eps` = 1e-10 (stalling near a relative residual of
/// 1e-5). This type does none of that: each column has its own test, no
/// minimum iteration count, and no clamps.
///
/// **Report.** Every apply stores a ``SolverReport`` in ``lastReport``: per
/// column the iterations, the true final relative residual and the stop
/// reason; the counts of products with A and M. The report is the only state
/// an apply changes; repeated applies to the same X give bit-identical results.
///
/// - Complexity: Per iteration one apply of A and one of M on the running
///   columns, plus about 17·n flops and finiteness tests per column (the
///   residual scaling and the checks of the products included). Each iteration in which some
///   columns pass the recursive test adds one apply of A on those columns, and
///   one more apply of A on the unconverged columns at the end measures their
///   true residuals for the report.
public struct CGInverseLinearOperator<Scalar: LapackScalar>: LinearOperator {
    /// The operator A whose inverse this is.
    public let base: any LinearOperator<Scalar>

    /// The largest number of CG iterations per column.
    public let maxIterations: Int

    /// The largest accepted relative residual ‖b − A·x‖ / ‖b‖ per column.
    public let tolerance: Scalar

    /// The preconditioner M ≈ A⁻¹, or `nil` for none (M = I).
    public let preconditioner: (any LinearOperator<Scalar>)?

    /// The starting point of each column, or `nil` to start from 0.
    public let initialGuess: Matrix<Scalar>?

    let reportBox: LastReportBox

    /// The input shapes of the inverse: the output shapes of A.
    public var inputShapes: [[Int]] { base.outputShapes }

    /// The output shapes of the inverse: the input shapes of A.
    public var outputShapes: [[Int]] { base.inputShapes }

    /// Creates the CG inverse of a symmetric positive-definite operator.
    ///
    /// - Parameters:
    ///   - A: A square operator, symmetric and positive definite. Symmetry is
    ///     not checked; an operator that is not positive definite makes
    ///     ``apply(_:)`` throw when CG meets non-positive curvature.
    ///   - maxIterations: The iteration limit per column. Default `nil`: 10·n
    ///     for A of size n × n, the default of SciPy 1.17's `cg`, because CG in
    ///     floating point can need more than the n steps that suffice in exact
    ///     arithmetic on ill-conditioned systems.
    ///   - tolerance: The largest accepted relative residual ‖b − A·x‖ / ‖b‖ per
    ///     column, finite and ≥ 0. Default 1e-6, six correct digits of the
    ///     residual. A value near the rounding level (about κ(A) times the unit
    ///     roundoff of `Scalar`) may not be reachable, so the column then stops
    ///     at `maxIterations`. A value ≥ 1 is met by x = 0 at once.
    ///   - preconditioner: An operator M ≈ A⁻¹, symmetric positive definite,
    ///     mapping A's output space to its input space. Default `nil`: none.
    ///   - initialGuess: A starting point with one column per right-hand side
    ///     (A's input size × k). Default `nil`: start from 0. An apply to X
    ///     with a different number of columns throws.
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when A is not square or
    ///   the preconditioner or the initial guess does not fit A,
    ///   ``CurvlinopsError/Kind/invalidArgument`` for a negative
    ///   `maxIterations`, a tolerance that is negative, NaN or infinite, or
    ///   shapes of A or the preconditioner that have a negative size or more
    ///   than `Int.max` entries,
    ///   ``CurvlinopsError/Kind/nonFiniteValue`` for an initial guess with NaN
    ///   or infinite entries.
    public init(
        _ A: some LinearOperator<Scalar>,
        maxIterations: Int? = nil,
        tolerance: Scalar = 1e-6,
        preconditioner: (any LinearOperator<Scalar>)? = nil,
        initialGuess: Matrix<Scalar>? = nil
    ) throws {
        let owner = "CGInverseLinearOperator"
        try validateSquare(A, owner: owner)
        try validatePreconditioner(preconditioner, for: A, owner: owner)
        if let maxIterations {
            try validateCount(maxIterations, "maxIterations", owner: owner)
        }
        try validateNonNegative(tolerance, "tolerance", owner: owner)
        if let initialGuess {
            try validateInitialGuess(initialGuess, rows: A.inputSize, columns: initialGuess.columns, owner: owner)
        }
        self.init(
            validatedBase: A, maxIterations: maxIterations ?? 10 * A.inputSize, tolerance: tolerance,
            preconditioner: preconditioner, initialGuess: initialGuess)
    }

    private init(
        validatedBase base: any LinearOperator<Scalar>, maxIterations: Int, tolerance: Scalar,
        preconditioner: (any LinearOperator<Scalar>)?, initialGuess: Matrix<Scalar>?
    ) {
        self.base = base
        self.maxIterations = maxIterations
        self.tolerance = tolerance
        self.preconditioner = preconditioner
        self.initialGuess = initialGuess
        self.reportBox = LastReportBox()
    }

    /// The report of the last apply (or ``solve(_:)``), `nil` before the first.
    ///
    /// Reading it is thread-safe. Copies of this operator share it.
    public var lastReport: SolverReport? { reportBox.value }

    /// Computes A⁻¹·X by CG and stores the run's report in ``lastReport``.
    ///
    /// - Parameter x: The right-hand sides, A's output size × k.
    /// - Returns: The solutions, A's input size × k.
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` for X with the wrong
    ///   number of rows or a column count that differs from the initial guess,
    ///   ``CurvlinopsError/Kind/nonFiniteValue`` naming the first column of X
    ///   with NaN or infinite entries or when A or M returns a result of the
    ///   wrong shape, ``CurvlinopsError/Kind/notPositiveDefinite`` when A or
    ///   the preconditioner is not positive definite along a search direction,
    ///   ``CurvlinopsError/Kind/numericalBreakdown`` when A or M returns NaN or
    ///   infinite values or CG's own products overflow; and whatever A or M
    ///   throws.
    public func apply(_ x: Matrix<Scalar>) throws -> Matrix<Scalar> {
        try solve(x).solution
    }

    /// Computes A⁻¹·X by CG and returns the solution with its report, which is
    /// also stored in ``lastReport``.
    ///
    /// Prefer this over reading ``lastReport`` after ``apply(_:)`` when several
    /// threads share the operator.
    ///
    /// - Throws: As ``apply(_:)``.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func solve(_ x: Matrix<Scalar>) throws -> SolverResult<Scalar> {
        try validateInput(x)
        try validateInitialGuess(initialGuess, rows: base.inputSize, columns: x.columns, owner: "CGInverseLinearOperator")
        let result = try ConjugateGradients(
            linearOperator: base, preconditioner: preconditioner,
            maxIterations: maxIterations, tolerance: tolerance
        ).solve(x, initialGuess: initialGuess)
        reportBox.store(result.report)
        return result
    }

    /// Returns the CG inverse of Aᵀ with preconditioner Mᵀ and the same
    /// settings, which is (A⁻¹)ᵀ.
    ///
    /// For the symmetric A that CG needs this is the same inverse. The adjoint
    /// has its own ``lastReport``.
    public func adjoint() -> any LinearOperator<Scalar> {
        CGInverseLinearOperator(
            validatedBase: base.adjoint(), maxIterations: maxIterations, tolerance: tolerance,
            preconditioner: preconditioner?.adjoint(), initialGuess: initialGuess)
    }
}
