import Foundation

// Trace, determinant, log-determinant and Frobenius norm of KFAC from its
// factors, block by block, never from the dense matrix. For a block with
// gradient factor G (m × m) and input factor A (n × n; a bias block has
// n = 1 and A = [1]):
//
//     tr(kron(G, A))   = tr(G)·tr(A)
//     ‖kron(G, A)‖_F   = ‖G‖_F·‖A‖_F
//     det(kron(G, A))  = det(G)ⁿ·det(A)ᵐ

extension KFACLinearOperator {
    /// Returns the trace, Σ over blocks of tr(G)·tr(A).
    ///
    /// - Throws: Whatever computing the factors throws.
    /// - Complexity: O(d) per factor of size d.
    public func trace() throws -> Scalar {
        let factors = try factorStore.value()
        var sum: Scalar = 0
        for block in layout.blocks {
            let inputTrace = block.hasInputFactor ? matrixTrace(factors.inputCovariances[block.layer]!) : 1
            sum += matrixTrace(factors.gradientCovariances[block.layer]!) * inputTrace
        }
        return sum
    }

    /// Returns the Frobenius norm, √(Σ over blocks of ‖G‖²_F·‖A‖²_F).
    ///
    /// - Throws: Whatever computing the factors throws.
    /// - Complexity: O(d²) per factor of size d.
    public func frobeniusNorm() throws -> Scalar {
        let factors = try factorStore.value()
        var sumOfSquares = 0.0
        for block in layout.blocks {
            let inputNorm = block.hasInputFactor ? Double(factors.inputCovariances[block.layer]!.frobeniusNorm) : 1
            let gradientNorm = Double(factors.gradientCovariances[block.layer]!.frobeniusNorm)
            sumOfSquares += (gradientNorm * inputNorm) * (gradientNorm * inputNorm)
        }
        return Scalar(sumOfSquares.squareRoot())
    }

    /// Returns the log-determinant, Σ over blocks of m·log det(A) + n·log det(G), with
    /// `torch.logdet`'s conventions for singular and indefinite factors.
    ///
    /// Each factor's determinant comes from its eigenvalues (`syevd`): an
    /// exactly zero eigenvalue makes that factor's log-determinant −∞, an odd
    /// number of negative eigenvalues makes it NaN. Those values propagate
    /// through the sum (−∞ + NaN is NaN). For a singular positive
    /// semi-definite factor the computed eigenvalues are rounding noise around
    /// 0, so the result is then NaN, −∞ or a meaningless large negative number.
    ///
    /// - Throws: Whatever computing the factors throws, or a LAPACK failure of `syevd`.
    /// - Complexity: One eigendecomposition per factor, O(d³), shared with
    ///   exact damping and computed once per operator.
    public func logDeterminant() throws -> Scalar {
        var sum: Scalar = 0
        for (gradient, input, block) in try blockDeterminants() {
            let m = Scalar(block.rows)
            let n = Scalar(block.hasInputFactor ? block.columns : 1)
            sum += m * input.logDeterminant + n * gradient.logDeterminant
        }
        return sum
    }

    /// Returns the determinant, the product over blocks of det(A)ᵐ·det(G)ⁿ.
    ///
    /// Each factor's determinant comes from its eigenvalues; the product is
    /// formed as a sign times exp(Σ logarithms), so it overflows to ±∞ or
    /// underflows to 0 only when the determinant itself is out of range. A
    /// factor with an exactly zero eigenvalue makes it 0. For a singular
    /// positive semi-definite factor the result is rounding noise: a tiny
    /// number of either sign, or 0.
    ///
    /// - Throws: As ``logDeterminant()``.
    /// - Complexity: As ``logDeterminant()``.
    public func determinant() throws -> Scalar {
        var sign = 1
        var logSum: Scalar = 0
        for (gradient, input, block) in try blockDeterminants() {
            let m = block.rows
            let n = block.hasInputFactor ? block.columns : 1
            if gradient.sign == 0 || input.sign == 0 {
                return 0
            }
            if input.sign < 0, m % 2 == 1 {
                sign = -sign
            }
            if gradient.sign < 0, n % 2 == 1 {
                sign = -sign
            }
            logSum += Scalar(m) * input.logAbsoluteValue + Scalar(n) * gradient.logAbsoluteValue
        }
        return Scalar(sign) * Scalar(exp(Double(logSum)))
    }

    /// Returns the signed log-determinants of G and A for every block, with A = [1] for a bias block.
    private func blockDeterminants() throws
        -> [(gradient: SignedLogDeterminant<Scalar>, input: SignedLogDeterminant<Scalar>, block: KroneckerBlock)]
    {
        let eigendecompositions = try eigendecompositionStore.value()
        return layout.blocks.map { block in
            let layer = eigendecompositions[block.layer]!
            let gradient = SignedLogDeterminant(eigenvalues: layer.gradient.eigenvalues)
            let input = block.hasInputFactor ? SignedLogDeterminant(eigenvalues: layer.input!.eigenvalues) : .one
            return (gradient, input, block)
        }
    }
}

/// Returns the sum of the diagonal of a square matrix.
func matrixTrace<Scalar: LapackScalar>(_ matrix: Matrix<Scalar>) -> Scalar {
    precondition(matrix.isSquare, "matrixTrace needs a square matrix, got \(matrix.rows) × \(matrix.columns)")
    let n = matrix.rows
    return matrix.withUnsafeBufferPointer { a in
        var sum: Scalar = 0
        for i in 0..<n {
            sum += a[i + i * n]
        }
        return sum
    }
}
