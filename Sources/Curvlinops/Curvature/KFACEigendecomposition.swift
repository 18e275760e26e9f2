import Foundation

/// The eigenvalues (ascending) and orthonormal eigenvectors (columns) of a
/// symmetric matrix, F = Q·diag(λ)·Qᵀ.
struct SymmetricEigendecomposition<Scalar: LapackScalar>: Sendable, Equatable {
    let eigenvalues: [Scalar]
    let eigenvectors: Matrix<Scalar>

    /// Decomposes a symmetric matrix by LAPACK's divide-and-conquer driver `syevd`.
    init(of matrix: Matrix<Scalar>) throws {
        let (values, vectors) = try LAPACK.syevd(matrix)
        self.eigenvalues = values
        self.eigenvectors = vectors
    }

    init(eigenvalues: [Scalar], eigenvectors: Matrix<Scalar>) {
        precondition(eigenvectors.rows == eigenvalues.count && eigenvectors.columns == eigenvalues.count,
                     "SymmetricEigendecomposition: \(eigenvalues.count) eigenvalues for \(eigenvectors.rows) × \(eigenvectors.columns) eigenvectors")
        self.eigenvalues = eigenvalues
        self.eigenvectors = eigenvectors
    }

    var dimension: Int { eigenvalues.count }
}

/// The eigendecompositions of one layer's Kronecker factors; `input` is `nil`
/// for a layer without weight.
struct KFACLayerEigendecomposition<Scalar: LapackScalar>: Sendable, Equatable {
    let input: SymmetricEigendecomposition<Scalar>?
    let gradient: SymmetricEigendecomposition<Scalar>
}

extension KFACFactors {
    /// Decomposes every factor with `syevd`.
    ///
    /// - Complexity: O(d³) flops per factor of size d.
    func eigendecompositions(layout: KroneckerLayout) throws -> [String: KFACLayerEigendecomposition<Scalar>] {
        var result: [String: KFACLayerEigendecomposition<Scalar>] = [:]
        for layer in layout.layers {
            let input = try inputCovariances[layer.name].map { try SymmetricEigendecomposition(of: $0) }
            let gradient = try SymmetricEigendecomposition(of: gradientCovariances[layer.name]!)
            result[layer.name] = KFACLayerEigendecomposition(input: input, gradient: gradient)
        }
        return result
    }
}

/// The determinant of a symmetric matrix from its eigenvalues, as a sign
/// (−1, 0 or 1) and the logarithm of its absolute value.
struct SignedLogDeterminant<Scalar: LapackScalar>: Sendable {
    let sign: Int
    let logAbsoluteValue: Scalar

    /// The determinant of the identity of any size: sign 1, log 0.
    static var one: SignedLogDeterminant { SignedLogDeterminant(sign: 1, logAbsoluteValue: 0) }

    init(sign: Int, logAbsoluteValue: Scalar) {
        self.sign = sign
        self.logAbsoluteValue = logAbsoluteValue
    }

    /// Π λᵢ as sign and log |Π λᵢ|; an exactly zero eigenvalue gives sign 0 and −∞.
    init(eigenvalues: [Scalar]) {
        var negatives = 0
        var logSum: Scalar = 0
        for value in eigenvalues {
            if value == 0 {
                self.init(sign: 0, logAbsoluteValue: -.infinity)
                return
            }
            if value < 0 {
                negatives += 1
            }
            logSum += Scalar(log(Double(abs(value))))
        }
        self.init(sign: negatives % 2 == 0 ? 1 : -1, logAbsoluteValue: logSum)
    }

    /// `torch.logdet`'s convention: log det when det > 0, −∞ when det = 0, NaN when det < 0.
    var logDeterminant: Scalar {
        switch sign {
        case 1: logAbsoluteValue
        case 0: -.infinity
        default: .nan
        }
    }
}
