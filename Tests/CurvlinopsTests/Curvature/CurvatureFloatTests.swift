import XCTest
@testable import Curvlinops

/// The curvature operators in single precision against double precision on
/// the fixture problems (MLPs with every loss, a convolutional network).
final class CurvatureFloatTests: XCTestCase {
    /// Float has a unit roundoff of 6·10⁻⁸. Each entry here is a sum of a few
    /// hundred products through two or three layers. The measured worst case
    /// over these problems is 3·10⁻⁷ of the largest entry. The bound 10⁻⁵
    /// leaves a margin for other BLAS builds, while an error in a Float-only
    /// path (a conversion, a precision-dependent constant) would be of order 1.
    private let tolerance = 1e-5

    func testFloatOperatorsMatchDouble() throws {
        let file = try FixtureFile.files(ofFamily: "curvature_dense")[0]
        for (index, entry) in try fixtureArray(file.root["cases"], "cases").enumerated() {
            let object = try fixtureObject(entry, "cases[\(index)]")
            let single = try FixtureProblem<Float>(object["problem"], "problem")
            let double = try FixtureProblem<Double>(object["problem"], "problem")
            let names = single.parameterNames

            let singleResults = try results(single, names: names)
            let doubleResults = try results(double, names: names)
            for (label, (singleValues, doubleValues)) in zip(["loss", "gradient", "GGN", "Hessian", "EF", "MC Fisher"],
                                                             zip(singleResults, doubleResults)) {
                assertClose(singleValues.map(Double.init), doubleValues, rtol: tolerance, "\(single.name): \(label)")
            }
        }
    }

    private func results<Scalar: LapackScalar>(_ problem: FixtureProblem<Scalar>, names: [String]) throws -> [[Scalar]] {
        let (model, loss, data) = (problem.model, problem.loss, problem.data)
        let ggn = try GGNLinearOperator(model: model, loss: loss, parameters: names, data: data)
        let (gradient, value) = try ggn.gradientAndLoss()
        return [
            [value],
            gradient,
            try ggn.dense().elements,
            try HessianLinearOperator(model: model, loss: loss, parameters: names, data: data).dense().elements,
            try EFLinearOperator(model: model, loss: loss, parameters: names, data: data).dense().elements,
            try FisherMCLinearOperator(model: model, loss: loss, parameters: names, data: data, samples: 4, seed: 3)
                .dense().elements,
        ]
    }
}
