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
    /// - Parameter terms: At least one (weight, operator) pair; all operators
    ///   must have the same input shapes and the same output shapes.
    /// - Throws: ``CurvlinopsError/Kind/invalidArgument`` for an empty list,
    ///   ``CurvlinopsError/Kind/shapeMismatch`` when the shapes differ.
    public init(_ terms: [(weight: Scalar, linearOperator: any LinearOperator<Scalar>)]) throws {
        guard let first = terms.first else {
            throw CurvlinopsError.invalidArgument("SumLinearOperator: got no terms; expected at least one.")
        }
        for (index, term) in terms.enumerated().dropFirst() {
            guard term.linearOperator.inputShapes == first.linearOperator.inputShapes,
                  term.linearOperator.outputShapes == first.linearOperator.outputShapes else {
                throw CurvlinopsError.shapeMismatch(
                    "SumLinearOperator: term \(index) maps \(term.linearOperator.inputShapes) → \(term.linearOperator.outputShapes), but term 0 maps \(first.linearOperator.inputShapes) → \(first.linearOperator.outputShapes); the terms of a sum must have equal shapes.")
            }
        }
        var flattened: [Term] = []
        for term in terms {
            if let sum = term.linearOperator as? SumLinearOperator<Scalar> {
                flattened += sum.terms.map { Term(weight: term.weight * $0.weight, linearOperator: $0.linearOperator) }
            } else {
                flattened.append(Term(weight: term.weight, linearOperator: term.linearOperator))
            }
        }
        self.terms = flattened
    }

    /// Computes Σᵢ wᵢ·Aᵢ·x.
    ///
    /// - Throws: As ``LinearOperator/validateInput(_:)``, and whatever a term's apply throws.
    /// - Complexity: One apply of each term on all columns, plus one axpy per term.
    public func apply(_ x: Matrix<Scalar>) throws -> Matrix<Scalar> {
        try validateInput(x)
        var result = Matrix<Scalar>(zeros: outputSize, x.columns)
        for term in terms {
            result.add(try term.linearOperator.apply(x), scaledBy: term.weight)
        }
        return result
    }

    /// Σᵢ wᵢ·Aᵢᵀ.
    public func adjoint() -> any LinearOperator<Scalar> {
        try! SumLinearOperator(terms.map { ($0.weight, $0.linearOperator.adjoint()) })
    }
}
