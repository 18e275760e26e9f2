/// The inverse A⁻¹ of a square operator, applied by LSMR on all columns at once.
///
/// Applying the operator to X runs ``LSMR`` on A·x_j = b_j for every column
/// b_j of X: Fong and Saunders' algorithm with SciPy's arguments, stopping
/// rules, stop codes and reported norms (see ``LSMR`` for the algorithm, the
/// rules and the two differences from SciPy). Unlike CG it needs neither
/// symmetry nor definiteness: for singular A it returns a least-squares
/// solution, and with `damp` > 0 the minimiser of ‖A·x − b‖² + damp²‖x‖².
///
/// **Scale of A.** The results do not depend on the scale of b, but they do
/// on the scale of A, as in SciPy (``LSMR`` explains why): with the default
/// `conditionLimit` of 1e8 an operator with ‖A‖ below about 1e-8 stops
/// after one iteration with code 3 and an inaccurate x, and in Float an operator with
/// ‖A‖ below about 1e-19 or above 1e19 makes LSMR's recurrences underflow or
/// overflow, which costs accuracy or throws. Pass `conditionLimit: 0`, or
/// rescale A so that its norm is near 1.
///
/// curvlinops 3.0.0 runs SciPy's `lsmr` once per column. This type runs all
/// columns in one loop, with one product with A and one with Aᵀ per iteration
/// on the columns still running, and each column keeps its own scalars and
/// stop code. For a rectangular operator use ``LSMR/solve(_:_:damp:atol:btol:conditionLimit:maxIterations:initialGuess:)``.
///
/// **Report.** Every apply stores a ``SolverReport`` in ``lastReport``: per
/// column SciPy's `istop`, `itn`, `normr`, `normar`, `norma`, `conda`, `normx`
/// (in ``SolverColumnReport/lsmr``) and the true relative residual
/// ‖b − A·x‖ / ‖b‖. The report is the only state an apply changes; repeated
/// applies to the same X give bit-identical results.
///
/// - Complexity: Per iteration one product with A and one with Aᵀ on the
///   running columns, plus about 19·n flops per column. One more product with
///   A measures the true residuals for the report.
public struct LSMRInverseLinearOperator<Scalar: LapackScalar>: LinearOperator {
    /// The operator A whose inverse this is.
    public let base: any LinearOperator<Scalar>

    /// The damping λ of min ‖A·x − b‖² + λ²‖x‖².
    public var damp: Scalar { settings.damp }

    /// The relative accuracy of A assumed by the stopping tests.
    public var atol: Scalar { settings.atol }

    /// The relative accuracy of b assumed by the stopping tests.
    public var btol: Scalar { settings.btol }

    /// The limit on the estimate of cond(A); 0 for none.
    public var conditionLimit: Scalar { settings.conditionLimit }

    /// The iteration limit per column.
    public var maxIterations: Int { settings.maxIterations ?? base.inputSize }

    /// The starting point of each column, or `nil` to start from 0.
    public let initialGuess: Matrix<Scalar>?

    let settings: LSMRSettings<Scalar>
    let reportBox: LastReportBox

    /// The input shapes of the inverse: the output shapes of A.
    public var inputShapes: [[Int]] { base.outputShapes }

    /// The output shapes of the inverse: the input shapes of A.
    public var outputShapes: [[Int]] { base.inputShapes }

    /// Creates the LSMR inverse of a square operator.
    ///
    /// - Parameters:
    ///   - A: A square operator (equal input and output sizes).
    ///   - damp: The damping λ ≥ 0; it enters squared. Default 0: no damping.
    ///   - atol: The relative accuracy of A assumed by the stopping tests,
    ///     finite and ≥ 0. Default 1e-6, SciPy's: about 6 correct digits of ‖r‖.
    ///   - btol: The relative accuracy of b, finite and ≥ 0. Default 1e-6, SciPy's.
    ///   - conditionLimit: Stop when the estimate of cond(A) reaches this.
    ///     Default 1e8, SciPy's. 0 disables the test; values in (0, 1) are
    ///     rejected because a condition number is never below 1.
    ///   - maxIterations: The iteration limit per column, ≥ 0. Default `nil`:
    ///     n, SciPy's min(m, n) for a square operator, which ill-conditioned
    ///     systems often need to raise. 0 returns the initial guess with stop
    ///     code 7.
    ///   - initialGuess: A starting point with one column per right-hand side.
    ///     Default `nil`: start from 0.
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when A is not square or
    ///   the initial guess has the wrong number of rows,
    ///   ``CurvlinopsError/Kind/invalidArgument`` for a negative or non-finite
    ///   damp, atol, btol or conditionLimit, a conditionLimit in (0, 1), a
    ///   negative maxIterations, or shapes of A with a negative size or more
    ///   than `Int.max` entries, ``CurvlinopsError/Kind/nonFiniteValue`` for an
    ///   initial guess with NaN or infinite entries.
    public init(
        _ A: some LinearOperator<Scalar>,
        damp: Scalar = 0,
        atol: Scalar = 1e-6,
        btol: Scalar = 1e-6,
        conditionLimit: Scalar = 1e8,
        maxIterations: Int? = nil,
        initialGuess: Matrix<Scalar>? = nil
    ) throws {
        let owner = "LSMRInverseLinearOperator"
        try validateSquare(A, owner: owner)
        let settings = try LSMRSettings(
            damp: damp, atol: atol, btol: btol, conditionLimit: conditionLimit,
            maxIterations: maxIterations, owner: owner)
        if let initialGuess {
            try validateInitialGuess(initialGuess, rows: A.inputSize, columns: initialGuess.columns, owner: owner)
        }
        self.init(validatedBase: A, settings: settings, initialGuess: initialGuess)
    }

    private init(validatedBase base: any LinearOperator<Scalar>, settings: LSMRSettings<Scalar>, initialGuess: Matrix<Scalar>?) {
        self.base = base
        self.settings = settings
        self.initialGuess = initialGuess
        self.reportBox = LastReportBox()
    }

    /// The report of the last apply (or ``solve(_:)``), `nil` before the first.
    ///
    /// Reading it is thread-safe. Copies of this operator share it.
    public var lastReport: SolverReport? { reportBox.value }

    /// Computes A⁻¹·X by LSMR and stores the run's report in ``lastReport``.
    ///
    /// - Parameter x: The right-hand sides, n × k.
    /// - Returns: The solutions, n × k.
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` for X with the wrong
    ///   number of rows or a column count that differs from the initial guess,
    ///   ``CurvlinopsError/Kind/nonFiniteValue`` naming the first column of X
    ///   with NaN or infinite entries, or when A or Aᵀ returns a result of the
    ///   wrong shape, ``CurvlinopsError/Kind/numericalBreakdown`` when A or Aᵀ
    ///   returns NaN or infinite values or LSMR's recurrences overflow; and
    ///   whatever A throws.
    public func apply(_ x: Matrix<Scalar>) throws -> Matrix<Scalar> {
        try solve(x).solution
    }

    /// Computes A⁻¹·X by LSMR and returns the solution with its report, which
    /// is also stored in ``lastReport``.
    ///
    /// - Throws: As ``apply(_:)``.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func solve(_ x: Matrix<Scalar>) throws -> SolverResult<Scalar> {
        try validateInput(x)
        try validateInitialGuess(initialGuess, rows: base.inputSize, columns: x.columns, owner: "LSMRInverseLinearOperator")
        let result = try LSMRIteration(linearOperator: base, settings: settings).solve(x, initialGuess: initialGuess)
        reportBox.store(result.report)
        return result
    }

    /// Returns the LSMR inverse of Aᵀ with the same settings, which is (A⁻¹)ᵀ.
    ///
    /// With damping it is also exact: LSMR with damp λ computes
    /// (AᵀA + λ²I)⁻¹Aᵀ, whose transpose A(AᵀA + λ²I)⁻¹ = (AAᵀ + λ²I)⁻¹A is LSMR
    /// with damp λ on Aᵀ. The adjoint has its own ``lastReport``.
    public func adjoint() -> any LinearOperator<Scalar> {
        LSMRInverseLinearOperator(validatedBase: base.adjoint(), settings: settings, initialGuess: initialGuess)
    }
}
