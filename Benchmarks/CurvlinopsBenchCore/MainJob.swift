import Curvlinops

/// The main job: a damped natural-gradient step on real data, computed by
/// every inverse of the library and compared with a dense solve.
///
/// Steps:
///
/// 1. Train `Linear(64 → h), Tanh, Linear(h → 10)` with cross-entropy (mean)
///    by full-batch gradient descent on the digits images.
/// 2. Compute the gradient g of the training loss at the trained weights, the
///    GGN, KFAC (type-2) and EKFAC (type-2), all over every batch.
/// 3. Solve (GGN + λI)·x = g densely (the GGN materialised by `dense()`,
///    then `potrf` and `potrs`): the reference x*.
/// 4. Solve it with ``CGInverseLinearOperator``, ``LSMRInverseLinearOperator``
///    and ``NeumannInverseLinearOperator`` (scale by power iteration), and
///    apply ``KFACInverseLinearOperator`` with exact damping λ to KFAC and
///    to EKFAC, which approximate (GGN + λI)⁻¹·g.
///
/// What each row's time covers:
///
/// - dense: `potrf` and `potrs`; forming the dense GGN is logged separately.
/// - CG and LSMR: the solve.
/// - Neumann: the power iteration that picks the scale, and the series.
/// - KFAC and EKFAC: building the inverse and its first apply, with the
///   eigendecompositions; computing the factors and the eigenvalue
///   correction is logged separately.
public enum MainJob {
    /// Runs the main job on `digits`.
    ///
    /// - Parameters:
    ///   - digits: The data set; ``MainJobConfiguration/sampleCount`` images are used.
    ///   - configuration: The settings.
    ///   - log: Receives one progress line per phase.
    /// - Returns: The training summary, the table rows and, if requested, the convergence histories.
    /// - Throws: ``CurvlinopsError`` from the library.
    public static func run(
        digits: DigitsDataSet, configuration: MainJobConfiguration, log: ProgressLog
    ) throws -> MainJobResult {
        let samples = digits.prefix(configuration.sampleCount)
        let data: [Batch<Double>] = samples.batches(of: configuration.batchSize)
        let damping = configuration.damping
        log("loaded \(samples.count) digits images in \(data.count) batches of up to \(configuration.batchSize)")

        // 1. Training.
        let (training, accuracy) = try train(on: data, configuration: configuration, log: log)
        let model = training.model

        // 2. Gradient and curvature.
        let ggn = try GGNLinearOperator(
            model: model, loss: DigitsTraining.loss, parameters: model.parameterNames, data: data)
        let gradient = try Matrix(rows: ggn.inputSize, columns: 1, columnMajor: try ggn.gradientAndLoss().gradient)
        let damped = try ggn + damping * IdentityLinearOperator<Double>(shapes: ggn.inputShapes)
        log("gradient g over all data: ‖g‖ = \(formatScientific(gradient.frobeniusNorm)), P = \(ggn.inputSize)")

        // 3. Dense reference.
        let (denseGGN, denseSeconds) = try timed { try ggn.dense() }
        log("dense GGN (\(ggn.inputSize) × \(ggn.inputSize)) by dense() in \(formatFixed(denseSeconds, decimals: 2)) s")
        let (reference, choleskySeconds) = try timed { try denseSolve(denseGGN, damping: damping, rightHandSide: gradient) }
        let compare = RowComparison(reference: reference, rightHandSide: gradient, damped: damped)
        var rows = [try compare("dense Cholesky (reference)", reference, iterations: nil, seconds: choleskySeconds)]
        log("dense solve by potrf and potrs in \(formatFixed(1000 * choleskySeconds, decimals: 1)) ms")

        // 4. Iterative solvers.
        let iterative = try iterativeRows(damped: damped, configuration: configuration, compare: compare, log: log)
        rows += iterative.rows

        // 5. KFAC and EKFAC inverses.
        rows += try kroneckerRows(model: model, data: data, damping: damping, compare: compare, log: log)

        // 6. Convergence histories for the plot.
        var histories: [ConvergenceHistory] = []
        if configuration.recordsConvergence {
            histories = try ConvergenceRecorder.histories(
                damped: damped, rightHandSide: gradient, configuration: configuration,
                cgIterations: iterative.cgIterations, lsmrIterations: iterative.lsmrIterations,
                neumannScale: iterative.neumannScale, log: log)
        }

        return MainJobResult(
            sampleCount: samples.count, hiddenUnits: configuration.hiddenUnits, parameterCount: ggn.inputSize,
            initialLoss: training.initialLoss, finalLoss: training.finalLoss, accuracy: accuracy, damping: damping,
            neumannScale: iterative.neumannScale, rows: rows, histories: histories)
    }

    /// Trains the network of the configuration and measures its training accuracy.
    private static func train(
        on data: [Batch<Double>], configuration: MainJobConfiguration, log: ProgressLog
    ) throws -> (training: (model: Sequential<Double>, initialLoss: Double, finalLoss: Double), accuracy: Double) {
        let initial = try DigitsTraining.makeModel(hiddenUnits: configuration.hiddenUnits, seed: configuration.seed)
        let training = try DigitsTraining.train(
            initial, on: data, steps: configuration.trainingSteps, learningRate: configuration.learningRate)
        let accuracy = try DigitsTraining.accuracy(of: training.model, on: data)
        log("trained \(configuration.trainingSteps) full-batch steps (lr \(configuration.learningRate)): loss "
            + "\(formatFixed(training.initialLoss, decimals: 4)) -> \(formatFixed(training.finalLoss, decimals: 4)), "
            + "accuracy \(formatFixed(100 * accuracy, decimals: 1)) %")
        return (training, accuracy)
    }

    /// Solves the damped system by CG, LSMR and Neumann and returns their rows,
    /// with the iteration counts and the scale the convergence plot reuses.
    private static func iterativeRows(
        damped: SumLinearOperator<Double>, configuration: MainJobConfiguration, compare: RowComparison,
        log: ProgressLog
    ) throws -> (rows: [MainJobRow], cgIterations: Int, lsmrIterations: Int, neumannScale: Double) {
        let gradient = compare.rightHandSide

        let cg = try CGInverseLinearOperator(
            damped, maxIterations: configuration.cgMaxIterations, tolerance: configuration.cgTolerance)
        let (cgResult, cgSeconds) = try timed { try cg.solve(gradient) }
        let cgIterations = cgResult.report.maximumIterations
        log("CG: \(cgIterations) iterations, relative residual \(formatScientific(cgResult.report.maximumRelativeResidualNorm))")

        let lsmr = try LSMRInverseLinearOperator(
            damped, atol: configuration.lsmrTolerance, btol: configuration.lsmrTolerance,
            maxIterations: configuration.lsmrMaxIterations)
        let (lsmrResult, lsmrSeconds) = try timed { try lsmr.solve(gradient) }
        let lsmrIterations = lsmrResult.report.maximumIterations
        let statistics = lsmrResult.report.columns.first?.lsmr
        log("LSMR: \(lsmrIterations) iterations, relative residual "
            + formatScientific(lsmrResult.report.maximumRelativeResidualNorm)
            + (statistics.map { ", istop \($0.istop.rawValue), estimate of ‖A‖_F \(formatScientific($0.norma))" } ?? ""))

        let ((neumann, neumannResult), neumannSeconds) = try timed {
            let neumann = try NeumannInverseLinearOperator(
                damped, terms: configuration.neumannTerms, estimatingScale: NeumannScaleEstimation())
            return (neumann, try neumann.solve(gradient))
        }
        log("Neumann: \(configuration.neumannTerms) terms at scale \(formatScientific(neumann.scale)), "
            + "relative residual \(formatScientific(neumannResult.report.maximumRelativeResidualNorm))")

        let rows = [
            try compare("CG", cgResult.solution, iterations: cgIterations, seconds: cgSeconds),
            try compare("LSMR", lsmrResult.solution, iterations: lsmrIterations, seconds: lsmrSeconds),
            try compare("Neumann", neumannResult.solution, iterations: configuration.neumannTerms, seconds: neumannSeconds),
        ]
        return (rows, cgIterations, lsmrIterations, neumann.scale)
    }

    /// Solves (G + λI)·x = b by Cholesky factorisation.
    static func denseSolve(_ g: Matrix<Double>, damping: Double, rightHandSide: Matrix<Double>) throws -> Matrix<Double> {
        var factor = g
        factor.withUnsafeMutableBufferPointer { entries in
            for i in 0..<g.rows {
                entries[i + i * g.rows] += damping
            }
        }
        try LAPACK.potrf(&factor)
        var solution = rightHandSide
        try LAPACK.potrs(factor: factor, solving: &solution)
        return solution
    }

    /// Computes KFAC and EKFAC and returns the rows of their inverses with exact damping.
    private static func kroneckerRows(
        model: Sequential<Double>, data: [Batch<Double>], damping: Double, compare: RowComparison, log: ProgressLog
    ) throws -> [MainJobRow] {
        let gradient = compare.rightHandSide
        let batchProgress: @Sendable (Int, Int) -> Void = { done, total in
            log("  batch \(done) of \(total)")
        }

        log("KFAC (type-2): computing the Kronecker factors over \(data.count) batches")
        let (kfac, kfacSeconds) = try timed {
            try CurvatureFactory.kfac(model: model, loss: DigitsTraining.loss, data: data, fisherType: .type2,
                                      progress: batchProgress)
        }
        log("KFAC factors computed in \(formatFixed(kfacSeconds, decimals: 2)) s")
        let (kfacSolution, kfacInverseSeconds) = try timed {
            try KFACInverseLinearOperator(kfac, damping: .exact(damping)).apply(gradient)
        }

        log("EKFAC (type-2): computing the factors, eigenbases and corrected eigenvalues")
        let (ekfac, ekfacSeconds) = try timed {
            try CurvatureFactory.ekfac(model: model, loss: DigitsTraining.loss, data: data, fisherType: .type2,
                                       progress: batchProgress)
        }
        log("EKFAC computed in \(formatFixed(ekfacSeconds, decimals: 2)) s")
        let (ekfacSolution, ekfacInverseSeconds) = try timed {
            try KFACInverseLinearOperator(ekfac, damping: .exact(damping)).apply(gradient)
        }

        return [
            try compare("KFAC inverse, exact damping", kfacSolution, iterations: nil, seconds: kfacInverseSeconds),
            try compare("EKFAC inverse, exact damping", ekfacSolution, iterations: nil, seconds: ekfacInverseSeconds),
        ]
    }
}

/// Compares solutions of (GGN + λI)·x = g with the dense solution x*.
struct RowComparison {
    let reference: Matrix<Double>
    let rightHandSide: Matrix<Double>
    let damped: any LinearOperator<Double>

    /// Compares one method's solution with x* and returns its table row.
    ///
    /// - Throws: Whatever the product with GGN + λI throws.
    func callAsFunction(_ method: String, _ solution: Matrix<Double>, iterations: Int?, seconds: Double) throws -> MainJobRow {
        let x = solution.elements
        let y = reference.elements
        var difference = 0.0
        var dot = 0.0
        var xx = 0.0
        var yy = 0.0
        for i in x.indices {
            difference += (x[i] - y[i]) * (x[i] - y[i])
            dot += x[i] * y[i]
            xx += x[i] * x[i]
            yy += y[i] * y[i]
        }
        var residual = rightHandSide
        residual.add(try damped.apply(solution), scaledBy: -1)
        return MainJobRow(
            method: method, relativeError: (difference / yy).squareRoot(),
            cosineSimilarity: dot / (xx * yy).squareRoot(), iterations: iterations, milliseconds: 1000 * seconds,
            solution: x, relativeResidual: residual.frobeniusNorm / rightHandSide.frobeniusNorm)
    }
}
