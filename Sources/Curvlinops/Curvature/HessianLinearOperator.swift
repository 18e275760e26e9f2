/// The Hessian of a network's loss over a data set with respect to selected
/// parameters, as curvlinops' `HessianLinearOperator`, applied without forming it.
///
/// ```
/// H = ∇²_θ L,   L = κ·ρ² · Σ_{n,t} l(f_{n,t}, y_{n,t})   (see Loss)
/// ```
///
/// Products are exact, by the R-operator: a forward pass of Jacobian-vector
/// products followed by the directional derivative of back-propagation,
/// including every activation's second derivative. The matrix is symmetric
/// and can be indefinite. Blocks between two selected parameters are the
/// mixed second derivatives; unselected parameters are held fixed.
public struct HessianLinearOperator<Scalar: LapackScalar>: LinearOperator {
    var problem: CurvatureProblem<Scalar>

    /// Creates the operator and validates every argument.
    ///
    /// - Parameters: As for ``GGNLinearOperator/init(model:loss:parameters:data:)``.
    /// - Throws: As ``GGNLinearOperator/init(model:loss:parameters:data:)``.
    public init(model: Sequential<Scalar>, loss: any Loss, parameters: [String], data: [Batch<Scalar>]) throws {
        problem = try CurvatureProblem(owner: "HessianLinearOperator", model: model, loss: loss,
                                       parameters: parameters, data: data)
    }

    /// The shapes of the selected parameters, in the order of `parameters`.
    public var inputShapes: [[Int]] { problem.parameterShapes }

    /// The same as ``inputShapes``: the Hessian is square.
    public var outputShapes: [[Int]] { problem.parameterShapes }

    /// The selected parameter names, in block order.
    public var parameterNames: [String] { problem.parameterNames }

    /// The number of samples N over all batches.
    public var numData: Int { problem.numData }

    /// Multiplies the Hessian onto the columns of `x`.
    ///
    /// - Throws: As ``LinearOperator/validateInput(_:)``.
    /// - Complexity: About 6× the gemm work of a forward pass per column and batch.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Matrix<Scalar>) throws -> Matrix<Scalar> {
        try validateInput(x)
        let model = problem.model
        let scale = problem.lossScale
        return try problem.applyOverData(x) { evaluation, tangents, k in
            let layerTangents = try model.jacobianVectorProducts(evaluation.pass, parameterTangents: tangents, count: k)
            var outputGradient = evaluation.terms.gradients(target: evaluation.batch.target)
            outputGradient.scale(by: scale)
            let gradientTangents = layerTangents.last!.map { outputTangents in
                var products = evaluation.terms.hessianProducts(outputTangents, count: k)
                products.scale(by: scale)
                return products
            }
            return try model.hessianVectorProducts(
                evaluation.pass, tangents: layerTangents, parameterTangents: tangents,
                outputGradient: outputGradient, outputGradientTangents: gradientTangents, count: k,
                parameters: problem.selectedPositions)
        }
    }

    /// Returns the operator itself, because the Hessian is symmetric.
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
