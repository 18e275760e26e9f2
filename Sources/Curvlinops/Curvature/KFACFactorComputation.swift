// The pass over the data that accumulates KFAC's Kronecker factors. For a
// layer with inputs a_{n,s} and output gradients g_{n,s} at the
// weight-sharing positions s = 1…S:
//
//     expand:  A = 1/(N·S) Σ_{n,s} ã_{n,s} ã_{n,s}ᵀ,   G = κρ²/M Σ_probes Σ_{n,s} g_{n,s} g_{n,s}ᵀ
//     reduce:  A = 1/N Σ_n ã_n ã_nᵀ with ã_n = [mean_s a_{n,s}; 1 if joint],
//              G = κρ²/M Σ_probes Σ_n (Σ_s g_{n,s})(Σ_s g_{n,s})ᵀ
//
// where ã appends the constant 1 for a joint layer, and each probe is one
// cotangent of the network output placed on every loss term at once and
// back-propagated in one pass (M = Monte-Carlo samples, else 1). Every sum
// over samples and positions of a batch is one syrk.

/// Receives the progress of a pass over the data: batches completed so far and their total.
///
/// The handler runs once after each batch, on the thread that computes the
/// factors, while that thread holds the operator's lock. It must not use the
/// operator it reports on, because that would deadlock.
public typealias KFACProgressHandler = @Sendable (_ completedBatches: Int, _ totalBatches: Int) -> Void

/// The output cotangents a Fisher type back-propagates for one batch.
struct GradientProbes<Scalar: LapackScalar> {
    /// k cotangents of the network output, stacked as [k·batch, output axes…].
    let cotangents: Tensor<Scalar>

    /// The number of probes, k.
    let count: Int
}

extension KFACModelProblem {
    /// Computes every layer's input and gradient factor in one pass over the data.
    ///
    /// - Parameters:
    ///   - progress: Called after each batch with `completedBatches + batch + 1`
    ///     and `totalBatches`.
    ///   - completedBatches: Batches completed before this pass (EKFAC's
    ///     second pass reports after the first).
    ///   - totalBatches: The total to report.
    /// - Throws: A ``CurvlinopsError`` of kind `unsupported` when a dimension
    ///   exceeds the 32-bit BLAS range.
    /// - Complexity: Per batch one forward pass, one backward pass per block
    ///   of probes (C probes for type-2, M for Monte Carlo, 1 for empirical,
    ///   none for forward-only) and one syrk per factor.
    func kroneckerFactors(
        progress: KFACProgressHandler?, completedBatches: Int, totalBatches: Int
    ) throws -> KFACFactors<Scalar> {
        var inputFactors: [Matrix<Scalar>?] = layers.map {
            $0.hasWeight ? Matrix(zeros: $0.inputFactorDimension, $0.inputFactorDimension) : nil
        }
        var gradientFactors = layers.map { Matrix<Scalar>(zeros: $0.outputDimension, $0.outputDimension) }

        for index in problem.data.indices {
            let evaluation = try problem.evaluate(batch: index)
            for (position, layer) in layers.enumerated() where layer.hasWeight {
                try accumulateInputFactor(of: layer, pass: evaluation.pass, into: &inputFactors[position]!)
            }
            if let probes = gradientProbes(for: evaluation) {
                try forEachProbeBlock(of: probes, pass: evaluation.pass) { gradients, _ in
                    for (position, layer) in layers.enumerated() {
                        try accumulateGradientFactor(gradients[layer.index]!, into: &gradientFactors[position])
                    }
                }
            }
            progress?(completedBatches + index + 1, totalBatches)
        }

        var factors = KFACFactors<Scalar>(inputCovariances: [:], gradientCovariances: [:])
        for (position, layer) in layers.enumerated() {
            if var input = inputFactors[position] {
                input.symmetrize(fromLower: true)
                factors.inputCovariances[layer.name] = input
            }
            if case .forwardOnly = fisherType {
                factors.gradientCovariances[layer.name] = .identity(layer.outputDimension)
            } else {
                gradientFactors[position].symmetrize(fromLower: true)
                factors.gradientCovariances[layer.name] = gradientFactors[position]
            }
        }
        return factors
    }

    /// Returns the probes of one batch in sum form (without κ and ρ²), or `nil` for forward-only.
    ///
    /// - type-2: the C columns of the loss Hessian's square root S (S·Sᵀ = ∇²l) on every term;
    /// - Monte Carlo: M gradients at targets drawn from the model's predictive
    ///   distribution, from a generator seeded with the seed and the batch's
    ///   position, so that every pass over the data draws the same targets;
    /// - empirical: the gradient at the true targets.
    func gradientProbes(for evaluation: BatchEvaluation<Scalar>) -> GradientProbes<Scalar>? {
        switch fisherType {
        case .type2:
            return GradientProbes(cotangents: evaluation.terms.hessianSquareRoots(), count: problem.classes)
        case let .monteCarlo(samples, seed):
            var generator = SeededGenerator(seed: seed, stream: UInt64(evaluation.index))
            return GradientProbes(
                cotangents: evaluation.terms.sampledGradients(samples: samples, using: &generator), count: samples)
        case .empirical:
            return GradientProbes(cotangents: evaluation.terms.gradients(target: evaluation.batch.target), count: 1)
        case .forwardOnly:
            return nil
        }
    }

    /// Back-propagates the probes in blocks and passes each block's output
    /// gradients of the KFAC layers ([k, batch, S, d_out], keyed by layer
    /// position in the network) and its size k to `body`.
    ///
    /// A block holds as many probes as keep the stacked activations below
    /// about `problem.maxStackedEntries` entries, so that type-2 KFAC with
    /// many classes on a large batch does not exhaust memory.
    func forEachProbeBlock(
        of probes: GradientProbes<Scalar>, pass: ForwardPass<Scalar>,
        _ body: ([Int: Tensor<Scalar>], Int) throws -> Void
    ) throws {
        let entriesPerProbe = pass.records.reduce(0) { $0 + $1.output.count + ($1.unfoldedInput?.count ?? 0) }
        let blockSize = max(1, problem.maxStackedEntries / max(1, entriesPerProbe))
        let probeLength = probes.cotangents.count / probes.count
        let layerIndices = Set(layers.map(\.index))
        for start in stride(from: 0, to: probes.count, by: blockSize) {
            let k = min(blockSize, probes.count - start)
            let block = k == probes.count
                ? probes.cotangents
                : Tensor(uncheckedShape: stackedShape(pass.output.shape, count: k),
                         elements: Array(probes.cotangents.elements[(start * probeLength)..<((start + k) * probeLength)]))
            let gradients = try problem.model.weightSharingOutputGradients(
                of: pass, outputCotangents: block, count: k, layers: layerIndices)
            try body(gradients, k)
        }
    }

    /// Adds one batch's contribution to a layer's input factor (lower triangle).
    private func accumulateInputFactor(of layer: Layer, pass: ForwardPass<Scalar>, into factor: inout Matrix<Scalar>) throws {
        let inputs = problem.model.weightSharingInputs(of: pass, layer: layer.index)
        let (batch, positions, d) = (inputs.shape[0], inputs.shape[1], inputs.shape[2])
        let numData = Scalar(problem.numData)

        let vectors: Tensor<Scalar>
        let scale: Scalar
        switch kfacApproximation {
        case .expand:
            vectors = inputs
            scale = 1 / (numData * Scalar(positions))
        case .reduce where positions == 1:
            vectors = inputs
            scale = 1 / numData
        case .reduce:
            var means = inputs.sumsOverRows(blocks: batch, features: d)
            means.scale(by: 1 / Scalar(positions))
            vectors = means
            scale = 1 / numData
        }
        let count = vectors.count / d
        try addGramMatrix(of: vectors, rows: count, columns: d, scaledBy: scale, into: &factor)

        if layer.joint {
            // The appended constant 1 adds Σ a to the last row and the number of vectors to the corner.
            let sums = vectors.sumsOverRows(blocks: 1, features: d)
            let leading = factor.rows
            factor.withUnsafeMutableBufferPointer { f in
                for j in 0..<d {
                    f[d + j * leading] += scale * sums.elements[j]
                }
                f[d + d * leading] += scale * Scalar(count)
            }
        }
    }

    /// Adds one block of probes' contribution to a layer's gradient factor (lower triangle).
    private func accumulateGradientFactor(_ gradients: Tensor<Scalar>, into factor: inout Matrix<Scalar>) throws {
        let (vectorsPerPosition, positions, d) = (gradients.shape[0] * gradients.shape[1], gradients.shape[2], gradients.shape[3])
        let vectors = kfacApproximation == .reduce && positions > 1
            ? gradients.sumsOverRows(blocks: vectorsPerPosition, features: d)
            : gradients
        try addGramMatrix(of: vectors, rows: vectors.count / d, columns: d, scaledBy: probeScale, into: &factor)
    }
}

/// Adds α·XᵀX to the lower triangle of the leading d × d block of `c`, for X
/// the row-major `rows` × d matrix in `x`.
///
/// A row-major X is the column-major d × rows matrix Xᵀ, so this is one
/// syrk without transposition. `c` may be larger than d × d (a joint input
/// factor keeps its last row and column for the constant input).
///
/// - Throws: ``CurvlinopsError/Kind/unsupported`` when a dimension exceeds the 32-bit BLAS range.
/// - Complexity: rows·d² flops.
func addGramMatrix<Scalar: LapackScalar>(
    of x: Tensor<Scalar>, rows: Int, columns d: Int, scaledBy alpha: Scalar, into c: inout Matrix<Scalar>
) throws {
    precondition(x.count == rows * d && c.rows >= d && c.isSquare, "addGramMatrix: shapes do not fit")
    guard rows > 0, d > 0 else { return }
    let n32 = try lapackInteger(d, "n", routine: "syrk")
    let k32 = try lapackInteger(rows, "k", routine: "syrk")
    let leading = try lapackInteger(c.rows, "ldc", routine: "syrk")
    x.withUnsafeBufferPointer { a in
        c.withUnsafeMutableBufferPointer { target in
            Scalar.syrk(lower: true, transpose: false, n: n32, k: k32, alpha: alpha,
                        a: a.baseAddress!, lda: n32, beta: 1, c: target.baseAddress!, ldc: leading)
        }
    }
}
