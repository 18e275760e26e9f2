/// A Kronecker factor with an eigenvalue below zero by more than rounding explains.
///
/// Factors computed from a network are covariances, positive semidefinite up
/// to rounding, whose eigenvalues LAPACK returns with errors of a few
/// ε·max |λ|. An eigenvalue below −√ε·max |λ| therefore means a factor that
/// is not a covariance, which only happens with factors given by the caller.
struct IndefiniteKroneckerFactor<Scalar: LapackScalar>: Sendable {
    let smallestEigenvalue: Scalar
    let largestMagnitude: Scalar
    let threshold: Scalar

    /// Returns the finding for the eigenvalues of one factor, or `nil` when
    /// the factor is positive semidefinite up to rounding.
    init?(eigenvalues: [Scalar]) {
        guard let smallest = eigenvalues.min() else { return nil }
        let largest = eigenvalues.reduce(Scalar(0)) { max($0, abs($1)) }
        let threshold = Scalar.ulpOfOne.squareRoot() * largest
        guard smallest < -threshold else { return nil }
        self.smallestEigenvalue = smallest
        self.largestMagnitude = largest
        self.threshold = threshold
    }

    /// Decomposes `factor` and returns the finding, or `nil` when it is
    /// positive semidefinite up to rounding or the decomposition fails.
    ///
    /// - Complexity: One `syevd`, O(d³); meant for a failure path.
    init?(factor: Matrix<Scalar>) {
        guard let (eigenvalues, _) = try? LAPACK.syevd(factor) else { return nil }
        self.init(eigenvalues: eigenvalues)
    }

    /// Returns a clause naming the factor and its eigenvalue, for the start of a message.
    func description(role: KroneckerFactorRole, layer: String) -> String {
        "the \(role.rawValue) factor \(role.symbol) of layer \"\(layer)\" is indefinite: it has the smallest eigenvalue \(smallestEigenvalue), below −√ε · max |λ| = \(-threshold) (max |λ| = \(largestMagnitude)), more than rounding explains"
    }

    /// The remedy, for the end of a message.
    static var advice: String {
        "Kronecker factors must be symmetric positive semidefinite, as covariances are; check the factors given to the KFAC operator."
    }
}
