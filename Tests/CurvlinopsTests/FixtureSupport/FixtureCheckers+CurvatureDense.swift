import XCTest
@testable import Curvlinops

extension FixtureCheckers {
    /// Checks the `curvature_dense` family: for every case the loss value, the
    /// gradient, and the dense GGN, Hessian and empirical Fisher, each within
    /// the README's tolerance for these quantities (rtol 1e-10, atol 1e-13).
    static func checkCurvatureDense(_ file: FixtureFile) throws {
        let (rtol, atol) = (1e-10, 1e-13)
        let cases = try fixtureArray(file.root["cases"], "cases")
        XCTAssertFalse(cases.isEmpty, "\(file.name): no cases")
        for (index, entry) in cases.enumerated() {
            let label = "\(file.name) case \(index)"
            do {
                let object = try fixtureObject(entry, "cases[\(index)]")
                let id = try fixtureString(object["id"], "cases[\(index)].id")
                let problem = try FixtureProblem<Double>(object["problem"], "cases[\(index)].problem")
                let parameters = try fixtureArray(object["operator_params"], "operator_params")
                    .map { try fixtureString($0, "operator_params") }

                let ggn = try GGNLinearOperator(model: problem.model, loss: problem.loss,
                                                parameters: parameters, data: problem.data)
                let hessian = try HessianLinearOperator(model: problem.model, loss: problem.loss,
                                                        parameters: parameters, data: problem.data)
                let fisher = try EFLinearOperator(model: problem.model, loss: problem.loss,
                                                  parameters: parameters, data: problem.data)
                XCTAssertEqual(ggn.numData, problem.numData, "\(file.name) \(id): num_data")
                let layout = try fixtureArray(object["layout"], "layout").map { try fixtureObject($0, "layout") }
                XCTAssertEqual(try layout.map { try fixtureString($0["name"], "layout.name") }, parameters,
                               "\(file.name) \(id): layout names")
                XCTAssertEqual(try layout.map { try fixtureArray($0["shape"], "layout.shape").map { try fixtureInt($0, "layout.shape") } },
                               ggn.inputShapes, "\(file.name) \(id): layout shapes")

                let (gradient, loss) = try ggn.gradientAndLoss()
                let comparisons: [(String, [Double])] = [
                    ("loss_value", [loss]),
                    ("gradient", gradient),
                    ("ggn", try ggn.dense().elements),
                    ("hessian", try hessian.dense().elements),
                    ("empirical_fisher", try fisher.dense().elements),
                ]
                for (key, actual) in comparisons {
                    let expected = try expectedValues(object[key], key)
                    if let mismatch = fixtureMismatch(actual, expected, rtol: rtol, atol: atol) {
                        XCTFail("\(file.name) \(id): \(key): \(mismatch)")
                    }
                }
            } catch {
                XCTFail("\(label): could not be run: \(error)")
            }
        }
    }

    /// Reads the reference values of a number, vector or matrix in column-major order.
    private static func expectedValues(_ value: Any?, _ key: String) throws -> [Double] {
        if let number = value as? NSNumber {
            return [number.doubleValue]
        }
        let tensor = try FixtureTensor(value, key)
        if tensor.shape.count <= 1 {
            return tensor.data
        }
        return try tensor.matrix(Double.self).elements
    }
}
