/// An operator multiplied by a scalar, c·A.
///
/// `c * A` builds this type.
public struct ScaledLinearOperator<Scalar: LapackScalar>: LinearOperator {
    /// The factor c.
    public let scale: Scalar

    /// The operator A.
    public let base: any LinearOperator<Scalar>

    /// The input blocks of A.
    public var inputShapes: [[Int]] { base.inputShapes }

    /// The output blocks of A.
    public var outputShapes: [[Int]] { base.outputShapes }

    /// Creates c·A.
    ///
    /// - Parameters:
    ///   - scale: The factor c, finite.
    ///   - base: The operator A.
    /// - Throws: ``CurvlinopsError/Kind/nonFiniteValue`` when c is NaN or infinite.
    public init(scale: Scalar, base: any LinearOperator<Scalar>) throws {
        guard scale.isFinite else {
            throw CurvlinopsError.nonFinite("ScaledLinearOperator: scale = \(scale); expected a finite number.")
        }
        self.scale = scale
        self.base = base
    }

    /// Computes c·A·x.
    ///
    /// - Throws: As ``LinearOperator/validateInput(_:)``, and whatever A's apply throws.
    /// - Complexity: One apply of A, plus one scal.
    public func apply(_ x: Matrix<Scalar>) throws -> Matrix<Scalar> {
        try validateInput(x)
        var result = try base.apply(x)
        result.scale(by: scale)
        return result
    }

    /// c·Aᵀ.
    public func adjoint() -> any LinearOperator<Scalar> {
        try! ScaledLinearOperator(scale: scale, base: base.adjoint())
    }
}
