import XCTest

/// Runs every fixture file through the checker of its family.
final class FixtureTests: XCTestCase {
    func testEveryFixtureFileIsChecked() throws {
        let files = try FixtureFile.all()
        XCTAssertFalse(files.isEmpty, "no fixture files found in the test bundle")
        for file in files {
            if let checker = FixtureCheckers.byFamily[file.family] {
                XCTAssertNoThrow(try checker(file), "\(file.name): the checker for family \(file.family) threw")
            } else if FixtureCheckers.notYetImplemented.contains(file.family) {
                print("fixture \(file.name): family \(file.family) is listed as not yet implemented and was not checked")
            } else {
                XCTFail("fixture \(file.name): no checker for family \(file.family); add one to FixtureCheckers.byFamily")
            }
        }
    }

    func testNotYetImplementedFamiliesHaveNoChecker() {
        let both = FixtureCheckers.notYetImplemented.intersection(FixtureCheckers.byFamily.keys)
        XCTAssertTrue(both.isEmpty, "families both checked and listed as not yet implemented: \(both.sorted())")
    }
}
