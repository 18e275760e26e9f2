/// The empirical Fisher (uncentred covariance of the per-term gradients) of a
/// network's loss over a data set, as curvlinops' `EFLinearOperator`.
///
/// ```
/// EF = κ·ρ² · Σ_{n,t} (J_{n,t}ᵀ ∇l_{n,t}) (J_{n,t}ᵀ ∇l_{n,t})ᵀ
/// ```
///
/// with ∇l_{n,t} the gradient of the per-term sum-form loss at the true
/// target, J_{n,t} the Jacobian of the term's outputs, and κ, ρ² as in
/// ``Loss``. For a sequence output every term (n, t) contributes its own outer
/// product, as in curvlinops 3.0. The matrix is symmetric positive semi-definite.
public struct EFLinearOperator<Scalar: LapackScalar>: LinearOperator {
    var problem: CurvatureProblem<Scalar>

    /// Creates the operator and validates every argument.
    ///
    /// - Parameters: As for ``GGNLinearOperator/init(model:loss:parameters:data:)``.
    /// - Throws: As ``GGNLinearOperator/init(model:loss:parameters:data:)``.
    public init(model: Sequential<Scalar>, loss: any Loss, parameters: [String], data: [Batch<Scalar>]) throws {
        problem = try CurvatureProblem(owner: "EFLinearOperator", model: model, loss: loss,
                                       parameters: parameters, data: data)
    }

    /// The shapes of the selected parameters, in the order of `parameters`.
    public var inputShapes: [[Int]] { problem.parameterShapes }

    /// The same as ``inputShapes``: the empirical Fisher is square.
    public var outputShapes: [[Int]] { problem.parameterShapes }

    /// The selected parameter names, in block order.
    public var parameterNames: [String] { problem.parameterNames }

    /// The number of samples N over all batches.
    public var numData: Int { problem.numData }

    /// Multiplies the empirical Fisher onto the columns of `x`.
    ///
    /// - Throws: As ``LinearOperator/validateInput(_:)``.
    /// - Complexity: About 4× the gemm work of a forward pass per column and batch.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Matrix<Scalar>) throws -> Matrix<Scalar> {
        try validateInput(x)
        let model = problem.model
        let scale = problem.lossScale
        return try problem.applyOverData(x) { evaluation, tangents, k in
            let outputTangents = try model.outputTangents(evaluation.pass, parameterTangents: tangents, count: k)
            let gradients = evaluation.terms.gradients(target: evaluation.batch.target)
            var cotangents = evaluation.terms.gradientOuterProducts(gradients, samples: 1, tangents: outputTangents, count: k)
            cotangents.scale(by: scale)
            return try model.vectorJacobianProducts(
                evaluation.pass, outputCotangents: cotangents, count: k, parameters: problem.selectedPositions).parameters
        }
    }

    /// Returns the operator itself, because the empirical Fisher is symmetric.
    public func adjoint() -> any LinearOperator<Scalar> { self }

    /// Computes the gradient ∇L of the data-set loss with respect to the
    /// selected parameters, and the loss L.
    ///
    /// - Returns: The gradient as a flat vector in block order, and L.
    /// - Complexity: One forward and one backward pass per batch.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func gradientAndLoss() throws -> (gradient: [Scalar], loss: Scalar) {
        try problem.gradientAndLoss()
    }
}
