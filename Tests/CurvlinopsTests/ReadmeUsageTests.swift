import Foundation
import XCTest
import Curvlinops

/// Runs the usage snippet of README.md, so that it cannot stop compiling or
/// change its results unnoticed.
final class ReadmeUsageTests: XCTestCase {
    func testReadmeSnippetRuns() throws {
        // The lines below, without the assertions, are the README snippet.
        // A symmetric positive-definite matrix as an operator, damped by 0.1·I.
        let a = try Matrix<Double>(rows: 2, columns: 2, rowMajor: [4, 1, 1, 3])
        let damped = try DenseLinearOperator(a) + 0.1 * IdentityLinearOperator<Double>(size: 2)

        // One vector, or k vectors at once as the columns of a 2 × k matrix.
        let y = try damped.apply([1, 2])
        let x = try Matrix<Double>(rows: 2, columns: 3, rowMajor: [1, 0, 1, 0, 1, 1])
        let images = try damped.apply(x)

        XCTAssertEqual(y[0], 6.1, accuracy: 1e-14)
        XCTAssertEqual(y[1], 7.2, accuracy: 1e-14)
        let expected = try Matrix<Double>(rows: 2, columns: 3, rowMajor: [4.1, 1, 5.1, 1, 3.1, 4.1])
        XCTAssertEqual(images.rows, 2)
        XCTAssertEqual(images.columns, 3)
        for (actual, wanted) in zip(images.elements, expected.elements) {
            XCTAssertEqual(actual, wanted, accuracy: 1e-14)
        }

        // Bad input throws a CurvlinopsError whose message names the argument.
        var caught: CurvlinopsError?
        do {
            _ = try damped.apply([1, 2, 3])
        } catch let error as CurvlinopsError {
            print(error.kind, error.message)
            caught = error
        }
        XCTAssertEqual(caught?.kind, .shapeMismatch)
        XCTAssertTrue(caught?.message.contains("x has 3 entries") == true, caught?.message ?? "nothing thrown")
        XCTAssertTrue(caught?.message.contains("inputSize = 2") == true, caught?.message ?? "nothing thrown")
    }

    func testReadmeSnippetMatchesThisTest() throws {
        let thisFile = URL(fileURLWithPath: #filePath)
        let root = thisFile.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let source = try String(contentsOf: thisFile, encoding: .utf8)
        let sourceLines = Set(source.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })

        let blocks = readme.components(separatedBy: "```swift\n").dropFirst()
        XCTAssertEqual(blocks.count, 1, "README.md should have one Swift snippet")
        let snippet = try XCTUnwrap(blocks.first?.components(separatedBy: "```").first)
        for line in snippet.split(separator: "\n") {
            let code = line.trimmingCharacters(in: .whitespaces)
            if code.isEmpty || code == "import Curvlinops" { continue }
            XCTAssertTrue(sourceLines.contains(code), "README line not in testReadmeSnippetRuns: \(code)")
        }
    }
}
