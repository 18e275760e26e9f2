/// The block CG iteration behind ``CGInverseLinearOperator``; its doc comment
/// states the algorithm, stopping rule and failures.
///
/// The running columns are kept compact: the matrices of the working set hold
/// only the columns still iterating, so each product with A or M acts on one
/// dense block without gathering. When columns stop, their solutions are
/// written out and the working set is rebuilt without them.
///
/// **Scaling.** Two powers of 2 per column keep the squared quantities rᵀz
/// and pᵀAp far from underflow and overflow, which matters most for Float and
/// for a tolerance of 0. Multiplying by a power of 2 is exact, so the iterates
/// are those of the unscaled recurrence.
/// 1. b is divided by the power of 2 nearest below ‖b‖ before the run (x with
///    it), so the scaled right-hand side b̂ has norm in [1, 2).
/// 2. The stored residual and direction are r̃ = 2ᵉ·r and p̃ = 2ᵉ·p, with
///    ρ̃ = r̃ᵀz̃ = 2²ᵉ·ρ. Whenever ‖r̃‖ falls below 1, e grows so that ‖r̃‖
///    returns to [1, 2). The step α = ρ̃ / p̃ᵀA·p̃ is unchanged by e, x moves
///    by α·2⁻ᵉ·p̃, and the factor on p̃ in the next direction is β·2ˢ for a
///    growth s of e. Without this the recursive residual, which keeps falling
///    below the attainable accuracy while the true residual stagnates, would
///    underflow in rᵀr (Double after ‖r‖ < 1e-154·‖b‖, Float after
///    ‖r‖ < 1e-19·‖b‖), and a column with tolerance 0 could not run on.
struct ConjugateGradients<Scalar: LapackScalar> {
    let linearOperator: any LinearOperator<Scalar>
    let preconditioner: (any LinearOperator<Scalar>)?
    let maxIterations: Int
    let tolerance: Scalar

    /// The columns still iterating, with their vectors and scalars.
    private struct WorkingSet {
        /// The original column index of each working column.
        var columns: [Int]
        /// The power of 2 that each column of b was divided by.
        var scales: [Scalar]
        var rightHandSides: Matrix<Scalar>
        var rightHandSideNorms: [Scalar]
        var solutions: Matrix<Scalar>
        /// r̃ = 2ᵉ·r per column.
        var residuals: Matrix<Scalar>
        /// p̃ = 2ᵉ·p per column.
        var directions: Matrix<Scalar>
        /// ρ̃ = r̃ᵀM·r̃ per column.
        var rho: [Scalar]
        /// The exponent e of the residual scaling per column, ≥ 0.
        var residualExponents: [Int]
        /// Whether the next direction of a column starts afresh, p̃ = M·r̃:
        /// at the start and after its residual was replaced by the true one.
        var restarts: [Bool]

        var isEmpty: Bool { columns.isEmpty }

        /// Removes the working columns at `positions`.
        mutating func remove(_ positions: Set<Int>) {
            guard !positions.isEmpty else { return }
            let keep = columns.indices.filter { !positions.contains($0) }
            columns = keep.map { columns[$0] }
            scales = keep.map { scales[$0] }
            rightHandSides = rightHandSides.columns(keep)
            rightHandSideNorms = keep.map { rightHandSideNorms[$0] }
            solutions = solutions.columns(keep)
            residuals = residuals.columns(keep)
            directions = directions.columns(keep)
            rho = keep.map { rho[$0] }
            residualExponents = keep.map { residualExponents[$0] }
            restarts = keep.map { restarts[$0] }
        }
    }

    /// A column that has stopped, waiting for its report.
    private struct FinishedColumn {
        var iterations: Int
        var stopReason: SolverStopReason
        /// ‖b − A·x‖ / ‖b‖ when already measured, else `nil`.
        var relativeResidualNorm: Double?
    }

    /// Runs CG on validated input: `b` has A's output size in rows and finite
    /// entries, `initialGuess` matches it in shape and is finite.
    func solve(_ b: Matrix<Scalar>, initialGuess: Matrix<Scalar>?) throws -> SolverResult<Scalar> {
        let k = b.columns
        var solution = Matrix<Scalar>(zeros: linearOperator.inputSize, k)
        var finished = [FinishedColumn?](repeating: nil, count: k)
        var counts = ProductCounts()

        // Set up: zero right-hand sides are solved by 0, the other columns
        // start from their initial residual, and those that already meet the
        // tolerance stop there.
        let norms = b.columnNorms
        for j in 0..<k where norms[j] == 0 {
            finished[j] = FinishedColumn(iterations: 0, stopReason: .zeroRightHandSide, relativeResidualNorm: 0)
        }
        var work = try makeWorkingSet(b, norms: norms, initialGuess: initialGuess, counts: &counts)
        let startingNorms = work.residuals.columnNorms
        try checkFinite(startingNorms, work: work, iteration: 0, what: "b − A·x₀")
        let solvedAtStart = work.columns.indices.filter { position in
            startingNorms[position] <= tolerance * work.rightHandSideNorms[position]
        }
        for position in solvedAtStart {
            finished[work.columns[position]] = FinishedColumn(
                iterations: 0, stopReason: .toleranceReached,
                relativeResidualNorm: relativeNorm(startingNorms[position], work.rightHandSideNorms[position]))
        }
        retire(Set(solvedAtStart), from: &work, into: &solution)
        if !work.isEmpty && maxIterations > 0 {
            try updateDirections(&work, iteration: 0, counts: &counts)
        }

        // Iterate on the block of running columns.
        var iteration = 0
        while !work.isEmpty && iteration < maxIterations {
            let residualNorms = try step(&work, iteration: iteration, counts: &counts)
            iteration += 1

            let converged = try confirmConvergence(residualNorms, work: &work, counts: &counts)
            for (position, trueNorm) in converged {
                finished[work.columns[position]] = FinishedColumn(
                    iterations: iteration, stopReason: .toleranceReached,
                    relativeResidualNorm: trueNorm.map { relativeNorm($0, work.rightHandSideNorms[position]) })
            }
            retire(Set(converged.map(\.position)), from: &work, into: &solution)
            let tired = iteration == maxIterations
            if work.isEmpty || tired {
                break
            }
            try updateDirections(&work, iteration: iteration, counts: &counts)
        }

        // Derive the status of the columns still running: the iteration limit.
        for position in work.columns.indices {
            finished[work.columns[position]] = FinishedColumn(
                iterations: iteration, stopReason: .iterationLimit, relativeResidualNorm: nil)
        }
        retire(Set(work.columns.indices), from: &work, into: &solution)

        // Fill the report, measuring the true residuals not yet known in one product.
        let columnReports = try reportColumns(finished.map { $0! }, solution: solution, b: b, counts: &counts)
        let report = SolverReport(
            method: .conjugateGradients, columns: columnReports, operatorApplications: counts.operatorProducts,
            preconditionerApplications: counts.preconditionerProducts)
        return SolverResult(solution: solution, report: report)
    }

    /// Returns the working set of the columns with b ≠ 0, each divided by a
    /// power of 2, starting at the initial guess (or 0) with its residual.
    ///
    /// The power of 2 is the one nearest below the column's norm, clamped so
    /// that it and its reciprocal are finite.
    private func makeWorkingSet(
        _ b: Matrix<Scalar>, norms: [Scalar], initialGuess: Matrix<Scalar>?, counts: inout ProductCounts
    ) throws -> WorkingSet {
        let running = norms.indices.filter { norms[$0] > 0 }
        let scales = running.map { j in powerOfTwoBelow(norms[j]) }
        let inverseScales = scales.map { 1 / $0 }
        var rightHandSides = b.columns(running)
        rightHandSides.scaleColumns(by: inverseScales)

        let n = linearOperator.inputSize
        var work = WorkingSet(
            columns: running, scales: scales, rightHandSides: rightHandSides,
            rightHandSideNorms: zip(running, inverseScales).map { norms[$0] * $1 },
            solutions: Matrix(zeros: n, running.count), residuals: rightHandSides,
            directions: Matrix(zeros: n, running.count), rho: Array(repeating: 0, count: running.count),
            residualExponents: Array(repeating: 0, count: running.count),
            restarts: Array(repeating: true, count: running.count))
        if let initialGuess, !running.isEmpty {
            work.solutions = initialGuess.columns(running)
            work.solutions.scaleColumns(by: inverseScales)
            work.residuals.add(try applyOperator(work.solutions, columns: running), scaledBy: -1)
            counts.operatorProducts += 1
        }
        return work
    }

    /// Takes one CG step on every working column, q̃ = A·p̃, α = ρ̃ / p̃ᵀq̃,
    /// x += α·2⁻ᵉ·p̃, r̃ −= α·q̃, and returns the norms ‖r̃‖ of the new
    /// stored residuals.
    private func step(_ work: inout WorkingSet, iteration: Int, counts: inout ProductCounts) throws -> [Scalar] {
        let q = try applyOperator(work.directions, columns: work.columns)
        counts.operatorProducts += 1
        let curvatures = work.directions.columnDots(with: q)
        try checkCurvatures(curvatures, work: work, iteration: iteration)
        let stepSizes = zip(work.rho, curvatures).map { $0 / $1 }
        let solutionSteps = zip(stepSizes, work.residualExponents).map { timesPowerOfTwo($0, -$1) }
        work.solutions.addColumns(of: work.directions, scaledBy: solutionSteps)
        work.residuals.addColumns(of: q, scaledBy: stepSizes.map { -$0 })
        let residualNorms = work.residuals.columnNorms
        try checkFinite(residualNorms, work: work, iteration: iteration, what: "the residual")
        return residualNorms
    }

    /// Computes the next directions of every working column. First r̃ and e
    /// are rescaled by 2ˢ where ‖r̃‖ < 1, so that ‖r̃‖ is in [1, 2); then
    /// z̃ = M·r̃, ρ̃' = r̃ᵀz̃, and p̃ = z̃ + β·2ˢ·p̃ with β = ρ'/ρ, or p̃ = z̃ for
    /// a column that restarts.
    private func updateDirections(_ work: inout WorkingSet, iteration: Int, counts: inout ProductCounts) throws {
        let maximumShift = Int(Scalar.greatestFiniteMagnitude.exponent)
        let shifts = work.residuals.columnNorms.map { norm in
            norm > 0 && norm < 1 ? Swift.min(-Int(norm.exponent), maximumShift) : 0
        }
        work.residuals.scaleColumns(by: shifts.map { timesPowerOfTwo(1, $0) })
        for position in shifts.indices {
            work.residualExponents[position] += shifts[position]
        }

        let z = try applyPreconditioner(work.residuals, columns: work.columns, counts: &counts)
        let rhoNext = try positiveProducts(of: z, work: work, iteration: iteration)
        let factors = work.columns.indices.map { position in
            work.restarts[position] ? 0 : timesPowerOfTwo(rhoNext[position] / work.rho[position], -shifts[position])
        }
        work.directions.scaleColumns(by: factors)
        work.directions.add(z, scaledBy: 1)
        work.rho = rhoNext
        work.restarts = Array(repeating: false, count: work.columns.count)
    }

    /// Writes the solutions of the working columns at `positions` into
    /// `solution` and removes them from the working set.
    private func retire(_ positions: Set<Int>, from work: inout WorkingSet, into solution: inout Matrix<Scalar>) {
        guard !positions.isEmpty else { return }
        let ordered = positions.sorted()
        var solved = work.solutions.columns(ordered)
        solved.scaleColumns(by: ordered.map { work.scales[$0] })
        solution.setColumns(ordered.map { work.columns[$0] }, from: solved)
        work.remove(positions)
    }

    /// Returns the working columns whose residual meets the tolerance, with
    /// their true residual norms. The norm is `nil` when the recursive
    /// residual is exactly 0, because no check is made then. A column whose
    /// true residual b − A·x fails the check gets it as its new residual and
    /// restarts.
    private func confirmConvergence(
        _ residualNorms: [Scalar], work: inout WorkingSet, counts: inout ProductCounts
    ) throws -> [(position: Int, trueResidualNorm: Scalar?)] {
        var converged: [(position: Int, trueResidualNorm: Scalar?)] = []
        var toConfirm: [Int] = []
        for position in residualNorms.indices {
            // ‖r‖ = 2⁻ᵉ·‖r̃‖ ≤ tolerance·‖b̂‖, compared without forming 2⁻ᵉ·‖r̃‖,
            // which could underflow to 0.
            let bound = timesPowerOfTwo(tolerance * work.rightHandSideNorms[position], work.residualExponents[position])
            guard residualNorms[position] <= bound else { continue }
            if residualNorms[position] == 0 {
                converged.append((position, nil))
            } else {
                toConfirm.append(position)
            }
        }
        guard !toConfirm.isEmpty else { return converged }

        var trueResiduals = work.rightHandSides.columns(toConfirm)
        let products = try applyOperator(work.solutions.columns(toConfirm), columns: toConfirm.map { work.columns[$0] })
        trueResiduals.add(products, scaledBy: -1)
        counts.operatorProducts += 1
        let trueNorms = trueResiduals.columnNorms
        var replaced: [Int] = []
        for (index, position) in toConfirm.enumerated() {
            if trueNorms[index] <= tolerance * work.rightHandSideNorms[position] {
                converged.append((position, trueNorms[index]))
            } else {
                replaced.append(index)
            }
        }
        if !replaced.isEmpty {
            let positions = replaced.map { toConfirm[$0] }
            work.residuals.setColumns(positions, from: trueResiduals.columns(replaced))
            for position in positions {
                work.residualExponents[position] = 0
                work.restarts[position] = true
            }
        }
        return converged
    }

    private func applyOperator(_ x: Matrix<Scalar>, columns: [Int]) throws -> Matrix<Scalar> {
        try linearOperator.checkedApply(x, owner: "CG", role: "the operator A", columnNumbers: columns)
    }

    private func applyPreconditioner(_ residuals: Matrix<Scalar>, columns: [Int], counts: inout ProductCounts) throws -> Matrix<Scalar> {
        guard let preconditioner else { return residuals }
        counts.preconditionerProducts += 1
        return try preconditioner.checkedApply(residuals, owner: "CG", role: "the preconditioner M", columnNumbers: columns)
    }

    /// Returns ρ̃ = r̃ᵀz̃ per working column, after checking that each is
    /// positive. The stored residuals have norm ≥ 1 here, so without a
    /// preconditioner ρ̃ = ‖r̃‖² ≥ 1, and with one a value ≤ 0 cannot come from
    /// underflow of a small residual.
    private func positiveProducts(of z: Matrix<Scalar>, work: WorkingSet, iteration: Int) throws -> [Scalar] {
        let rho = work.residuals.columnDots(with: z)
        for (position, value) in rho.enumerated() where !(value > 0 && value.isFinite) {
            let column = work.columns[position]
            let product = preconditioner == nil ? "rᵀr" : "rᵀMr"
            if value.isNaN || value.isInfinite {
                throw CurvlinopsError(
                    .numericalBreakdown,
                    "CG: column \(column) got \(product) = \(value) at iteration \(iteration); the product overflowed. Rescale A\(preconditioner == nil ? "" : " or the preconditioner").")
            }
            let norm = work.residuals.columns([position]).frobeniusNorm
            guard preconditioner != nil else {
                throw CurvlinopsError(
                    .numericalBreakdown,
                    "CG: column \(column) got rᵀr = \(value) for a residual of norm \(norm) at iteration \(iteration); the iteration broke down.")
            }
            let reason = value < 0 ? "" : " (M·r is orthogonal to r, or the preconditioner's values are so small that the product underflows)"
            throw CurvlinopsError(
                .notPositiveDefinite,
                "CG: column \(column) met rᵀMr = \(value) at iteration \(iteration) for a residual scaled to norm \(norm); the preconditioner is not positive definite\(reason) — use a symmetric positive-definite preconditioner.")
        }
        return rho
    }

    private func checkCurvatures(_ curvatures: [Scalar], work: WorkingSet, iteration: Int) throws {
        for (position, value) in curvatures.enumerated() where !(value > 0 && value.isFinite) {
            let column = work.columns[position]
            if value.isNaN || value.isInfinite {
                throw CurvlinopsError(
                    .numericalBreakdown,
                    "CG: column \(column) got pᵀAp = \(value) at iteration \(iteration); the product overflowed. Rescale A.")
            }
            throw CurvlinopsError(
                .notPositiveDefinite,
                "CG: column \(column) met non-positive curvature pᵀAp = \(value) at iteration \(iteration); the operator is not positive definite — use LSMR or add damping.")
        }
    }

    private func checkFinite(_ norms: [Scalar], work: WorkingSet, iteration: Int, what: String) throws {
        for (position, value) in norms.enumerated() where !value.isFinite {
            throw CurvlinopsError(
                .numericalBreakdown,
                "CG: column \(work.columns[position]) has a non-finite norm of \(what) (\(value)) at iteration \(iteration); the iteration overflowed. Rescale A.")
        }
    }

    private func reportColumns(
        _ finished: [FinishedColumn], solution: Matrix<Scalar>, b: Matrix<Scalar>,
        counts: inout ProductCounts
    ) throws -> [SolverColumnReport] {
        let unmeasured = finished.indices.filter { finished[$0].relativeResidualNorm == nil }
        var measured = finished
        if !unmeasured.isEmpty {
            var residuals = b.columns(unmeasured)
            residuals.add(try applyOperator(solution.columns(unmeasured), columns: unmeasured), scaledBy: -1)
            counts.operatorProducts += 1
            let rightHandSideNorms = b.columns(unmeasured).columnNorms
            for (position, (index, norm)) in zip(unmeasured, residuals.columnNorms).enumerated() {
                measured[index].relativeResidualNorm = relativeNorm(norm, rightHandSideNorms[position])
            }
        }
        return measured.map { column in
            SolverColumnReport(
                iterations: column.iterations,
                relativeResidualNorm: column.relativeResidualNorm!,
                stopReason: column.stopReason)
        }
    }
}

/// Returns the power of 2 nearest below `value` (> 0), clamped so that it and
/// its reciprocal are finite normal numbers.
func powerOfTwoBelow<Scalar: LapackScalar>(_ value: Scalar) -> Scalar {
    let lowest = Scalar.leastNormalMagnitude.exponent
    let highest = Swift.min(Scalar.greatestFiniteMagnitude.exponent, -lowest)
    let exponent = Swift.min(Swift.max(value.exponent, lowest), highest)
    return Scalar(sign: .plus, exponent: exponent, significand: 1)
}

/// Returns value·2ᵉ, exact unless it overflows to infinity or underflows
/// below the normal range.
func timesPowerOfTwo<Scalar: LapackScalar>(_ value: Scalar, _ exponent: Int) -> Scalar {
    Scalar(sign: .plus, exponent: Scalar.Exponent(exponent), significand: value)
}
