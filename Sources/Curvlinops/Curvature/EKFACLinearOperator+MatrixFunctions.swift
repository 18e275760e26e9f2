import Foundation

// Trace, determinant, log-determinant and Frobenius norm of EKFAC from its
// corrected eigenvalues: the eigenvalues of EKFAC are exactly the entries of
// all Λ matrices and λ vectors, because the eigenbases are orthonormal.

extension EKFACLinearOperator {
    /// Returns the trace, Σ Λ over all corrected eigenvalues.
    ///
    /// - Throws: Whatever computing the data throws.
    /// - Complexity: O(number of parameters).
    public func trace() throws -> Scalar {
        try correctedEigenvalueList().reduce(0, +)
    }

    /// Returns the Frobenius norm, √(Σ Λ²) over all corrected eigenvalues.
    ///
    /// - Throws: Whatever computing the data throws.
    /// - Complexity: O(number of parameters).
    public func frobeniusNorm() throws -> Scalar {
        let sumOfSquares = try correctedEigenvalueList().reduce(0.0) { $0 + Double($1) * Double($1) }
        return Scalar(sumOfSquares.squareRoot())
    }

    /// Returns the log-determinant, Σ log Λ over all corrected eigenvalues; −∞ when one of them is 0.
    ///
    /// - Throws: Whatever computing the data throws.
    /// - Complexity: O(number of parameters).
    public func logDeterminant() throws -> Scalar {
        SignedLogDeterminant(eigenvalues: try correctedEigenvalueList()).logDeterminant
    }

    /// Returns the determinant, Π Λ over all corrected eigenvalues.
    ///
    /// The product is formed as exp(Σ log Λ), so it overflows to ∞ or
    /// underflows to 0 only when the determinant itself is out of range; it
    /// is 0 when a corrected eigenvalue is 0.
    ///
    /// - Throws: Whatever computing the data throws.
    /// - Complexity: O(number of parameters).
    public func determinant() throws -> Scalar {
        let determinant = SignedLogDeterminant(eigenvalues: try correctedEigenvalueList())
        guard determinant.sign != 0 else { return 0 }
        return Scalar(determinant.sign) * Scalar(exp(Double(determinant.logAbsoluteValue)))
    }

    private func correctedEigenvalueList() throws -> [Scalar] {
        let data = try dataStore.value()
        return layout.blocks.flatMap { data.scalings[$0.layer]![$0.kind]!.elements }
    }
}
