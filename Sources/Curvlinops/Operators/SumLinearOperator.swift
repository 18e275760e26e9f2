/// A weighted sum of operators, Σᵢ wᵢ·Aᵢ, applied term by term.
///
/// `A + B` and `A - B` build this type; nested sums are flattened into one
/// list of terms.
public struct SumLinearOperator<Scalar: LapackScalar>: LinearOperator {
    /// One term wᵢ·Aᵢ of the sum.
    public struct Term: Sendable {
        /// The weight wᵢ.
        public let weight: Scalar
        /// The operator Aᵢ.
        public let linearOperator: any LinearOperator<Scalar>
    }

    /// The terms, in the order they were added.
    public let terms: [Term]

    /// The input blocks, shared by every term.
    public var inputShapes: [[Int]] { terms[0].linearOperator.inputShapes }

    /// The output blocks, shared by every term.
    public var outputShapes: [[Int]] { terms[0].linearOperator.outputShapes }

    /// Creates Σᵢ wᵢ·Aᵢ.
    ///
    /// - Parameter terms: At least one (weight, operator) pair; every weight
    ///   finite, and all operators with the same input shapes and the same
    ///   output shapes. A term that is itself a sum is flattened into its
    ///   terms, with weights multiplied.
    /// - Throws: ``CurvlinopsError/Kind/invalidArgument`` for an empty list or
    ///   an operator whose shapes have a negative size or more than `Int.max`
    ///   entries, ``CurvlinopsError/Kind/nonFiniteValue`` for a weight, or a
    ///   product of nested weights, that is NaN or infinite,
    ///   ``CurvlinopsError/Kind/shapeMismatch`` when the shapes differ.
    public init(_ terms: [(weight: Scalar, linearOperator: any LinearOperator<Scalar>)]) throws {
        let owner = "SumLinearOperator"
        guard let first = terms.first else {
            throw CurvlinopsError.invalidArgument("\(owner): got no terms; expected at least one.")
        }
        for (index, term) in terms.enumerated() {
            guard term.weight.isFinite else {
                throw CurvlinopsError.nonFinite("\(owner): terms[\(index)].weight = \(term.weight); expected a finite number.")
            }
            try validateOperatorShapes(term.linearOperator, argument: "terms[\(index)].linearOperator", owner: owner)
        }
        for (index, term) in terms.enumerated().dropFirst() {
            guard term.linearOperator.inputShapes == first.linearOperator.inputShapes,
                  term.linearOperator.outputShapes == first.linearOperator.outputShapes else {
                throw CurvlinopsError.shapeMismatch(
                    "\(owner): term \(index) maps \(term.linearOperator.inputShapes) → \(term.linearOperator.outputShapes), but term 0 maps \(first.linearOperator.inputShapes) → \(first.linearOperator.outputShapes); the terms of a sum must have equal shapes.")
            }
        }
        var flattened: [Term] = []
        for (index, term) in terms.enumerated() {
            guard let sum = term.linearOperator as? SumLinearOperator<Scalar> else {
                flattened.append(Term(weight: term.weight, linearOperator: term.linearOperator))
                continue
            }
            for (nestedIndex, nested) in sum.terms.enumerated() {
                let weight = term.weight * nested.weight
                guard weight.isFinite else {
                    throw CurvlinopsError.nonFinite(
                        "\(owner): terms[\(index)].weight = \(term.weight) times the weight \(nested.weight) of its nested term \(nestedIndex) is \(weight); expected a finite product.")
                }
                flattened.append(Term(weight: weight, linearOperator: nested.linearOperator))
            }
        }
        self.terms = flattened
    }

    /// Computes Σᵢ wᵢ·Aᵢ·x.
    ///
    /// - Throws: As ``LinearOperator/validateInput(_:)``;
    ///   ``CurvlinopsError/Kind/shapeMismatch`` when a term's apply returns a
    ///   matrix of the wrong shape, ``CurvlinopsError/Kind/numericalBreakdown``
    ///   when a term returns NaN or infinite values or the weighted sum
    ///   overflows; and whatever a term's apply throws.
    /// - Complexity: One apply of each term on all columns, plus one axpy and
    ///   one finiteness scan per term.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Matrix<Scalar>) throws -> Matrix<Scalar> {
        try validateInput(x)
        let owner = "SumLinearOperator.apply"
        var result = Matrix<Scalar>(zeros: outputSize, x.columns)
        for (index, term) in terms.enumerated() {
            result.add(try term.linearOperator.checkedApply(x, owner: owner, role: "term \(index)"), scaledBy: term.weight)
        }
        try result.checkNoOverflow(
            owner: owner, what: "the weighted sum Σᵢ wᵢ·Aᵢ·x",
            remedy: "Rescale the terms or their weights.")
        return result
    }

    /// Σᵢ wᵢ·Aᵢᵀ.
    public func adjoint() -> any LinearOperator<Scalar> {
        try! SumLinearOperator(terms.map { ($0.weight, $0.linearOperator.adjoint()) })
    }
}
