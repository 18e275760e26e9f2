/// An approximate inverse A⁻¹ by the truncated, optionally preconditioned,
/// Neumann series.
///
/// For a preconditioner P ≈ A⁻¹ (P = I without one), a scale α and K terms:
///
/// ```
/// A⁻¹ = α·(α·P·A)⁻¹·P ≈ α · Σₖ₌₀ᴷ (I − α·P·A)ᵏ · P
/// ```
///
/// The series converges when every eigenvalue of α·P·A lies in (0, 2): for
/// symmetric positive-definite A and P without preconditioner, when
/// 0 < α < 2 / λmax(A). Its error after K terms shrinks like ρᴷ⁺¹ with
/// ρ = maxᵢ |1 − α·λᵢ|, so slowly when A is ill-conditioned; CG is then far
/// more accurate for the same number of products. The scale can be given or
/// estimated by power iteration (``init(_:terms:estimatingScale:checkNaN:preconditioner:)``).
///
/// Applied to X, the operator computes, with one product by A and one by P per
/// term on all columns at once:
///
/// ```
/// v = P·X;  S = v
/// for i in 0 ..< K:  v = v − α·P·(A·v);  S = S + v
/// return α·S
/// ```
///
/// This is curvlinops' `NeumannInverseLinearOperator` (`num_terms` = K,
/// `scale` = α, `check_nan`), plus the preconditioner, which curvlinops
/// expresses by building the series on the composed operator P·A and applying
/// it to P·X.
///
/// **Divergence.** The series diverges when an eigenvalue of α·P·A lies
/// outside (0, 2). This type detects divergence in these cases, and only these:
/// - With ``init(_:terms:estimatingScale:checkNaN:preconditioner:)``, a
///   negative eigenvalue of largest magnitude (such as A = −I): the power
///   iteration's last iterate v has vᵀA·v < 0, and the initializer throws
///   ``CurvlinopsError/Kind/notPositiveDefinite``.
/// - During an apply, a term or partial sum that overflows. With `checkNaN`
///   the partial sum is checked after every term, and the first NaN or
///   infinity throws ``CurvlinopsError/Kind/numericalBreakdown`` naming the
///   power k of the term (I − α·P·A)ᵏ·P·X that overflowed and suggesting a
///   smaller scale. curvlinops checks for NaN only and keeps iterating in IEEE
///   arithmetic, where the overflowed term turns into NaN one step later
///   (∞ − ∞); the 0-based loop index it names is therefore the same number k.
///   Without `checkNaN` no per-term scan runs. The overflow then shows when A
///   or P rejects the overflowed term as input, or returns an overflowed
///   product, or in the final sum. Each throws the same kind, naming the
///   series, the term and the scale, with the operator's message as the cause.
///   No apply returns NaN or an infinity.
///
/// A series that diverges too slowly to overflow within K terms is not
/// detected: for A = diag(1, 2, −0.5) with the estimated scale, the power
/// iteration finds the positive eigenvalue 2, and the factor 1 + 0.5·α ≈ 1.23
/// per term grows the third entry to about 1e9 in 100 terms. The report shows
/// it: for symmetric A without a preconditioner a convergent series has
/// ‖I − α·A‖₂ ≤ 1, so its ``SolverColumnReport/relativeResidualNorm`` is at
/// most 1, and a value above 1 means divergence.
///
/// **Report.** Every apply stores a ``SolverReport`` in ``lastReport``: per
/// column the number of terms K, the true relative residual ‖b − A·x‖ / ‖b‖
/// (measured with one more product by A) and ``SolverStopReason/termsCompleted``.
/// The report is the only state an apply changes; repeated applies to the same
/// X give bit-identical results.
///
/// - Complexity: K + 1 products with A (the last for the report's residuals)
///   and K + 1 with P on all columns, plus about 5·n flops per column and
///   term and a finiteness scan of each product (and, with `checkNaN`, of
///   each partial sum).
public struct NeumannInverseLinearOperator<Scalar: LapackScalar>: LinearOperator {
    /// The operator A whose inverse this approximates.
    public let base: any LinearOperator<Scalar>

    /// The number of terms K after the first: the series sums (I − α·P·A)ᵏ for k = 0 … K.
    public let terms: Int

    /// The scale α.
    public let scale: Scalar

    /// Whether an apply scans the partial sum for NaN or infinite values after each term.
    public let checkNaN: Bool

    /// The preconditioner P, or `nil` for P = I.
    public let preconditioner: (any LinearOperator<Scalar>)?

    /// The power-iteration estimate of the largest eigenvalue of P·A that chose
    /// ``scale``, or `nil` when the scale was given.
    public let estimatedLargestEigenvalue: Scalar?

    let reportBox: LastReportBox

    /// The input shapes of the inverse: the output shapes of A.
    public var inputShapes: [[Int]] { base.outputShapes }

    /// The output shapes of the inverse: the input shapes of A.
    public var outputShapes: [[Int]] { base.inputShapes }

    /// Creates the truncated Neumann series of A⁻¹ with a given scale.
    ///
    /// - Parameters:
    ///   - A: A square operator whose eigenvalues (of P·A with a
    ///     preconditioner) have positive real parts, such as a
    ///     positive-definite curvature matrix. This is not checked here; the
    ///     type's **Divergence** section lists what an apply detects.
    ///   - terms: K ≥ 0. Default 100, curvlinops' `num_terms`.
    ///   - scale: α, finite and > 0. Default 1, curvlinops' default, which
    ///     converges only when the eigenvalues of P·A lie in (0, 2); choose
    ///     α < 2 / λmax, or use the estimating initializer.
    ///   - checkNaN: Whether to scan the partial sum for NaN or infinite
    ///     values after each term, so that an overflow is reported at the term
    ///     where it happens. Default true, as curvlinops; the scan reads the
    ///     partial sum once per term.
    ///   - preconditioner: P ≈ A⁻¹, mapping A's output space to its input
    ///     space. Default `nil`: P = I.
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when A is not square or
    ///   the preconditioner does not fit it,
    ///   ``CurvlinopsError/Kind/invalidArgument`` for negative `terms`, a
    ///   scale that is not finite and positive, or shapes of A or P with a
    ///   negative size or more than `Int.max` entries.
    public init(
        _ A: some LinearOperator<Scalar>,
        terms: Int = 100,
        scale: Scalar = 1,
        checkNaN: Bool = true,
        preconditioner: (any LinearOperator<Scalar>)? = nil
    ) throws {
        let owner = "NeumannInverseLinearOperator"
        try Self.validate(A, terms: terms, preconditioner: preconditioner, owner: owner)
        guard scale.isFinite, scale > 0 else {
            throw CurvlinopsError.invalidArgument("\(owner): scale = \(scale); expected a finite number > 0.")
        }
        self.init(
            validatedBase: A, terms: terms, scale: scale, checkNaN: checkNaN,
            preconditioner: preconditioner, estimatedLargestEigenvalue: nil)
    }

    /// Creates the truncated Neumann series of A⁻¹ with the scale chosen from a
    /// power-iteration estimate λ̂ of the largest eigenvalue of P·A:
    /// α = 1 / (`safetyFactor` · λ̂).
    ///
    /// See ``NeumannScaleEstimation`` for the estimate, its cost and what the
    /// safety factor guards against. The estimate runs once, here; applies
    /// then use the fixed ``scale``.
    ///
    /// - Parameters:
    ///   - A: As for ``init(_:terms:scale:checkNaN:preconditioner:)``.
    ///   - terms: K ≥ 0. Default 100.
    ///   - estimation: The power-iteration settings, for example
    ///     `NeumannScaleEstimation()` for the defaults. It has no default
    ///     here, so that `init(A)` keeps meaning curvlinops' scale of 1.
    ///   - checkNaN: Whether to scan the partial sum after each term. Default true.
    ///   - preconditioner: P ≈ A⁻¹. Default `nil`: P = I.
    /// - Throws: As ``init(_:terms:scale:checkNaN:preconditioner:)``, plus
    ///   ``CurvlinopsError/Kind/invalidArgument`` for invalid estimation
    ///   settings (see ``NeumannScaleEstimation/init(iterations:safetyFactor:seed:)``),
    ///   ``CurvlinopsError/Kind/numericalBreakdown`` when the estimate is not
    ///   a finite positive number (A·v = 0 for the iterate v) or the scale it
    ///   gives is not a finite normal number of `Scalar` (eigenvalues near the
    ///   ends of its range: rescale A),
    ///   ``CurvlinopsError/Kind/notPositiveDefinite`` when the iteration shows
    ///   a negative eigenvalue of largest magnitude, for which the series
    ///   diverges at every scale; ``CurvlinopsError/Kind/shapeMismatch`` and
    ///   ``CurvlinopsError/Kind/numericalBreakdown`` when A or P returns a
    ///   result of the wrong shape or with NaN or infinite values; and
    ///   whatever A or P throws.
    /// - Complexity: `estimation.iterations` products with A and P on one column.
    public init(
        _ A: some LinearOperator<Scalar>,
        terms: Int = 100,
        estimatingScale estimation: NeumannScaleEstimation,
        checkNaN: Bool = true,
        preconditioner: (any LinearOperator<Scalar>)? = nil
    ) throws {
        let owner = "NeumannInverseLinearOperator"
        try Self.validate(A, terms: terms, preconditioner: preconditioner, owner: owner)
        let largestEigenvalue = try estimation.largestEigenvalue(of: A, preconditioner: preconditioner, owner: owner)
        let scale = try estimation.scale(forLargestEigenvalue: largestEigenvalue, owner: owner)
        self.init(
            validatedBase: A, terms: terms, scale: scale,
            checkNaN: checkNaN, preconditioner: preconditioner, estimatedLargestEigenvalue: largestEigenvalue)
    }

    private init(
        validatedBase base: any LinearOperator<Scalar>, terms: Int, scale: Scalar, checkNaN: Bool,
        preconditioner: (any LinearOperator<Scalar>)?, estimatedLargestEigenvalue: Scalar?
    ) {
        self.base = base
        self.terms = terms
        self.scale = scale
        self.checkNaN = checkNaN
        self.preconditioner = preconditioner
        self.estimatedLargestEigenvalue = estimatedLargestEigenvalue
        self.reportBox = LastReportBox()
    }

    private static func validate(
        _ A: any LinearOperator<Scalar>, terms: Int, preconditioner: (any LinearOperator<Scalar>)?, owner: String
    ) throws {
        try validateSquare(A, owner: owner)
        try validatePreconditioner(preconditioner, for: A, owner: owner)
        try validateCount(terms, "terms", owner: owner)
    }

    /// The report of the last apply (or ``solve(_:)``), `nil` before the first.
    ///
    /// Reading it is thread-safe. Copies of this operator share it.
    public var lastReport: SolverReport? { reportBox.value }

    /// Computes the truncated series applied to X and stores the report in ``lastReport``.
    ///
    /// - Parameter x: The right-hand sides, n × k.
    /// - Returns: α·Σₖ₌₀ᴷ (I − α·P·A)ᵏ·P·X, n × k.
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` for X with the wrong
    ///   number of rows, ``CurvlinopsError/Kind/nonFiniteValue`` naming the
    ///   first column of X with NaN or infinite entries,
    ///   ``CurvlinopsError/Kind/shapeMismatch`` also when A or P returns a
    ///   result of the wrong shape, ``CurvlinopsError/Kind/numericalBreakdown``
    ///   when a term, a product or the sum overflows (a divergent series; see
    ///   **Divergence**) or A or P returns NaN or infinite values; and
    ///   whatever A or P throws.
    public func apply(_ x: Matrix<Scalar>) throws -> Matrix<Scalar> {
        try solve(x).solution
    }

    /// Computes the truncated series applied to X and returns it with its
    /// report, which is also stored in ``lastReport``.
    ///
    /// - Throws: As ``apply(_:)``.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func solve(_ x: Matrix<Scalar>) throws -> SolverResult<Scalar> {
        try validateInput(x)
        let owner = "NeumannInverseLinearOperator"
        var operatorApplications = 0
        var preconditionerApplications = 0

        // Sum the series.
        var term = x
        if let preconditioner {
            term = try preconditioner.checkedApply(x, owner: owner, role: "the preconditioner P")
            preconditionerApplications += 1
        }
        var sum = term
        for power in stride(from: 1, through: terms, by: 1) {
            var product = try seriesProduct(base, term, role: "the operator A", power: power)
            operatorApplications += 1
            if let preconditioner {
                product = try seriesProduct(preconditioner, product, role: "the preconditioner P", power: power)
                preconditionerApplications += 1
            }
            term.add(product, scaledBy: -scale)
            sum.add(term, scaledBy: 1)
            if checkNaN && !sum.isFinite {
                throw divergence(atPower: power, cause: nil)
            }
        }
        if !sum.isFinite {
            throw divergence(atPower: nil, cause: nil)
        }
        sum.scale(by: scale)
        try sum.checkNoOverflow(
            owner: owner, what: "scale · Σₖ (I − scale·P·A)ᵏ·P·X with scale = \(scale)",
            remedy: "The series diverges or A is badly scaled: decrease scale or rescale A.")

        // Measure the true residuals for the report.
        var residuals = x
        residuals.add(try base.checkedApply(sum, owner: owner, role: "the operator A"), scaledBy: -1)
        operatorApplications += 1
        let residualNorms = residuals.columnNorms
        let rightHandSideNorms = x.columnNorms
        let columns = (0..<x.columns).map { j in
            SolverColumnReport(
                iterations: terms, relativeResidualNorm: relativeNorm(residualNorms[j], rightHandSideNorms[j]),
                stopReason: .termsCompleted)
        }
        let report = SolverReport(
            method: .neumannSeries, columns: columns, operatorApplications: operatorApplications,
            preconditionerApplications: preconditionerApplications)
        reportBox.store(report)
        return SolverResult(solution: sum, report: report)
    }

    /// Applies A or P inside the series loop, which computes term k = `power`.
    ///
    /// Without `checkNaN` nothing scans the terms, so an overflowed term
    /// k − 1 first shows when the operator rejects it as input. A product
    /// that overflows on finite input, reported by the operator or found in
    /// its result, belongs to term k. Both throw the series' divergence error
    /// with the operator's error as the cause.
    private func seriesProduct(
        _ linearOperator: any LinearOperator<Scalar>, _ input: Matrix<Scalar>, role: String, power: Int
    ) throws -> Matrix<Scalar> {
        let owner = "NeumannInverseLinearOperator"
        let result: Matrix<Scalar>
        do {
            result = try linearOperator.apply(input)
            try linearOperator.checkResult(result, of: input, owner: owner, role: role)
        } catch let error as CurvlinopsError where error.kind == .nonFiniteValue && !input.isFinite {
            throw divergence(atPower: power - 1, cause: error)
        } catch let error as CurvlinopsError where error.kind == .numericalBreakdown {
            throw divergence(atPower: power, cause: error)
        }
        return result
    }

    /// Returns the error for a series whose terms or partial sum are no longer
    /// finite, naming the power k of the term that overflowed when it is known,
    /// and the error of the product that revealed it.
    private func divergence(atPower power: Int?, cause: CurvlinopsError?) -> CurvlinopsError {
        let matrix = preconditioner == nil ? "A" : "P·A"
        let series = "α·Σₖ (I − α·\(matrix))ᵏ\(preconditioner == nil ? "" : "·P")·X"
        let remedy = "Decrease scale below 2 / λmax of \(matrix), or use init(_:terms:estimatingScale:)."
        guard let cause else {
            let location = power.map { "term k = \($0) of \(series) overflowed to infinity or NaN" }
                ?? "the partial sum of \(series) is not finite after \(terms) terms"
            return CurvlinopsError(
                .numericalBreakdown,
                "NeumannInverseLinearOperator: \(location); the series diverges for scale = \(scale). \(remedy)")
        }
        return CurvlinopsError(
            .numericalBreakdown,
            "NeumannInverseLinearOperator: term k = \(power ?? terms) of \(series) could not be computed because a product met or made NaN or infinite values: \(cause.message) Such values arise when the terms grow, that is when the series diverges for scale = \(scale). \(remedy)")
    }

    /// Returns the Neumann series of Aᵀ with preconditioner Pᵀ and the same
    /// terms and scale, which is the adjoint of this series.
    ///
    /// (α·Σ(I − α·P·A)ᵏ·P)ᵀ = α·Σ Pᵀ·(I − α·Aᵀ·Pᵀ)ᵏ = α·Σ(I − α·Pᵀ·Aᵀ)ᵏ·Pᵀ.
    /// The adjoint has its own ``lastReport``.
    public func adjoint() -> any LinearOperator<Scalar> {
        NeumannInverseLinearOperator(
            validatedBase: base.adjoint(), terms: terms, scale: scale, checkNaN: checkNaN,
            preconditioner: preconditioner?.adjoint(), estimatedLargestEigenvalue: estimatedLargestEigenvalue)
    }
}
