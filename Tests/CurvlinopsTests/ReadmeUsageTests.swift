import Foundation
import XCTest
import Curvlinops

/// Runs the example of README.md, so that it cannot stop compiling or
/// change its results unnoticed.
final class ReadmeUsageTests: XCTestCase {
    func testReadmeSnippetRuns() throws {
        // The lines below, without the assertions, are the README snippet.
        // A network, its data and its loss.
        let model = try Sequential<Double>([
            try Linear(inFeatures: 4, outFeatures: 6), Tanh(),
            try Linear(inFeatures: 6, outFeatures: 3),
        ], seed: 0)
        let input = try Tensor<Double>(shape: [8, 4], elements: (0..<32).map { Double($0 % 7) / 7 })
        let data = [Batch(input: input, classLabels: [0, 1, 2, 0, 1, 2, 0, 1])]

        // The GGN damped by 0.01·I, and the gradient g of the loss.
        let ggn = try GGNLinearOperator(model: model, loss: CrossEntropyLoss(), parameters: model.parameterNames, data: data)
        let damped = try ggn + 0.01 * IdentityLinearOperator<Double>(shapes: ggn.inputShapes)
        let (g, _) = try ggn.gradientAndLoss()

        // The damped natural-gradient step (GGN + 0.01·I)⁻¹·g by CG, and its KFAC approximation.
        let step = try CGInverseLinearOperator(damped, tolerance: 1e-10).apply(g)
        let kfac = try KFACLinearOperator(
            model: model, loss: CrossEntropyLoss(), parameters: model.parameterNames, data: data, fisherType: .type2)
        let approximateStep = try KFACInverseLinearOperator(kfac, damping: .exact(0.01)).apply(g)

        let gradient = try Matrix(rows: g.count, columns: 1, columnMajor: g)
        for (operatorMatrix, result) in [(try ggn.dense(), step), (try kfac.dense(), approximateStep)] {
            var matrix = operatorMatrix
            for i in 0..<matrix.rows {
                matrix[i, i] += 0.01
            }
            let expected = try LAPACK.gesv(matrix, gradient).elements
            let error = zip(result, expected).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
            let scale = expected.map { $0 * $0 }.reduce(0, +).squareRoot()
            // CG stops at a relative residual of 1e-10, so its error is at most κ·1e-10 (κ < 1e3 here);
            // KFAC's inverse is exact up to rounding.
            XCTAssertLessThan(error / scale, 1e-7)
        }
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
