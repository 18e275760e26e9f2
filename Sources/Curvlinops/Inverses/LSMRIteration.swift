/// The block LSMR iteration behind ``LSMR`` and ``LSMRInverseLinearOperator``;
/// the doc comment of ``LSMR`` states the algorithm and its stopping rules.
///
/// The vectors of the running columns are kept as compact blocks: u is m × a
/// and v, h, h̄, x are n × a for a running columns. Each product with A or Aᵀ
/// therefore acts on one dense block.
/// Each column carries its own scalar recurrence; the vector updates apply
/// one multiplier per column.
struct LSMRIteration<Scalar: LapackScalar> {
    let linearOperator: any LinearOperator<Scalar>
    let settings: LSMRSettings<Scalar>

    private struct WorkingSet {
        /// The original column index of each working column.
        var columns: [Int]
        var u: Matrix<Scalar>
        var v: Matrix<Scalar>
        var h: Matrix<Scalar>
        var hBar: Matrix<Scalar>
        var x: Matrix<Scalar>
        var recurrences: [LSMRColumnRecurrence<Scalar>]

        var isEmpty: Bool { columns.isEmpty }

        mutating func remove(_ positions: Set<Int>) {
            guard !positions.isEmpty else { return }
            let keep = columns.indices.filter { !positions.contains($0) }
            columns = keep.map { columns[$0] }
            u = u.columns(keep)
            v = v.columns(keep)
            h = h.columns(keep)
            hBar = hBar.columns(keep)
            x = x.columns(keep)
            recurrences = keep.map { recurrences[$0] }
        }
    }

    /// Runs LSMR on validated input: `b` is m × k and finite, `initialGuess` n × k and finite.
    func solve(_ b: Matrix<Scalar>, initialGuess: Matrix<Scalar>?) throws -> SolverResult<Scalar> {
        let (m, n, k) = (linearOperator.outputSize, linearOperator.inputSize, b.columns)
        let maxIterations = settings.maxIterations ?? Swift.min(m, n)
        let adjoint = linearOperator.adjoint()
        var counts = ProductCounts()
        var solution = Matrix<Scalar>(zeros: n, k)
        var finished = [(LSMRColumnRecurrence<Scalar>, LSMRStopReason)?](repeating: nil, count: k)

        // Divide each column of b (and of x₀) by the power of 2 nearest below
        // its norm. This is exact and every recurrence is homogeneous in b, so
        // the iterates and stop codes are those of the unscaled run, but LSMR's
        // estimates, which carry the units of b, cannot overflow or underflow
        // because of the size of b.
        let scales = b.columnNorms.map { $0 > 0 ? powerOfTwoBelow($0) : 1 }
        let inverseScales = scales.map { 1 / $0 }
        var scaledB = b
        scaledB.scaleColumns(by: inverseScales)
        var scaledGuess = initialGuess
        scaledGuess?.scaleColumns(by: inverseScales)

        var work = try start(scaledB, initialGuess: scaledGuess, adjoint: adjoint, counts: &counts)

        // Columns that stop before the first iteration.
        var stopped = Set<Int>()
        for position in work.columns.indices {
            var recurrence = work.recurrences[position]
            let reason: LSMRStopReason
            if recurrence.isSolvedAtStart {
                // Aᵀ(b − A·x₀) = 0: x₀ (or 0) is a least-squares solution.
                reason = .exactSolutionAtStart
            } else if recurrence.normB == 0 {
                // b = 0 but A·x₀ ≠ 0: x = 0 is the exact solution.
                work.x.setColumn(position, to: Array(repeating: 0, count: n))
                reason = .exactSolutionAtStart
            } else if maxIterations == 0 {
                reason = .iterationLimit
            } else {
                continue
            }
            recurrence.normx = work.x.columns([position]).frobeniusNorm
            finished[work.columns[position]] = (recurrence, reason)
            stopped.insert(position)
        }
        retire(stopped, from: &work, into: &solution)

        // Iterate until every column has a stop code.
        while !work.isEmpty {
            try advance(&work, adjoint: adjoint, counts: &counts)

            stopped = []
            let normsOfX = work.x.columnNorms
            for position in work.columns.indices {
                work.recurrences[position].normx = normsOfX[position]
                let recurrence = work.recurrences[position]
                guard recurrence.isFinite else {
                    throw CurvlinopsError(
                        .numericalBreakdown,
                        "LSMR: column \(work.columns[position]) produced non-finite estimates (‖r‖ = \(recurrence.normr), ‖Aᵀr‖ = \(recurrence.normar), ‖A‖ = \(recurrence.normA), cond(A) = \(recurrence.condA), ‖x‖ = \(recurrence.normx), for b scaled to norm \(recurrence.normB)) at iteration \(recurrence.itn); LSMR's recurrences overflowed. Rescale A so that its norm is nearer 1.")
                }
                if let reason = recurrence.stopReason(
                    atol: settings.atol, btol: settings.btol,
                    conditionTolerance: settings.conditionTolerance, maxIterations: maxIterations) {
                    finished[work.columns[position]] = (recurrence, reason)
                    stopped.insert(position)
                }
            }
            retire(stopped, from: &work, into: &solution)
        }

        // Undo the scaling, then fill the report; one product with A measures
        // the true residuals.
        solution.scaleColumns(by: scales)
        var residuals = b
        residuals.add(try applyOperator(solution, columns: Array(0..<k)), scaledBy: -1)
        counts.operatorProducts += 1
        let residualNorms = residuals.columnNorms
        let rightHandSideNorms = b.columnNorms
        let columnReports = (0..<k).map { j -> SolverColumnReport in
            let (recurrence, reason) = finished[j]!
            return SolverColumnReport(
                iterations: recurrence.itn,
                relativeResidualNorm: relativeNorm(residualNorms[j], rightHandSideNorms[j]),
                stopReason: .lsmr(reason), lsmr: recurrence.statistics(reason, rightHandSideScale: scales[j]))
        }
        let report = SolverReport(
            method: .lsmr, columns: columnReports, operatorApplications: counts.operatorProducts,
            adjointApplications: counts.adjointProducts)
        return SolverResult(solution: solution, report: report)
    }

    /// Runs the first bidiagonalization step for every column, β₁u₁ = b − A·x₀
    /// and α₁v₁ = Aᵀu₁ (v₁ = 0 where β₁ = 0), and sets h₁ = v₁, h̄₀ = 0.
    private func start(
        _ b: Matrix<Scalar>, initialGuess: Matrix<Scalar>?, adjoint: any LinearOperator<Scalar>, counts: inout ProductCounts
    ) throws -> WorkingSet {
        let (n, k) = (linearOperator.inputSize, b.columns)
        let normsOfB = b.columnNorms
        var u = b
        let x = initialGuess ?? Matrix(zeros: n, k)
        if initialGuess != nil {
            u.add(try applyOperator(x, columns: Array(0..<k)), scaledBy: -1)
            counts.operatorProducts += 1
        }
        let betas = u.columnNorms
        try checkFinite(betas, columns: Array(0..<k), iteration: 0, what: "‖b − A·x₀‖")
        u.scaleColumns(by: betas.map { $0 > 0 ? 1 / $0 : 1 })

        var v = Matrix<Scalar>(zeros: n, k)
        if betas.contains(where: { $0 > 0 }) {
            v = try applyAdjoint(adjoint, u, columns: Array(0..<k))
            counts.adjointProducts += 1
            v.scaleColumns(by: betas.map { $0 > 0 ? 1 : 0 })
        }
        let alphas = v.columnNorms
        try checkFinite(alphas, columns: Array(0..<k), iteration: 0, what: "‖Aᵀu₁‖")
        v.scaleColumns(by: alphas.map { $0 > 0 ? 1 / $0 : 1 })

        let recurrences = (0..<k).map { j in
            LSMRColumnRecurrence(alpha: alphas[j], beta: betas[j], damp: settings.damp, normB: normsOfB[j])
        }
        return WorkingSet(
            columns: Array(0..<k), u: u, v: v, h: v, hBar: Matrix(zeros: n, k), x: x, recurrences: recurrences)
    }

    /// Runs one iteration on every working column: the bidiagonalization step
    /// βu ← A·v − α·u, αv ← Aᵀu − β·v on the whole block, then each column's
    /// rotations, then the updates of h̄, x and h.
    private func advance(_ work: inout WorkingSet, adjoint: any LinearOperator<Scalar>, counts: inout ProductCounts) throws {
        let iteration = (work.recurrences.first?.itn ?? 0)
        let av = try applyOperator(work.v, columns: work.columns)
        counts.operatorProducts += 1
        work.u.scaleColumns(by: work.recurrences.map { -$0.alpha })
        work.u.add(av, scaledBy: 1)
        let betas = work.u.columnNorms
        try checkFinite(betas, columns: work.columns, iteration: iteration, what: "‖A·v − α·u‖")

        // Where β = 0 the bidiagonalization has ended: u is not normalised and
        // v and α keep their values, as in SciPy.
        var alphas = work.recurrences.map(\.alpha)
        if betas.contains(where: { $0 > 0 }) {
            work.u.scaleColumns(by: betas.map { $0 > 0 ? 1 / $0 : 1 })
            let atu = try applyAdjoint(adjoint, work.u, columns: work.columns)
            counts.adjointProducts += 1
            work.v.scaleColumns(by: betas.map { $0 > 0 ? -$0 : 1 })
            work.v.addColumns(of: atu, scaledBy: betas.map { $0 > 0 ? 1 : 0 })
            let norms = work.v.columnNorms
            try checkFinite(norms, columns: work.columns, iteration: iteration, what: "‖Aᵀu − β·v‖")
            for position in betas.indices where betas[position] > 0 {
                alphas[position] = norms[position]
            }
            work.v.scaleColumns(by: betas.indices.map { betas[$0] > 0 && norms[$0] > 0 ? 1 / norms[$0] : 1 })
        }

        var updates: [LSMRColumnRecurrence<Scalar>.VectorUpdate] = []
        updates.reserveCapacity(work.columns.count)
        for position in work.columns.indices {
            updates.append(work.recurrences[position].advance(alpha: alphas[position], beta: betas[position]))
        }
        work.hBar.scaleColumns(by: updates.map(\.hBarFactor))
        work.hBar.add(work.h, scaledBy: 1)
        work.x.addColumns(of: work.hBar, scaledBy: updates.map(\.stepSize))
        work.h.scaleColumns(by: updates.map(\.hFactor))
        work.h.add(work.v, scaledBy: 1)
    }

    private func retire(_ positions: Set<Int>, from work: inout WorkingSet, into solution: inout Matrix<Scalar>) {
        guard !positions.isEmpty else { return }
        let ordered = positions.sorted()
        solution.setColumns(ordered.map { work.columns[$0] }, from: work.x.columns(ordered))
        work.remove(positions)
    }

    private func applyOperator(_ x: Matrix<Scalar>, columns: [Int]) throws -> Matrix<Scalar> {
        try linearOperator.checkedApply(x, owner: "LSMR", role: "the operator A", columnNumbers: columns)
    }

    private func applyAdjoint(_ adjoint: any LinearOperator<Scalar>, _ x: Matrix<Scalar>, columns: [Int]) throws -> Matrix<Scalar> {
        try adjoint.checkedApply(x, owner: "LSMR", role: "the adjoint Aᵀ", columnNumbers: columns)
    }

    /// Checks a norm of the bidiagonalization. The products with A and Aᵀ are
    /// checked where they are made, so a non-finite norm here means that the
    /// norm of finite vectors, or their difference, overflowed.
    private func checkFinite(_ values: [Scalar], columns: [Int], iteration: Int, what: String) throws {
        for (position, value) in values.enumerated() where !value.isFinite {
            throw CurvlinopsError(
                .numericalBreakdown,
                "LSMR: column \(columns[position]) got \(what) = \(value) at iteration \(iteration); LSMR's bidiagonalization overflowed. Rescale A so that its norm is nearer 1.")
        }
    }
}
