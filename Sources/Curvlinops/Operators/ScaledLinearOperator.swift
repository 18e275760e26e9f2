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
    /// - Throws: ``CurvlinopsError/Kind/nonFiniteValue`` when c is NaN or
    ///   infinite, ``CurvlinopsError/Kind/invalidArgument`` when A's shapes
    ///   have a negative size or more than `Int.max` entries.
    public init(scale: Scalar, base: any LinearOperator<Scalar>) throws {
        guard scale.isFinite else {
            throw CurvlinopsError.nonFinite("ScaledLinearOperator: scale = \(scale); expected a finite number.")
        }
        try validateOperatorShapes(base, argument: "base", owner: "ScaledLinearOperator")
        self.scale = scale
        self.base = base
    }

    /// Computes c·A·x.
    ///
    /// - Throws: As ``LinearOperator/validateInput(_:)``;
    ///   ``CurvlinopsError/Kind/shapeMismatch`` when A's apply returns a
    ///   matrix of the wrong shape, ``CurvlinopsError/Kind/numericalBreakdown``
    ///   when A returns NaN or infinite values or c·A·x overflows; and
    ///   whatever A's apply throws.
    /// - Complexity: One apply of A, plus one scal and two finiteness scans.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Matrix<Scalar>) throws -> Matrix<Scalar> {
        try validateInput(x)
        let owner = "ScaledLinearOperator.apply"
        var result = try base.checkedApply(x, owner: owner, role: "the base operator")
        result.scale(by: scale)
        try result.checkNoOverflow(
            owner: owner, what: "scale · A·x with scale = \(scale)",
            remedy: "Use a smaller scale or rescale A.")
        return result
    }

    /// c·Aᵀ.
    public func adjoint() -> any LinearOperator<Scalar> {
        try! ScaledLinearOperator(scale: scale, base: base.adjoint())
    }
}
