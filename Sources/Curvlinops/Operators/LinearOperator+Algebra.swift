// Arithmetic on operators. The results apply their parts lazily; nothing is
// densified. Shapes are checked when the expression is built.

/// The sum A + B of two operators with equal shapes.
///
/// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when the shapes differ,
///   ``CurvlinopsError/Kind/invalidArgument`` when an operand's shapes have a
///   negative size or more than `Int.max` entries.
public func + <Left: LinearOperator, Right: LinearOperator>(
    lhs: Left, rhs: Right
) throws -> SumLinearOperator<Left.Scalar> where Left.Scalar == Right.Scalar {
    try SumLinearOperator([(1, lhs), (1, rhs)])
}

/// The difference A − B of two operators with equal shapes.
///
/// - Throws: As `+`.
public func - <Left: LinearOperator, Right: LinearOperator>(
    lhs: Left, rhs: Right
) throws -> SumLinearOperator<Left.Scalar> where Left.Scalar == Right.Scalar {
    try SumLinearOperator([(1, lhs), (-1, rhs)])
}

/// The scalar multiple c·A.
///
/// - Throws: ``CurvlinopsError/Kind/nonFiniteValue`` when c is NaN or
///   infinite, ``CurvlinopsError/Kind/invalidArgument`` when A's shapes have a
///   negative size or more than `Int.max` entries.
public func * <Operand: LinearOperator>(lhs: Operand.Scalar, rhs: Operand) throws -> ScaledLinearOperator<Operand.Scalar> {
    try ScaledLinearOperator(scale: lhs, base: rhs)
}

/// The composition A·B (B applied first).
///
/// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when A's input shapes
///   differ from B's output shapes, ``CurvlinopsError/Kind/invalidArgument``
///   when an operand's shapes have a negative size or more than `Int.max`
///   entries.
public func * <Left: LinearOperator, Right: LinearOperator>(
    lhs: Left, rhs: Right
) throws -> ComposedLinearOperator<Left.Scalar> where Left.Scalar == Right.Scalar {
    try ComposedLinearOperator([lhs, rhs])
}
