// EKFAC's second pass over the data: the curvature's diagonal in KFAC's
// eigenbasis (George et al. 2018). With Q_A, Q_G the eigenvectors of a
// layer's factors and, for each probe and datum n, the per-example gradient
// Γ_n = Σ_s g_{n,s} ã_{n,s}ᵀ (always from the per-position inputs, also for
// KFAC-reduce):
//
//     Λ      = κρ²/M Σ_probes Σ_n (Q_Gᵀ Γ_n Q_A)∘2
//     λ_bias = κρ²/M Σ_probes Σ_n (Q_Gᵀ Σ_s g_{n,s})∘2
//
// The rotation is applied to the vectors first: with g' = Q_Gᵀ g and
// a' = Q_Aᵀ ã, Q_Gᵀ Γ_n Q_A = Σ_s g'_{n,s} a'_{n,s}ᵀ. Without weight sharing
// (S = 1) the square of that outer product is (g'∘2)(a'∘2)ᵀ, so a whole
// batch is one gemm; with S > 1 each datum's Γ_n for all probes is one gemm.

extension KFACModelProblem {
    /// Computes the corrected eigenvalues of every layer in one pass over the data.
    ///
    /// - Parameters:
    ///   - eigendecompositions: The eigendecompositions of the KFAC factors, keyed by layer name.
    ///   - progress: Called after each batch with `completedBatches + batch + 1` and `totalBatches`.
    ///   - completedBatches: Batches completed before this pass.
    ///   - totalBatches: The total to report.
    /// - Throws: ``CurvlinopsError/Kind/unsupported`` when a dimension exceeds
    ///   the 32-bit BLAS range.
    /// - Complexity: Per batch one forward pass, one backward pass per block
    ///   of probes, and per layer gemms of about 2·k·N_b·S·d_out·(d_out + d_in)
    ///   flops (k probes, N_b data), plus 2·k·N_b·S·d_out·d_in for S > 1.
    func correctedEigenvalues(
        in eigendecompositions: [String: KFACLayerEigendecomposition<Scalar>],
        progress: KFACProgressHandler?, completedBatches: Int, totalBatches: Int
    ) throws -> [String: EKFACCorrectedEigenvalues<Scalar>] {
        var weightSums: [Tensor<Scalar>?] = layers.map {
            $0.hasWeight ? Tensor(zeros: [$0.outputDimension, $0.inputFactorDimension]) : nil
        }
        var biasSums: [Tensor<Scalar>?] = layers.map {
            $0.hasBias && !$0.joint ? Tensor(zeros: [$0.outputDimension]) : nil
        }

        for index in problem.data.indices {
            let evaluation = try problem.evaluate(batch: index)
            guard let probes = gradientProbes(for: evaluation) else {
                preconditionFailure("EKFAC was built with fisherType \(fisherType), which has no probes")
            }
            let rotatedInputs: [Tensor<Scalar>?] = try layers.map { layer in
                guard layer.hasWeight else { return nil }
                return try rotatedInputVectors(
                    of: layer, pass: evaluation.pass, eigenvectors: eigendecompositions[layer.name]!.input!.eigenvectors)
            }
            try forEachProbeBlock(of: probes, pass: evaluation.pass) { gradients, k in
                for (position, layer) in layers.enumerated() {
                    let layerGradients = gradients[layer.index]!
                    let rotated = try rotatedRows(
                        layerGradients, by: eigendecompositions[layer.name]!.gradient.eigenvectors)
                    let (batch, positions) = (layerGradients.shape[1], layerGradients.shape[2])
                    if let inputs = rotatedInputs[position] {
                        try accumulateWeightEigenvalues(
                            gradients: rotated, inputs: inputs, probes: k, batch: batch, positions: positions,
                            into: &weightSums[position]!)
                    }
                    if biasSums[position] != nil {
                        accumulateBiasEigenvalues(
                            gradients: rotated, vectors: k * batch, positions: positions, into: &biasSums[position]!)
                    }
                }
            }
            progress?(completedBatches + index + 1, totalBatches)
        }

        return try correctedEigenvalues(weightSums: weightSums, biasSums: biasSums)
    }

    /// Scales the sums by κρ²/M and shapes them as the layers need them.
    private func correctedEigenvalues(
        weightSums: [Tensor<Scalar>?], biasSums: [Tensor<Scalar>?]
    ) throws -> [String: EKFACCorrectedEigenvalues<Scalar>] {
        var result: [String: EKFACCorrectedEigenvalues<Scalar>] = [:]
        for (position, layer) in layers.enumerated() {
            let weight = try weightSums[position].map { sums in
                var scaled = sums
                scaled.scale(by: probeScale)
                return try Matrix(rows: layer.outputDimension, columns: layer.inputFactorDimension, rowMajor: scaled.elements)
            }
            if layer.joint {
                result[layer.name] = .joint(weight!)
                continue
            }
            let bias = biasSums[position].map { sums in sums.elements.map { $0 * probeScale } }
            result[layer.name] = .separate(weight: weight, bias: bias)
        }
        return result
    }

    /// Returns the layer's inputs at every position in the input factor's
    /// eigenbasis: rows a'_{n,s} = Q_Aᵀ ã_{n,s}, shape [batch·S, d_in (+1 when joint)].
    private func rotatedInputVectors(
        of layer: Layer, pass: ForwardPass<Scalar>, eigenvectors: Matrix<Scalar>
    ) throws -> Tensor<Scalar> {
        let inputs = problem.model.weightSharingInputs(of: pass, layer: layer.index)
        let d = layer.inputDimension
        let rows = inputs.count / d
        guard layer.joint else {
            return try rotatedRows(inputs, by: eigenvectors)
        }
        let extended = inputs.withUnsafeBufferPointer { source in
            Tensor<Scalar>(shape: [rows, d + 1]) { target in
                for row in 0..<rows {
                    (target.baseAddress! + row * (d + 1)).update(from: source.baseAddress! + row * d, count: d)
                    target[row * (d + 1) + d] = 1
                }
            }
        }
        return try rotatedRows(extended, by: eigenvectors)
    }

    /// Adds Σ_probes Σ_n (Σ_s g'_{n,s} a'_{n,s}ᵀ)∘2 to `sums` ([d_out, c], row-major).
    ///
    /// - Parameters:
    ///   - gradients: Rotated output gradients [k, batch, S, d_out].
    ///   - inputs: Rotated inputs [batch·S, c].
    private func accumulateWeightEigenvalues(
        gradients: Tensor<Scalar>, inputs: Tensor<Scalar>, probes k: Int, batch: Int, positions: Int,
        into sums: inout Tensor<Scalar>
    ) throws {
        let (dOut, c) = (sums.shape[0], sums.shape[1])
        if positions == 1 {
            // Σ_probes Σ_n (g'∘2)(a'∘2)ᵀ = wᵀ·v with w[n] = Σ_probes g'_n∘2 and v[n] = a'_n∘2.
            let w = squaredSumOverProbes(gradients, probes: k, rowLength: batch * dOut)
            let v = squared(inputs)
            try gemm(w, v, transposeA: true, m: dOut, n: c, k: batch, beta: 1, into: &sums)
            return
        }

        // Per datum n: P_n = [S, k·d_out] (positions by probes and outputs) and
        // R_n = P_nᵀ·a'_n = [k·d_out, c], the rotated Γ_n of every probe.
        let byDatum = gradients.swappingAxes(
            outer: 1, first: k, second: batch * positions, inner: dOut, newShape: [batch, positions, k * dOut])
        var products = Tensor<Scalar>(zeros: [k * dOut, c])
        let blockSize = dOut * c
        for n in 0..<batch {
            try byDatum.withUnsafeBufferPointer { p in
                try inputs.withUnsafeBufferPointer { a in
                    try products.withUnsafeMutableBufferPointer { r in
                        try rowMajorGemm(
                            transposeA: true, m: k * dOut, n: c, k: positions,
                            a: p.baseAddress! + n * positions * k * dOut, lda: k * dOut,
                            b: a.baseAddress! + n * positions * c, ldb: c,
                            c: r.baseAddress!, ldc: c)
                    }
                }
            }
            products.withUnsafeBufferPointer { r in
                sums.withUnsafeMutableBufferPointer { target in
                    for j in 0..<k {
                        let block = r.baseAddress! + j * blockSize
                        for e in 0..<blockSize {
                            target[e] += block[e] * block[e]
                        }
                    }
                }
            }
        }
    }

    /// Adds Σ over `vectors` = probes·batch rows of (Σ_s g'_{n,s})∘2 to `sums` ([d_out]).
    private func accumulateBiasEigenvalues(
        gradients: Tensor<Scalar>, vectors: Int, positions: Int, into sums: inout Tensor<Scalar>
    ) {
        let d = sums.count
        let summed = positions == 1 ? gradients : gradients.sumsOverRows(blocks: vectors, features: d)
        summed.withUnsafeBufferPointer { g in
            sums.withUnsafeMutableBufferPointer { target in
                for row in 0..<vectors {
                    let values = g.baseAddress! + row * d
                    for e in 0..<d {
                        target[e] += values[e] * values[e]
                    }
                }
            }
        }
    }
}

/// Returns the rows of a row-major tensor [rows, d] multiplied by Q (d × d,
/// column-major): row r becomes Qᵀ·x_r, its coordinates in Q's columns.
///
/// - Complexity: One gemm, 2·rows·d² flops.
func rotatedRows<Scalar: LapackScalar>(_ tensor: Tensor<Scalar>, by q: Matrix<Scalar>) throws -> Tensor<Scalar> {
    let d = q.rows
    precondition(q.isSquare && d > 0 && tensor.count % d == 0, "rotatedRows: \(tensor.shape) does not fit \(d) × \(d)")
    let rows = tensor.count / d
    var result = Tensor<Scalar>(zeros: [rows, d])
    // Q's column-major storage read row-major is Qᵀ, so op(B) = (Qᵀ)ᵀ = Q.
    let qStorage = Tensor(uncheckedShape: [d, d], elements: q.elements)
    try gemm(tensor, qStorage, transposeB: true, m: rows, n: d, k: d, into: &result)
    return result
}

/// Returns the entry-wise squares of a tensor.
private func squared<Scalar: LapackScalar>(_ tensor: Tensor<Scalar>) -> Tensor<Scalar> {
    tensor.withUnsafeBufferPointer { source in
        Tensor(shape: tensor.shape) { target in
            for e in 0..<source.count {
                target[e] = source[e] * source[e]
            }
        }
    }
}

/// Returns Σ_j x_j∘2 over the k stacked blocks x_j of `rowLength` entries of a tensor, shape [rowLength].
private func squaredSumOverProbes<Scalar: LapackScalar>(_ tensor: Tensor<Scalar>, probes k: Int, rowLength: Int) -> Tensor<Scalar> {
    tensor.withUnsafeBufferPointer { source in
        Tensor(shape: [rowLength]) { target in
            for j in 0..<k {
                let block = source.baseAddress! + j * rowLength
                for e in 0..<rowLength {
                    target[e] += block[e] * block[e]
                }
            }
        }
    }
}
