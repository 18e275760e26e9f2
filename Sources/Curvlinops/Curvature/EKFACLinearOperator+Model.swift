extension EKFACLinearOperator {
    /// Creates EKFAC of a network's loss over a data set, as curvlinops'
    /// `EKFACLinearOperator(model_func, loss_func, params, data, …)`.
    ///
    /// The computation takes two passes over the data. The first computes
    /// KFAC's factors A and G exactly as
    /// ``KFACLinearOperator/init(model:loss:parameters:data:fisherType:kfacApproximation:separateWeightAndBias:numPerExampleLossTerms:progress:)``
    /// does and their eigenvectors Q_A, Q_G (`syevd`, ascending eigenvalues).
    /// The second refits the eigenvalues to the per-example gradients
    /// Γ_n = Σ_s g_{n,s} ã_{n,s}ᵀ of every probe:
    ///
    /// ```
    /// Λ      = κρ²/M Σ_probes Σ_n (Q_Gᵀ Γ_n Q_A)∘2        (weight or joint block)
    /// λ_bias = κρ²/M Σ_probes Σ_n (Q_Gᵀ Σ_s g_{n,s})∘2    (separate bias block)
    /// ```
    ///
    /// Γ_n is built from the inputs at every position also for `.reduce`,
    /// which changes only A and G. The Monte-Carlo targets of both passes are
    /// the same.
    ///
    /// The data are computed on the first apply, matrix function, read or
    /// ``computeEigenvalueCorrection()``, exactly once, also when several
    /// threads ask at the same time.
    ///
    /// Like curvlinops, EKFAC does not support `.forwardOnly` (it has no
    /// gradients to refit with) or model outputs with more than two axes (the
    /// per-example gradient would mix the loss terms of a datum).
    ///
    /// - Parameters:
    ///   - model: The network; its current parameter values are used.
    ///   - loss: ``MSELoss``, ``CrossEntropyLoss`` or ``BCEWithLogitsLoss``.
    ///   - parameters: Names of the parameters EKFAC covers, as for KFAC.
    ///   - data: The batches; at least one.
    ///   - fisherType: `.type2`, `.monteCarlo` or `.empirical`. Default
    ///     `.monteCarlo(samples: 1, seed: 2147483647)`, curvlinops' default.
    ///   - kfacApproximation: The treatment of weight sharing in A and G. Default `.expand`.
    ///   - separateWeightAndBias: Whether weight and bias of a layer form
    ///     separate blocks. Default true.
    ///   - numPerExampleLossTerms: T; with a 2-D output only 1 or `nil` (the default) is valid.
    ///   - progress: Called after each batch of both passes, with the batches
    ///     completed and the total, twice the number of batches. Default `nil`.
    /// - Throws: As the KFAC initializer, and
    ///   ``CurvlinopsError/Kind/invalidArgument`` for `.forwardOnly`,
    ///   ``CurvlinopsError/Kind/unsupported`` for a model output with more than two axes.
    /// - Complexity: Two passes over the data; the second costs per batch one
    ///   forward pass, one backward pass per block of probes and gemms that
    ///   rotate the layer inputs and output gradients into the eigenbasis.
    public init(
        model: Sequential<Scalar>,
        loss: any Loss,
        parameters: [String],
        data: [Batch<Scalar>],
        fisherType: FisherType = .monteCarlo(samples: 1, seed: 2_147_483_647),
        kfacApproximation: KFACApproximation = .expand,
        separateWeightAndBias: Bool = true,
        numPerExampleLossTerms: Int? = nil,
        progress: KFACProgressHandler? = nil
    ) throws {
        let owner = "EKFACLinearOperator"
        if case .forwardOnly = fisherType {
            throw CurvlinopsError.invalidArgument(
                "\(owner): got fisherType = .forwardOnly, which has no gradients to correct the eigenvalues with; expected .type2, .monteCarlo or .empirical.")
        }
        let problem = try KFACModelProblem(
            owner: owner, model: model, loss: loss, parameters: parameters, data: data,
            fisherType: fisherType, kfacApproximation: kfacApproximation,
            separateWeightAndBias: separateWeightAndBias, numPerExampleLossTerms: numPerExampleLossTerms)
        let outputShape = try model.outputShape(forInput: data[0].input.shape)
        guard outputShape.count == 2 else {
            throw CurvlinopsError(.unsupported,
                "\(owner): the model output of data[0] has shape \(outputShape); EKFAC supports only 2-D outputs [batch, C], because a per-example gradient would mix the loss terms of a datum.")
        }

        let layout = try KroneckerLayout(
            parameterShapes: problem.problem.parameterShapes, layers: problem.kfacLayers,
            separateWeightAndBias: separateWeightAndBias, owner: owner)
        let batches = data.count
        try self.init(
            parameterShapes: problem.problem.parameterShapes, layers: problem.kfacLayers,
            fisherType: fisherType, kfacApproximation: kfacApproximation,
            separateWeightAndBias: separateWeightAndBias
        ) {
            let factors = try problem.kroneckerFactors(progress: progress, completedBatches: 0, totalBatches: 2 * batches)
            let eigendecompositions = try factors.eigendecompositions(layout: layout)
            let corrected = try problem.correctedEigenvalues(
                in: eigendecompositions, progress: progress, completedBatches: batches, totalBatches: 2 * batches)
            return (factors: factors, eigendecompositions: eigendecompositions, correctedEigenvalues: corrected)
        }
    }
}
