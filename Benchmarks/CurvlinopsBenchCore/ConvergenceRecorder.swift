import Curvlinops

/// Records the relative residual of CG, LSMR and Neumann against the
/// iteration count, for the convergence plot.
///
/// The solvers report only their final residual, so the recorder reruns each
/// one from x₀ = 0, truncated after m iterations (terms), for a sequence of m.
/// From x₀ = 0 with the same settings a truncated run computes exactly the
/// iterate of step m of the full run, so the points are those of one run. The
/// residual of each point is the true ‖g − A·x_m‖ / ‖g‖ that the solver's
/// report measures.
enum ConvergenceRecorder {
    /// Reruns the three iterative methods and returns their histories.
    ///
    /// - Parameters:
    ///   - damped: A = GGN + λI.
    ///   - rightHandSide: g.
    ///   - configuration: The tolerances of the full runs.
    ///   - cgIterations, lsmrIterations: The iteration counts of the full runs, the last points.
    ///   - neumannScale: The scale of the full Neumann run, reused so that every run sums the same series.
    static func histories(
        damped: some LinearOperator<Double>, rightHandSide: Matrix<Double>, configuration: MainJobConfiguration,
        cgIterations: Int, lsmrIterations: Int, neumannScale: Double, log: ProgressLog
    ) throws -> [ConvergenceHistory] {
        log("recording convergence: rerunning CG, LSMR and Neumann truncated at about 45 iteration counts each")
        let cg = try history("CG", upTo: cgIterations) { m in
            try CGInverseLinearOperator(damped, maxIterations: m, tolerance: configuration.cgTolerance)
                .solve(rightHandSide).report
        }
        let lsmr = try history("LSMR", upTo: lsmrIterations) { m in
            try LSMRInverseLinearOperator(
                damped, atol: configuration.lsmrTolerance, btol: configuration.lsmrTolerance, maxIterations: m
            ).solve(rightHandSide).report
        }
        let neumann = try history("Neumann", upTo: configuration.neumannTerms) { m in
            try NeumannInverseLinearOperator(damped, terms: m, scale: neumannScale).solve(rightHandSide).report
        }
        log("convergence recorded")
        return [cg, lsmr, neumann]
    }

    /// Returns the iteration counts at which to sample a run of `last`
    /// iterations: every count up to 10, then counts growing by about a
    /// factor 1.15, and `last`.
    ///
    /// The rerun cost is the sum of the counts, about 8·`last` for long runs.
    static func checkpoints(upTo last: Int) -> [Int] {
        var counts: [Int] = []
        var m = 1
        while m < last {
            counts.append(m)
            m = max(m + 1, Int((Double(m) * 1.15).rounded(.up)))
        }
        if last >= 1 {
            counts.append(last)
        }
        return counts
    }

    private static func history(
        _ method: String, upTo last: Int, run: (Int) throws -> SolverReport
    ) throws -> ConvergenceHistory {
        var points: [(iteration: Int, relativeResidual: Double)] = [(0, 1)]
        for m in checkpoints(upTo: last) {
            points.append((m, try run(m).maximumRelativeResidualNorm))
        }
        return ConvergenceHistory(method: method, points: points)
    }
}
