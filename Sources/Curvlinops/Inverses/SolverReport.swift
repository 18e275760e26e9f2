/// The record of one apply of an iterative inverse: per column, the
/// iterations it ran, the residual it reached and why it stopped.
///
/// ``CGInverseLinearOperator``, ``LSMRInverseLinearOperator`` and
/// ``NeumannInverseLinearOperator`` (and ``LSMR/solve(_:_:damp:atol:btol:conditionLimit:maxIterations:initialGuess:)``)
/// all fill this one type. Column j of the report belongs to column j of the
/// right-hand side. Numbers are stored as `Double` whatever the operator's
/// scalar type; a `Float` value converts to `Double` exactly.
public struct SolverReport: Sendable, Equatable {
    /// The algorithm that produced a report.
    public enum Method: String, Sendable, Equatable {
        /// Preconditioned conjugate gradients.
        case conjugateGradients
        /// Fong and Saunders' LSMR.
        case lsmr
        /// The truncated Neumann series.
        case neumannSeries
    }

    /// The algorithm that produced this report.
    public let method: Method

    /// One entry per right-hand-side column, in column order.
    public let columns: [SolverColumnReport]

    /// The number of applies of the operator A, each on a block of columns.
    ///
    /// CG and LSMR count one product with A per iteration on all columns still
    /// running, plus the products that measure true residuals. LSMR's products
    /// with Aᵀ are counted in ``adjointApplications``. Each solver's
    /// `- Complexity:` lists its products.
    public let operatorApplications: Int

    /// The number of applies of Aᵀ (LSMR only; 0 for the other methods).
    public let adjointApplications: Int

    /// The number of applies of the preconditioner (0 without one).
    public let preconditionerApplications: Int

    /// Creates a report.
    public init(
        method: Method, columns: [SolverColumnReport], operatorApplications: Int,
        adjointApplications: Int = 0, preconditionerApplications: Int = 0
    ) {
        self.method = method
        self.columns = columns
        self.operatorApplications = operatorApplications
        self.adjointApplications = adjointApplications
        self.preconditionerApplications = preconditionerApplications
    }

    /// Whether every column met its solver's convergence test (see
    /// ``SolverColumnReport/converged``). True for a report with no columns.
    public var allConverged: Bool { columns.allSatisfy(\.converged) }

    /// The largest iteration count over the columns, 0 for no columns.
    public var maximumIterations: Int { columns.map(\.iterations).max() ?? 0 }

    /// The largest final relative residual ‖b − Ax‖ / ‖b‖ over the columns,
    /// 0 for no columns.
    public var maximumRelativeResidualNorm: Double {
        columns.map(\.relativeResidualNorm).max() ?? 0
    }
}

/// The report of one right-hand-side column.
public struct SolverColumnReport: Sendable, Equatable {
    /// The iterations run on this column: CG steps, LSMR's `itn`, or the
    /// number of Neumann terms summed.
    public let iterations: Int

    /// The true relative residual ‖b − A·x‖ / ‖b‖ of the returned column x,
    /// measured with a product by A (not the solver's running estimate); 0
    /// when b = 0 and x = 0.
    ///
    /// For LSMR with `damp` > 0 this is still the residual of A·x = b, not of
    /// the damped problem; LSMR's own estimate for the damped problem is
    /// ``LSMRColumnStatistics/normr``.
    public let relativeResidualNorm: Double

    /// The reason the solver stopped on this column.
    public let stopReason: SolverStopReason

    /// LSMR's per-column statistics, `nil` for the other methods.
    public let lsmr: LSMRColumnStatistics?

    /// Creates a column report.
    public init(iterations: Int, relativeResidualNorm: Double, stopReason: SolverStopReason, lsmr: LSMRColumnStatistics? = nil) {
        self.iterations = iterations
        self.relativeResidualNorm = relativeResidualNorm
        self.stopReason = stopReason
        self.lsmr = lsmr
    }

    /// Whether the column met its solver's convergence test.
    ///
    /// True for ``SolverStopReason/zeroRightHandSide``,
    /// ``SolverStopReason/toleranceReached`` and the LSMR codes that report a
    /// solution (0, 1, 2, 4, 5). False when a solver ran out of iterations, when
    /// LSMR stopped at its condition limit (3, 6), and for the Neumann series,
    /// which has no convergence test: read ``relativeResidualNorm`` instead.
    public var converged: Bool { stopReason.isConvergence }
}

/// The reason a solver stopped on a column.
public enum SolverStopReason: Sendable, Equatable, CustomStringConvertible {
    /// The right-hand side is zero, so x = 0 is the exact solution; no iteration ran.
    case zeroRightHandSide
    /// CG: the relative residual ‖b − Ax‖ / ‖b‖ met the tolerance.
    case toleranceReached
    /// CG: `maxIterations` ran before the tolerance was met.
    case iterationLimit
    /// Neumann: all terms of the truncated series were summed.
    case termsCompleted
    /// LSMR: the stop code `istop` of SciPy's `lsmr`.
    case lsmr(LSMRStopReason)

    /// Whether the reason is a convergence test being met.
    public var isConvergence: Bool {
        switch self {
        case .zeroRightHandSide, .toleranceReached:
            return true
        case .iterationLimit, .termsCompleted:
            return false
        case .lsmr(let code):
            return code.isSolution
        }
    }

    /// The reason as a sentence fragment for messages and reports, such as
    /// "the iteration limit was reached"; an LSMR reason starts with its
    /// `istop` code, as in "istop 7: the iteration limit was reached".
    public var description: String {
        switch self {
        case .zeroRightHandSide: return "the right-hand side is zero, so x = 0"
        case .toleranceReached: return "the relative residual met the tolerance"
        case .iterationLimit: return "the iteration limit was reached"
        case .termsCompleted: return "all terms of the series were summed"
        case .lsmr(let code): return code.description
        }
    }
}

/// LSMR's stop code `istop`, with the numbering and meaning of SciPy's
/// `scipy.sparse.linalg.lsmr` (SciPy 1.17).
///
/// In SciPy's tests the later code wins when several hold at once, in the
/// order 7, 6, 5, 4, 3, 2, 1: a column that meets `atol`/`btol` (1) reports 1
/// even when the iteration limit was also reached.
public enum LSMRStopReason: Int, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    /// 0: x = 0 (or the initial guess x₀) is an exact solution; no iteration ran.
    case exactSolutionAtStart = 0
    /// 1: A·x = b is solved to the tolerances: ‖r‖ ≤ btol·‖b‖ + atol·‖A‖·‖x‖.
    case compatibleSystemSolved = 1
    /// 2: the least-squares problem is solved to `atol`: ‖Aᵀr‖ ≤ atol·‖A‖·‖r‖.
    case leastSquaresSolved = 2
    /// 3: the estimate of cond(A) exceeded `conditionLimit`.
    case conditionLimitExceeded = 3
    /// 4: as 1, with atol = btol = machine precision.
    case compatibleSystemSolvedToMachinePrecision = 4
    /// 5: as 2, with atol = machine precision.
    case leastSquaresSolvedToMachinePrecision = 5
    /// 6: as 3, with `conditionLimit` = 1 / machine precision.
    case conditionTooLargeForMachinePrecision = 6
    /// 7: `maxIterations` ran before any other test was met.
    case iterationLimit = 7

    /// Whether the code reports a solution (0, 1, 2, 4, 5) rather than giving up (3, 6, 7).
    public var isSolution: Bool {
        switch self {
        case .exactSolutionAtStart, .compatibleSystemSolved, .leastSquaresSolved,
             .compatibleSystemSolvedToMachinePrecision, .leastSquaresSolvedToMachinePrecision:
            return true
        case .conditionLimitExceeded, .conditionTooLargeForMachinePrecision, .iterationLimit:
            return false
        }
    }

    /// The meaning of the code, in a sentence.
    public var description: String {
        switch self {
        case .exactSolutionAtStart: return "istop 0: x = 0, or the initial guess, is an exact solution"
        case .compatibleSystemSolved: return "istop 1: Ax = b is solved to atol and btol"
        case .leastSquaresSolved: return "istop 2: the least-squares problem is solved to atol"
        case .conditionLimitExceeded: return "istop 3: the estimate of cond(A) exceeded conditionLimit"
        case .compatibleSystemSolvedToMachinePrecision: return "istop 4: Ax = b is solved to machine precision"
        case .leastSquaresSolvedToMachinePrecision: return "istop 5: the least-squares problem is solved to machine precision"
        case .conditionTooLargeForMachinePrecision: return "istop 6: cond(A) is too large for machine precision"
        case .iterationLimit: return "istop 7: the iteration limit was reached"
        }
    }
}

/// The values SciPy's `lsmr` returns after x, for one column.
///
/// The norms are the estimates LSMR updates in its recurrences, not
/// recomputed products; for `damp` > 0 they refer to the damped problem
/// min ‖[A; damp·I]·x − [b; 0]‖.
public struct LSMRColumnStatistics: Sendable, Equatable {
    /// The stop code.
    public let istop: LSMRStopReason
    /// The iterations run.
    public let itn: Int
    /// The estimate of ‖b − Ax‖ (damped: √(‖b − Ax‖² + damp²‖x‖²)).
    public let normr: Double
    /// The estimate of ‖Aᵀ(b − Ax)‖ (damped: ‖Aᵀ(b − Ax) − damp²·x‖).
    public let normar: Double
    /// The estimate of the Frobenius norm of A (damped: of [A; damp·I]).
    public let norma: Double
    /// The estimate of the condition number of A (damped: of [A; damp·I]).
    public let conda: Double
    /// ‖x‖ of the returned column.
    public let normx: Double

    /// Creates the statistics of one column.
    public init(istop: LSMRStopReason, itn: Int, normr: Double, normar: Double, norma: Double, conda: Double, normx: Double) {
        self.istop = istop
        self.itn = itn
        self.normr = normr
        self.normar = normar
        self.norma = norma
        self.conda = conda
        self.normx = normx
    }
}

/// A solution X of a solver together with the report of the run that produced it.
public struct SolverResult<Scalar: LapackScalar>: Sendable, Equatable {
    /// The solution, one column per right-hand side.
    public let solution: Matrix<Scalar>

    /// The record of the run.
    public let report: SolverReport
}
