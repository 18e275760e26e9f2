/// The generalised Gauss–Newton matrix of a network's loss over a data set,
/// as curvlinops' `GGNLinearOperator`, applied without forming it.
///
/// ```
/// GGN = κ·ρ² · Σ_{n,t} J_{n,t}ᵀ · ∇²l(f_{n,t}) · J_{n,t}
/// ```
///
/// with J_{n,t} the Jacobian of the term's outputs f_{n,t} with respect to the
/// selected parameters, l the per-term sum-form loss and κ, ρ² the scaling of
/// ``Loss`` over the whole data set (N = Σ batch sizes). The matrix is
/// symmetric positive semi-definite.
///
/// The flat vectors concatenate the selected parameters in the order given,
/// each flattened row-major; ``inputShapes`` are their shapes.
///
/// ```swift
/// let ggn = try GGNLinearOperator(model: model, loss: CrossEntropyLoss(),
///                                 parameters: model.parameterNames, data: batches)
/// let product = try ggn.apply(vectors)   // P × k
/// ```
public struct GGNLinearOperator<Scalar: LapackScalar>: LinearOperator {
    var problem: CurvatureProblem<Scalar>

    /// Creates the operator and validates every argument.
    ///
    /// - Parameters:
    ///   - model: The network; its current parameter values are used.
    ///   - loss: ``MSELoss``, ``CrossEntropyLoss`` or ``BCEWithLogitsLoss``.
    ///   - parameters: Names of the parameters the matrix covers (`"0.weight"`),
    ///     any non-empty subset in any order; the order given is the block order.
    ///     The other parameters are held fixed.
    ///   - data: The batches; at least one.
    /// - Throws: ``CurvlinopsError`` naming the argument.
    ///   `invalidArgument`: empty data, an empty, unknown or repeated
    ///   parameter name, or a class index out of range.
    ///   `shapeMismatch`: an input that does not fit the network or gives an
    ///   output with an axis of size 0 (no loss terms), or a target that does
    ///   not fit the output. `nonFiniteValue`: NaN or infinite
    ///   inputs or targets. `unsupported`: a loss type of your own.
    public init(model: Sequential<Scalar>, loss: any Loss, parameters: [String], data: [Batch<Scalar>]) throws {
        problem = try CurvatureProblem(owner: "GGNLinearOperator", model: model, loss: loss,
                                       parameters: parameters, data: data)
    }

    /// The shapes of the selected parameters, in the order of `parameters`.
    public var inputShapes: [[Int]] { problem.parameterShapes }

    /// The same as ``inputShapes``: the generalised Gauss–Newton matrix is square.
    public var outputShapes: [[Int]] { problem.parameterShapes }

    /// The selected parameter names, in block order.
    public var parameterNames: [String] { problem.parameterNames }

    /// The number of samples N over all batches.
    public var numData: Int { problem.numData }

    /// Multiplies the GGN onto the columns of `x`.
    ///
    /// Each batch takes one forward pass. Then the Jacobian-vector products
    /// of all columns (J·X), the loss Hessian term by term and the
    /// vector-Jacobian products (Jᵀ·…) follow, each one gemm per layer for
    /// all columns.
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
            var cotangents = evaluation.terms.hessianProducts(outputTangents, count: k)
            cotangents.scale(by: scale)
            return try model.vectorJacobianProducts(
                evaluation.pass, outputCotangents: cotangents, count: k, parameters: problem.selectedPositions).parameters
        }
    }

    /// Returns the operator itself, because the GGN is symmetric.
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
