import XCTest
@testable import Curvlinops

/// Every `problem` object in the fixtures decodes into a network, loss and
/// data that the curvature operators accept.
final class FixtureProblemTests: XCTestCase {
    func testEveryFixtureProblemDecodes() throws {
        var decoded = 0
        for file in try FixtureFile.all() {
            var problems: [(String, Any?)] = []
            if let problem = file.root["problem"] {
                problems.append(("problem", problem))
            }
            for (index, entry) in ((file.root["cases"] as? [Any]) ?? []).enumerated() {
                if let object = entry as? [String: Any], let problem = object["problem"] {
                    problems.append(("cases[\(index)].problem", problem))
                }
            }
            for (key, value) in problems {
                let problem = try FixtureProblem<Double>(value, key)
                XCTAssertEqual(problem.data.reduce(0) { $0 + $1.size }, problem.numData, "\(file.name) \(key): num_data")
                XCTAssertEqual(problem.model.parameterNames, problem.parameterNames, "\(file.name) \(key): parameter order")
                let ggn = try GGNLinearOperator(model: problem.model, loss: problem.loss,
                                                parameters: problem.parameterNames, data: problem.data)
                XCTAssertEqual(ggn.numData, problem.numData, "\(file.name) \(key)")
                decoded += 1
            }
        }
        XCTAssertGreaterThan(decoded, 0, "no fixture problems found")
    }
}
