/// A Monte-Carlo estimate of the Fisher information matrix of a network's
/// loss over a data set, as curvlinops' `FisherMCLinearOperator`.
///
/// ```
/// F̂ = κ·ρ² · (1/M) · Σ_{n,t} Σ_{m=1}^{M} (J_{n,t}ᵀ g̃_{n,t,m}) (J_{n,t}ᵀ g̃_{n,t,m})ᵀ,
/// g̃_{n,t,m} = ∇l(f_{n,t}, ỹ_{n,t,m}),   ỹ_{n,t,m} ~ q(· | f_{n,t})
/// ```
///
/// with M = `samples` targets drawn per term from the model's predictive
/// distribution: cross-entropy Categorical(softmax f), MSE N(f, I/2), BCE
/// Bernoulli(sigmoid f) per entry. For each, E[g̃ g̃ᵀ] = ∇²l, so E[F̂] is the
/// GGN (``GGNLinearOperator``), and F̂ approaches it as M grows.
///
/// The draws are fixed by `seed`, with a separate stream per batch position.
/// Every apply uses the same targets, so the operator is one fixed symmetric
/// positive semi-definite matrix; reordering the batches changes the draws.
/// The streams are this library's own and do not reproduce PyTorch's draws
/// for the same seed.
public struct FisherMCLinearOperator<Scalar: LapackScalar>: LinearOperator {
    var problem: CurvatureProblem<Scalar>

    /// The number M of sampled targets per loss term.
    public let samples: Int

    /// The seed of the draws.
    public let seed: UInt64

    /// Creates the operator and validates every argument.
    ///
    /// - Parameters:
    ///   - model, loss, parameters, data: As for
    ///     ``GGNLinearOperator/init(model:loss:parameters:data:)``.
    ///   - samples: M, the sampled targets per loss term, at least 1. Default 1,
    ///     curvlinops' `mc_samples`. Memory grows with M: an apply keeps the M
    ///     sampled output gradients of a batch at once, M·N_b·T·C values.
    ///   - seed: Fixes the draws. Default 2147483647, curvlinops' default seed.
    /// - Throws: As ``GGNLinearOperator/init(model:loss:parameters:data:)``, and
    ///   ``CurvlinopsError/Kind/invalidArgument`` for `samples` below 1, or so
    ///   large that the sampled gradients of a batch would take more bytes
    ///   than `Int` can count.
    public init(
        model: Sequential<Scalar>, loss: any Loss, parameters: [String], data: [Batch<Scalar>],
        samples: Int = 1, seed: UInt64 = 2_147_483_647
    ) throws {
        guard samples >= 1 else {
            throw CurvlinopsError.invalidArgument("FisherMCLinearOperator: got samples = \(samples); expected at least 1.")
        }
        problem = try CurvatureProblem(owner: "FisherMCLinearOperator", model: model, loss: loss,
                                       parameters: parameters, data: data)
        try problem.checkSampledGradientSize(samples: samples, argument: "samples = \(samples)")
        self.samples = samples
        self.seed = seed
    }

    /// The shapes of the selected parameters, in the order of `parameters`.
    public var inputShapes: [[Int]] { problem.parameterShapes }

    /// The same as ``inputShapes``: the Monte-Carlo Fisher is square.
    public var outputShapes: [[Int]] { problem.parameterShapes }

    /// The selected parameter names, in block order.
    public var parameterNames: [String] { problem.parameterNames }

    /// The number of samples N over all batches.
    public var numData: Int { problem.numData }

    /// Multiplies the Monte-Carlo Fisher onto the columns of `x`.
    ///
    /// - Throws: As ``LinearOperator/validateInput(_:)``.
    /// - Complexity: About 4× the gemm work of a forward pass per column and
    ///   batch, plus O(M·k·N·T·C) for the sampled outer products. Memory:
    ///   M·N_b·T·C values for the sampled gradients of a batch.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Matrix<Scalar>) throws -> Matrix<Scalar> {
        try validateInput(x)
        let model = problem.model
        let scale = problem.lossScale / Scalar(samples)
        let (samples, seed) = (self.samples, self.seed)
        return try problem.applyOverData(x) { evaluation, tangents, k in
            let outputTangents = try model.outputTangents(evaluation.pass, parameterTangents: tangents, count: k)
            var generator = SeededGenerator(seed: seed, stream: UInt64(evaluation.index))
            let gradients = evaluation.terms.sampledGradients(samples: samples, using: &generator)
            var cotangents = evaluation.terms.gradientOuterProducts(
                gradients, samples: samples, tangents: outputTangents, count: k)
            cotangents.scale(by: scale)
            return try model.vectorJacobianProducts(
                evaluation.pass, outputCotangents: cotangents, count: k, parameters: problem.selectedPositions).parameters
        }
    }

    /// Returns the operator itself, because the estimate is symmetric.
    public func adjoint() -> any LinearOperator<Scalar> { self }

    /// Computes the gradient ∇L of the data-set loss with respect to the
    /// selected parameters (at the true targets), and the loss L.
    ///
    /// - Returns: The gradient as a flat vector in block order, and L.
    /// - Complexity: One forward and one backward pass per batch.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func gradientAndLoss() throws -> (gradient: [Scalar], loss: Scalar) {
        try problem.gradientAndLoss()
    }
}
