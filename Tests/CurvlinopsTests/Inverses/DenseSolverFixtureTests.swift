import XCTest

/// Runs the dense solver fixture families one by one, so that each can be
/// run alone (`swift test --filter DenseSolverFixtureTests`).
final class DenseSolverFixtureTests: XCTestCase {
    func testDenseCGFixtures() throws {
        try checkFamily("dense_cg", with: checkDenseCGFixture)
    }

    func testDenseLSMRFixtures() throws {
        try checkFamily("dense_lsmr", with: checkDenseLSMRFixture)
    }

    func testDenseNeumannFixtures() throws {
        try checkFamily("dense_neumann", with: checkDenseNeumannFixture)
    }

    private func checkFamily(_ family: String, with checker: FixtureChecker) throws {
        let files = try FixtureFile.files(ofFamily: family)
        XCTAssertFalse(files.isEmpty, "no fixture file of family \(family)")
        for file in files {
            try checker(file)
        }
    }
}
