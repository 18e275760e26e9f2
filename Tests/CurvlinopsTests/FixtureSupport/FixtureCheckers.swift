import XCTest

/// Checks every case of one fixture file, recording a failure per mismatch.
///
/// A checker reads every setting from the case itself and must fail, never
/// skip, a case it cannot run.
typealias FixtureChecker = @Sendable (FixtureFile) throws -> Void

/// The one place that maps fixture families to their checkers.
enum FixtureCheckers {
    /// The checker of each family.
    static let byFamily: [String: FixtureChecker] = [
        "dense_cg": checkDenseCGFixture,
        "dense_lsmr": checkDenseLSMRFixture,
        "dense_neumann": checkDenseNeumannFixture,
        "curvature_dense": checkCurvatureDense,
        "kfac_inverse": KFACInverseFixtureChecker.check,
        "kfac_mlp": KFACFixtureChecker.checkKFAC,
        "kfac_weight_sharing": KFACFixtureChecker.checkKFAC,
        "ekfac": KFACFixtureChecker.checkEKFAC,
    ]

    /// Families whose checkers are still to be written. Their files are
    /// reported by name in the test log, never skipped silently; this list
    /// shrinks to empty as the library grows.
    static let notYetImplemented: Set<String> = [
        "digits_mlp",
    ]
}
