/// A linear operator given by an explicit matrix.
///
/// Useful for small problems, tests, and as the reference against which
/// matrix-free operators are checked. Its ``apply(_:)`` is one gemm.
public struct DenseLinearOperator<Scalar: LapackScalar>: LinearOperator {
    /// The operator's matrix, ``outputSize`` × ``inputSize``.
    public let matrix: Matrix<Scalar>

    /// The input blocks; their sizes add up to the matrix's column count.
    public let inputShapes: [[Int]]

    /// The output blocks; their sizes add up to the matrix's row count.
    public let outputShapes: [[Int]]

    /// Wraps a matrix as an operator.
    ///
    /// - Parameters:
    ///   - matrix: The matrix; its entries must be finite.
    ///   - inputShapes: The input blocks. Default `nil`: one block `[columns]`.
    ///   - outputShapes: The output blocks. Default `nil`: one block `[rows]`.
    /// - Throws: ``CurvlinopsError/Kind/invalidArgument`` when a shape has a
    ///   negative size or the shapes hold more than `Int.max` entries,
    ///   ``CurvlinopsError/Kind/shapeMismatch`` when the block
    ///   shapes do not add up to the matrix's dimensions,
    ///   ``CurvlinopsError/Kind/nonFiniteValue`` when the matrix holds NaN or
    ///   infinite entries.
    public init(_ matrix: Matrix<Scalar>, inputShapes: [[Int]]? = nil, outputShapes: [[Int]]? = nil) throws {
        let inputShapes = inputShapes ?? [[matrix.columns]]
        let outputShapes = outputShapes ?? [[matrix.rows]]
        try validateShapes(inputShapes, argument: "inputShapes", owner: "DenseLinearOperator")
        try validateShapes(outputShapes, argument: "outputShapes", owner: "DenseLinearOperator")
        guard flatSize(of: inputShapes) == matrix.columns else {
            throw CurvlinopsError.shapeMismatch(
                "DenseLinearOperator: inputShapes \(inputShapes) hold \(flatSize(of: inputShapes)) entries; expected \(matrix.columns), the matrix's column count.")
        }
        guard flatSize(of: outputShapes) == matrix.rows else {
            throw CurvlinopsError.shapeMismatch(
                "DenseLinearOperator: outputShapes \(outputShapes) hold \(flatSize(of: outputShapes)) entries; expected \(matrix.rows), the matrix's row count.")
        }
        guard matrix.isFinite else {
            throw CurvlinopsError.nonFinite("DenseLinearOperator: the matrix contains NaN or infinite entries; expected finite values.")
        }
        self.matrix = matrix
        self.inputShapes = inputShapes
        self.outputShapes = outputShapes
    }

    /// Computes `matrix · x` by one gemm.
    ///
    /// - Parameter x: An ``inputSize`` × k matrix of flat input vectors.
    /// - Returns: The ``outputSize`` × k product.
    /// - Throws: As ``LinearOperator/validateInput(_:)``, and
    ///   ``CurvlinopsError/Kind/numericalBreakdown`` when the product overflows.
    /// - Complexity: 2 · outputSize · inputSize flops per column, plus one
    ///   finiteness scan of the product.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Matrix<Scalar>) throws -> Matrix<Scalar> {
        try validateInput(x)
        let product = try matrix * x
        try product.checkNoOverflow(
            owner: "DenseLinearOperator.apply", what: "the product matrix · X",
            remedy: "Rescale the matrix or the input.")
        return product
    }

    /// The operator of the transposed matrix, with input and output shapes swapped.
    public func adjoint() -> any LinearOperator<Scalar> {
        // The shapes were validated for the transpose already.
        try! DenseLinearOperator(matrix.transposed, inputShapes: outputShapes, outputShapes: inputShapes)
    }

    /// Returns ``matrix`` without computing anything.
    ///
    /// - Complexity: O(1); the storage is shared until either copy is written.
    public func dense() throws -> Matrix<Scalar> { matrix }
}
