/// A diagonal operator: entry i of the output is dᵢ times entry i of the input.
///
/// Typical uses: a Jacobi preconditioner (the reciprocal of a matrix's diagonal)
/// and per-parameter damping.
public struct DiagonalLinearOperator<Scalar: LapackScalar>: LinearOperator {
    /// The diagonal entries d, in flat order.
    public let diagonal: [Scalar]

    /// The block shapes of the space; their sizes add up to `diagonal.count`.
    public let inputShapes: [[Int]]

    /// The same shapes as ``inputShapes``: the operator is square.
    public var outputShapes: [[Int]] { inputShapes }

    /// Creates the operator diag(d).
    ///
    /// - Parameters:
    ///   - diagonal: The diagonal entries, finite.
    ///   - shapes: The block shapes. Default `nil`: one block `[diagonal.count]`.
    /// - Throws: ``CurvlinopsError/Kind/invalidArgument`` when a shape has a
    ///   negative size or the shapes hold more than `Int.max` entries,
    ///   ``CurvlinopsError/Kind/shapeMismatch`` when the shapes do not
    ///   hold `diagonal.count` entries, ``CurvlinopsError/Kind/nonFiniteValue``
    ///   for a NaN or infinite entry.
    public init(_ diagonal: [Scalar], shapes: [[Int]]? = nil) throws {
        let shapes = shapes ?? [[diagonal.count]]
        try validateShapes(shapes, argument: "shapes", owner: "DiagonalLinearOperator")
        guard flatSize(of: shapes) == diagonal.count else {
            throw CurvlinopsError.shapeMismatch(
                "DiagonalLinearOperator: shapes \(shapes) hold \(flatSize(of: shapes)) entries; expected \(diagonal.count), the diagonal's length.")
        }
        if let index = diagonal.firstIndex(where: { !$0.isFinite }) {
            throw CurvlinopsError.nonFinite(
                "DiagonalLinearOperator: diagonal[\(index)] = \(diagonal[index]); expected finite values.")
        }
        self.diagonal = diagonal
        self.inputShapes = shapes
    }

    /// Scales row i of `x` by dᵢ.
    ///
    /// - Parameter x: An ``inputSize`` × k matrix of flat input vectors.
    /// - Returns: diag(d)·x.
    /// - Throws: As ``LinearOperator/validateInput(_:)``, and
    ///   ``CurvlinopsError/Kind/numericalBreakdown`` when a product overflows.
    /// - Complexity: One multiplication and one finiteness test per entry of `x`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Matrix<Scalar>) throws -> Matrix<Scalar> {
        try validateInput(x)
        var result = x
        let n = x.rows
        diagonal.withUnsafeBufferPointer { d in
            result.withUnsafeMutableBufferPointer { y in
                for j in 0..<x.columns {
                    for i in 0..<n {
                        y[i + j * n] *= d[i]
                    }
                }
            }
        }
        try result.checkNoOverflow(
            owner: "DiagonalLinearOperator.apply", what: "the product diag(d) · X",
            remedy: "Rescale the diagonal or the input.")
        return result
    }

    /// The operator itself: a diagonal matrix is symmetric.
    public func adjoint() -> any LinearOperator<Scalar> { self }

    /// Returns the diagonal matrix diag(d), built without an apply.
    public func dense() throws -> Matrix<Scalar> { Matrix.diagonal(diagonal) }
}
