extension KFACLinearOperator {
    /// Creates KFAC of a network's loss over a data set, as curvlinops'
    /// `KFACLinearOperator(model_func, loss_func, params, data, …)`.
    ///
    /// For each `Linear` or `Conv2d` layer holding selected parameters, with
    /// N data, S weight-sharing positions (sequence positions of a `Linear`
    /// layer, output locations of a `Conv2d` layer, whose inputs are its
    /// unfolded patches) and κ, ρ² the loss scaling of ``Loss``:
    ///
    /// ```
    /// expand:  A = 1/(N·S) Σ_{n,s} ã_{n,s} ã_{n,s}ᵀ          G = κρ²/M Σ_probes Σ_{n,s} g_{n,s} g_{n,s}ᵀ
    /// reduce:  A = 1/N Σ_n ã_n ã_nᵀ, a_n = 1/S Σ_s a_{n,s}    G = κρ²/M Σ_probes Σ_n (Σ_s g_{n,s})(Σ_s g_{n,s})ᵀ
    /// ```
    ///
    /// where ã appends the constant 1 for a joint layer and g_{n,s} is the
    /// gradient at the layer's output of one probe: a cotangent of the
    /// network output placed on every loss term (n, t) at once. The probes
    /// are the columns of a square root of the loss Hessian (`.type2`, C
    /// probes), M gradients at sampled targets (`.monteCarlo`), the gradient
    /// at the true targets (`.empirical`, M = 1), or none with G = I
    /// (`.forwardOnly`). κ = 1/(N·T) for `.mean` and 1 for `.sum`; ρ² = 1/C
    /// for MSE and BCE with `.mean`, else 1. These are curvlinops 3.0.0's
    /// factors, scalings included.
    ///
    /// The factors are computed on the first apply, matrix function, factor
    /// read or ``computeKroneckerFactors()``, exactly once, also when several
    /// threads ask at the same time. Until then the operator keeps the
    /// network and the data; it uses the parameter values the network has now.
    ///
    /// ```swift
    /// let kfac = try KFACLinearOperator(
    ///     model: model, loss: CrossEntropyLoss(), parameters: model.parameterNames,
    ///     data: batches, fisherType: .type2)
    /// let product = try kfac.apply(vectors)      // P × k, two gemms per block
    /// let a = try kfac.inputCovariances["0"]!     // the first layer's input factor
    /// ```
    ///
    /// Unlike curvlinops, `samples ≠ 1` for a type other than Monte Carlo
    /// cannot be expressed (the count belongs to `.monteCarlo`), the number of
    /// data is always that of `data`, and there is no determinism check,
    /// because every computation here is deterministic. Monte-Carlo targets
    /// come from this library's generator and differ from PyTorch's for the
    /// same seed.
    ///
    /// - Parameters:
    ///   - model: The network; its current parameter values are used.
    ///   - loss: ``MSELoss``, ``CrossEntropyLoss`` or ``BCEWithLogitsLoss``.
    ///   - parameters: Names of the parameters KFAC covers (`"0.weight"`): any
    ///     non-empty subset of the parameters of `Linear` and `Conv2d` layers,
    ///     in any order, a weight without its bias or a bias without its
    ///     weight; the order given is the block order.
    ///   - data: The batches; at least one, all with the same shape after the batch axis.
    ///   - fisherType: How the gradient factors are obtained. Default
    ///     `.monteCarlo(samples: 1, seed: 2147483647)`, curvlinops' default,
    ///     which costs one backward pass per batch; `.type2` is exact but
    ///     costs C. Memory grows with the Monte-Carlo sample count M: the M
    ///     sampled output gradients of a batch, M·N_b·T·C values, are held at
    ///     once, while the backward passes run in blocks of them.
    ///   - kfacApproximation: The treatment of weight sharing. Default
    ///     `.expand`, curvlinops' default. Without weight sharing both agree.
    ///   - separateWeightAndBias: Whether weight and bias of a layer form
    ///     separate blocks. Default true, curvlinops' default.
    ///   - numPerExampleLossTerms: T, the loss terms per datum (the sequence
    ///     length of a sequence output, else 1). Default `nil`: read from the
    ///     model output. A value that differs from the output's T throws,
    ///     because the data are at hand and the wrong T would only rescale
    ///     the factors of a `.mean` loss.
    ///   - progress: Called after each batch of the pass over the data with
    ///     the batches completed and their total; it must not use this
    ///     operator (see ``KFACProgressHandler``). Default `nil`: no reports.
    /// - Throws: ``CurvlinopsError`` naming the argument, before any pass over
    ///   the data: `invalidArgument` for Monte-Carlo samples below 1 or so
    ///   many that the sampled gradients of a batch would take more bytes
    ///   than `Int` can count, a given
    ///   T below 1 or different from the data's, empty data, an empty, unknown
    ///   or repeated parameter name, or a class index out of range;
    ///   `unsupported` for a selected parameter of another layer than
    ///   `Linear` or `Conv2d`, or a loss of your own; `shapeMismatch` for an
    ///   input that does not fit the network or gives an output with an axis
    ///   of size 0 (no loss terms), a model output with fewer than
    ///   two axes (after moving the class axis last and merging the others,
    ///   every loss term must be a row of a 2-D matrix), a target that does
    ///   not fit the output, or batches whose outputs differ after the batch
    ///   axis; `nonFiniteValue` for NaN or infinite inputs or targets.
    /// - Complexity: The factor computation costs, per batch, one forward
    ///   pass, one backward pass per block of probes and one syrk per factor
    ///   over all data and positions of the batch.
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
        let problem = try KFACModelProblem(
            owner: "KFACLinearOperator", model: model, loss: loss, parameters: parameters, data: data,
            fisherType: fisherType, kfacApproximation: kfacApproximation,
            separateWeightAndBias: separateWeightAndBias, numPerExampleLossTerms: numPerExampleLossTerms)
        let batches = data.count
        try self.init(
            parameterShapes: problem.problem.parameterShapes, layers: problem.kfacLayers,
            fisherType: fisherType, kfacApproximation: kfacApproximation,
            separateWeightAndBias: separateWeightAndBias
        ) {
            try problem.kroneckerFactors(progress: progress, completedBatches: 0, totalBatches: batches)
        }
    }
}
