/// The composition A₁·A₂·…·Aₘ of operators, applied right to left.
///
/// `A * B` builds this type; nested compositions are flattened.
public struct ComposedLinearOperator<Scalar: LapackScalar>: LinearOperator {
    /// The factors A₁, …, Aₘ, leftmost first; Aₘ is applied first.
    public let factors: [any LinearOperator<Scalar>]

    /// The input blocks of Aₘ, the factor applied first.
    public var inputShapes: [[Int]] { factors[factors.count - 1].inputShapes }

    /// The output blocks of A₁, the factor applied last.
    public var outputShapes: [[Int]] { factors[0].outputShapes }

    /// Creates A₁·A₂·…·Aₘ.
    ///
    /// - Parameter factors: At least one operator; the input shapes of each
    ///   must equal the output shapes of the next.
    /// - Throws: ``CurvlinopsError/Kind/invalidArgument`` for an empty list or
    ///   a factor whose shapes have a negative size or more than `Int.max`
    ///   entries, ``CurvlinopsError/Kind/shapeMismatch`` when neighbouring
    ///   shapes differ.
    public init(_ factors: [any LinearOperator<Scalar>]) throws {
        guard !factors.isEmpty else {
            throw CurvlinopsError.invalidArgument("ComposedLinearOperator: got no factors; expected at least one.")
        }
        for (index, factor) in factors.enumerated() {
            try validateOperatorShapes(factor, argument: "factors[\(index)]", owner: "ComposedLinearOperator")
        }
        for index in 0..<(factors.count - 1) {
            let left = factors[index]
            let right = factors[index + 1]
            guard left.inputShapes == right.outputShapes else {
                throw CurvlinopsError.shapeMismatch(
                    "ComposedLinearOperator: factor \(index) takes input shapes \(left.inputShapes), but factor \(index + 1) produces \(right.outputShapes); expected them to be equal.")
            }
        }
        self.factors = factors.flatMap { factor -> [any LinearOperator<Scalar>] in
            if let composed = factor as? ComposedLinearOperator<Scalar> {
                return composed.factors
            }
            return [factor]
        }
    }

    /// Computes A₁·(A₂·(…·(Aₘ·x))).
    ///
    /// - Throws: As ``LinearOperator/validateInput(_:)``;
    ///   ``CurvlinopsError/Kind/shapeMismatch`` when a factor's apply returns a
    ///   matrix of the wrong shape, ``CurvlinopsError/Kind/numericalBreakdown``
    ///   when a factor returns NaN or infinite values; and whatever a
    ///   factor's apply throws.
    /// - Complexity: One apply of each factor on all columns, plus one
    ///   finiteness scan of each factor's result.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Matrix<Scalar>) throws -> Matrix<Scalar> {
        try validateInput(x)
        var result = x
        for (index, factor) in factors.enumerated().reversed() {
            result = try factor.checkedApply(result, owner: "ComposedLinearOperator.apply", role: "factor \(index)")
        }
        return result
    }

    /// Aₘᵀ·…·A₁ᵀ: the adjoints in reversed order.
    public func adjoint() -> any LinearOperator<Scalar> {
        try! ComposedLinearOperator(factors.reversed().map { $0.adjoint() })
    }
}
