import XCTest
import Curvlinops

final class OpenBLASTests: XCTestCase {
    func testThreadCountRoundTrips() throws {
        let original = OpenBLAS.threadCount
        defer { try? OpenBLAS.setThreadCount(original) }

        try OpenBLAS.setThreadCount(1)
        XCTAssertEqual(OpenBLAS.threadCount, 1)
    }

    func testThreadCountBelowOneThrows() {
        XCTAssertThrowsError(try OpenBLAS.setThreadCount(0)) { error in
            let error = error as? CurvlinopsError
            XCTAssertEqual(error?.kind, .invalidArgument)
            XCTAssertTrue(error?.message.contains("count = 0") ?? false, error?.message ?? "")
        }
    }

    func testConfigurationNamesOpenBLAS() {
        XCTAssertTrue(OpenBLAS.configuration.contains("OpenBLAS"), OpenBLAS.configuration)
    }
}
