/// The identity operator on a space of parameter-shaped blocks.
///
/// Typical use: damping, as in `ggn + damping * IdentityLinearOperator(shapes: ggn.inputShapes)`.
public struct IdentityLinearOperator<Scalar: LapackScalar>: LinearOperator {
    /// The block shapes of the space.
    public let inputShapes: [[Int]]

    /// The same shapes as ``inputShapes``.
    public var outputShapes: [[Int]] { inputShapes }

    /// Creates the identity on the given blocks.
    ///
    /// - Parameter shapes: The block shapes of the space.
    /// - Throws: ``CurvlinopsError/Kind/invalidArgument`` when a size is
    ///   negative or the shapes hold more than `Int.max` entries.
    public init(shapes: [[Int]]) throws {
        try validateShapes(shapes, argument: "shapes", owner: "IdentityLinearOperator")
        self.inputShapes = shapes
    }

    /// Creates the identity on plain vectors of length `size`.
    ///
    /// - Throws: ``CurvlinopsError/Kind/invalidArgument`` when `size` is negative.
    public init(size: Int) throws {
        try self.init(shapes: [[size]])
    }

    /// Returns a copy of `x` after validating it.
    ///
    /// - Throws: As ``LinearOperator/validateInput(_:)``.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Matrix<Scalar>) throws -> Matrix<Scalar> {
        try validateInput(x)
        return x
    }

    /// The identity itself.
    public func adjoint() -> any LinearOperator<Scalar> { self }
}
