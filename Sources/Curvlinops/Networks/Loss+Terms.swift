/// How a loss cuts a model output into terms of C entries.
///
/// Loss computations run on the *term-major* form of an output: a matrix of
/// R = batch·T rows (term (n, t) is row n·T + t) and C columns. For MSE and
/// BCE that is the output's own memory. For cross-entropy with extra axes
/// ([batch, C, d1, …]) the class axis is first moved to the end.
struct LossTermLayout: Sendable, Equatable {
    /// The batch size N_b.
    let batchSize: Int

    /// The number of terms per sample, T.
    let termsPerExample: Int

    /// The entries per term, C (classes for cross-entropy).
    let classes: Int

    /// Whether the class axis is axis 1 of the output (cross-entropy).
    let classAxisIsOne: Bool

    /// The number of terms, R = N_b·T.
    var rows: Int { batchSize * termsPerExample }

    /// Converts k stacked output-shaped tensors [k·batch, …] to term-major [k·R, C].
    func termMajor<Scalar: LapackScalar>(_ tensor: Tensor<Scalar>, count k: Int) -> Tensor<Scalar> {
        if classAxisIsOne {
            return tensor.swappingAxes(outer: k * batchSize, first: classes, second: termsPerExample, inner: 1,
                                       newShape: [k * rows, classes])
        }
        return tensor.reshapedUnchecked([k * rows, classes])
    }

    /// Converts k stacked term-major tensors [k·R, C] to the output layout `stackedShape(outputShape, k)`.
    func outputMajor<Scalar: LapackScalar>(_ tensor: Tensor<Scalar>, count k: Int, outputShape: [Int]) -> Tensor<Scalar> {
        let shape = stackedShape(outputShape, count: k)
        if classAxisIsOne {
            return tensor.swappingAxes(outer: k * batchSize, first: termsPerExample, second: classes, inner: 1,
                                       newShape: shape)
        }
        return tensor.reshapedUnchecked(shape)
    }
}

/// The per-term mathematics of a loss, on term-major logits f ([R, C]).
///
/// Targets are term-major too: class indices [R] for cross-entropy, [R, C]
/// otherwise. Every function is the *sum form* l of ``Loss``, without κ and ρ².
protocol DifferentiableLoss: Loss {
    /// Whether ρ² = 1/C under `.mean` (MSE, BCE), as opposed to 1 (cross-entropy).
    var averagesOverClasses: Bool { get }

    /// Returns the term layout of an output, or throws `shapeMismatch`.
    func termLayout(outputShape: [Int]) throws -> LossTermLayout

    /// Checks a target against an output shape: shape, finiteness, and class range.
    ///
    /// - Parameter argument: How to name the target in messages, e.g. `"data[2].target"`.
    func validateTarget<Scalar: LapackScalar>(_ target: Tensor<Scalar>, outputShape: [Int], argument: String) throws

    /// Σ over rows of l(f_r, y_r).
    func sumOfLosses<Scalar: LapackScalar>(logits: Tensor<Scalar>, targets: Tensor<Scalar>, layout: LossTermLayout) -> Scalar

    /// ∇l(f_r, y_r) for every row, [R, C].
    func gradients<Scalar: LapackScalar>(logits: Tensor<Scalar>, targets: Tensor<Scalar>, layout: LossTermLayout) -> Tensor<Scalar>

    /// ∇²l(f_r) · u for every row of k stacked tangents u, [k·R, C].
    func hessianProducts<Scalar: LapackScalar>(
        logits: Tensor<Scalar>, tangents: Tensor<Scalar>, count k: Int, layout: LossTermLayout) -> Tensor<Scalar>

    /// The columns of the square root S_r (S_r·S_rᵀ = ∇²l(f_r)): probe c contains
    /// column c of every row's S_r, stacked as [C·R, C].
    func hessianSquareRoots<Scalar: LapackScalar>(logits: Tensor<Scalar>, layout: LossTermLayout) -> Tensor<Scalar>

    /// Targets drawn from the model's predictive distribution q(· | f_r), one
    /// per row, term-major; E[∇l ∇lᵀ] under them equals ∇²l.
    func sampleTargets<Scalar: LapackScalar>(
        logits: Tensor<Scalar>, layout: LossTermLayout, using generator: inout SeededGenerator) -> Tensor<Scalar>
}

extension DifferentiableLoss {
    /// Returns the factors κ and ρ² of ``Loss`` for a data set of `numberOfSamples` samples.
    func scaling<Scalar: LapackScalar>(numberOfSamples: Int, layout: LossTermLayout) -> (kappa: Scalar, rho2: Scalar) {
        switch reduction {
        case .sum:
            return (1, 1)
        case .mean:
            let kappa = 1 / Scalar(numberOfSamples * layout.termsPerExample)
            return (kappa, averagesOverClasses ? 1 / Scalar(layout.classes) : 1)
        }
    }
}

/// One batch's output cut into loss terms: the entry point for loss values,
/// gradients, Hessian products, Hessian square roots and sampled gradients in
/// the output's own layout.
///
/// All results are in the sum form (no κ, ρ²). k stacked vectors use the
/// stacking of ``DifferentiableLayer``: [k·batch, output axes…].
struct LossTerms<Scalar: LapackScalar> {
    let loss: any DifferentiableLoss
    let layout: LossTermLayout
    let outputShape: [Int]

    /// The term-major logits, [R, C].
    let logits: Tensor<Scalar>

    /// Cuts an output into terms; the layout must come from `loss.termLayout(outputShape:)`.
    init(loss: any DifferentiableLoss, output: Tensor<Scalar>, layout: LossTermLayout) {
        self.loss = loss
        self.layout = layout
        self.outputShape = output.shape
        self.logits = layout.termMajor(output, count: 1)
    }

    /// Σ_{n,t} l(f_{n,t}, y_{n,t}) for a validated target.
    func sumOfLosses(target: Tensor<Scalar>) -> Scalar {
        loss.sumOfLosses(logits: logits, targets: termMajorTarget(target), layout: layout)
    }

    /// ∇l(f_{n,t}, y_{n,t}) for every term, in the output's shape.
    func gradients(target: Tensor<Scalar>) -> Tensor<Scalar> {
        let rows = loss.gradients(logits: logits, targets: termMajorTarget(target), layout: layout)
        return layout.outputMajor(rows, count: 1, outputShape: outputShape)
    }

    /// ∇²l(f_{n,t}) applied term by term to k stacked output tangents.
    func hessianProducts(_ tangents: Tensor<Scalar>, count k: Int) -> Tensor<Scalar> {
        let rows = loss.hessianProducts(
            logits: logits, tangents: layout.termMajor(tangents, count: k), count: k, layout: layout)
        return layout.outputMajor(rows, count: k, outputShape: outputShape)
    }

    /// Returns the C probes of the Hessian square roots as C stacked output cotangents:
    /// probe c carries column c of S_{n,t} on every term (n, t), S·Sᵀ = ∇²l.
    ///
    /// The square roots are: cross-entropy `S = diag(√p) − p·√pᵀ`, MSE `√2·I`,
    /// BCE `diag(√(s(1 − s)))`.
    func hessianSquareRoots() -> Tensor<Scalar> {
        let rows = loss.hessianSquareRoots(logits: logits, layout: layout)
        return layout.outputMajor(rows, count: layout.classes, outputShape: outputShape)
    }

    /// `samples` stacked output cotangents ∇l(f_{n,t}, ỹ_{n,t}) with targets ỹ
    /// drawn from the model's predictive distribution, independently per term
    /// and sample.
    ///
    /// The distributions: cross-entropy ỹ ~ Categorical(softmax f); MSE
    /// ỹ ~ N(f, I/2); BCE ỹ_c ~ Bernoulli(sigmoid f_c). Under each, the expected
    /// outer product of the gradient is the Hessian ∇²l.
    func sampledGradients(samples: Int, using generator: inout SeededGenerator) -> Tensor<Scalar> {
        var stacked: [Scalar] = []
        stacked.reserveCapacity(samples * logits.count)
        for _ in 0..<samples {
            let targets = loss.sampleTargets(logits: logits, layout: layout, using: &generator)
            stacked += loss.gradients(logits: logits, targets: targets, layout: layout).elements
        }
        let rows = Tensor(uncheckedShape: [samples * layout.rows, layout.classes], elements: stacked)
        return layout.outputMajor(rows, count: samples, outputShape: outputShape)
    }

    /// Σ_m g_m·(g_mᵀ u) applied term by term to k stacked output tangents u,
    /// for `samples` stacked output-shaped vectors g_m (for example the
    /// results of ``gradients(target:)`` or ``sampledGradients(samples:using:)``).
    ///
    /// - Complexity: O(k · samples · R · C).
    func gradientOuterProducts(_ gradients: Tensor<Scalar>, samples: Int, tangents: Tensor<Scalar>, count k: Int) -> Tensor<Scalar> {
        let g = layout.termMajor(gradients, count: samples)
        let u = layout.termMajor(tangents, count: k)
        let (rows, c) = (layout.rows, layout.classes)
        let products = g.withUnsafeBufferPointer { g in
            u.withUnsafeBufferPointer { u in
                Tensor<Scalar>(shape: [k * rows, c]) { result in
                    for j in 0..<k {
                        for row in 0..<rows {
                            let tangent = u.baseAddress! + (j * rows + row) * c
                            let target = result.baseAddress! + (j * rows + row) * c
                            for m in 0..<samples {
                                let gradient = g.baseAddress! + (m * rows + row) * c
                                var inner: Scalar = 0
                                for i in 0..<c { inner += gradient[i] * tangent[i] }
                                for i in 0..<c { target[i] += inner * gradient[i] }
                            }
                        }
                    }
                }
            }
        }
        return layout.outputMajor(products, count: k, outputShape: outputShape)
    }

    /// Returns the target in term-major form: [R] class indices or [R, C] values.
    private func termMajorTarget(_ target: Tensor<Scalar>) -> Tensor<Scalar> {
        loss is CrossEntropyLoss
            ? target.reshapedUnchecked([layout.rows])
            : target.reshapedUnchecked([layout.rows, layout.classes])
    }
}

/// Checks finiteness of a target and names the first bad entry.
func validateFiniteTarget<Scalar: LapackScalar>(_ target: Tensor<Scalar>, owner: String, argument: String) throws {
    if let index = target.firstNonFiniteIndex {
        throw CurvlinopsError.nonFinite(
            "\(owner): \(argument) contains \(target.elements[index]) at flat index \(index); expected finite values.")
    }
}
