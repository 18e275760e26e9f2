import XCTest
import Curvlinops

/// The examples of the networks guide, run as a user would run them (public API only).
final class NetworkDocumentationTests: XCTestCase {
    func testGuideExamplesRun() throws {
        let layers: [any Layer] = [
            try Linear(inFeatures: 64, outFeatures: 32), Tanh(),
            try Linear(inFeatures: 32, outFeatures: 10),
        ]
        var model = try Sequential<Double>(layers, seed: 42)
        XCTAssertEqual(model.parameterNames, ["0.weight", "0.bias", "2.weight", "2.bias"])

        let explicit = try Sequential<Double>(layers, parameters: Dictionary(uniqueKeysWithValues: model.namedParameters))
        let input = try Tensor<Double>(shape: [4, 64], elements: (0..<256).map { Double($0 % 17) / 16 })
        XCTAssertEqual(try explicit(input), try model(input))
        XCTAssertEqual(try model(input).shape, [4, 10])
        try model.setParameter(named: "2.bias", to: Tensor(zeros: [10]))

        let cnn = try Sequential<Float>([
            try Conv2d(inChannels: 1, outChannels: 8, kernelSize: 3, padding: 1), ReLU(),
            try Conv2d(inChannels: 8, outChannels: 8, kernelSize: (3, 3), stride: (2, 2), padding: (1, 1)), Tanh(),
            try Flatten(),
            try Linear(inFeatures: 8 * 4 * 4, outFeatures: 10),
        ], seed: 0)
        XCTAssertEqual(try cnn.outputShape(forInput: [5, 1, 8, 8]), [5, 10])

        let data = [
            Batch(input: input, classLabels: [3, 1, 4, 1]),
            Batch(input: try Tensor(shape: [2, 64], elements: (0..<128).map { Double($0 % 5) }),
                  target: try Tensor(shape: [2], elements: [9, 2])),
        ]
        let names = ["0.weight", "0.bias", "2.weight", "2.bias"]
        let ggn = try GGNLinearOperator(model: model, loss: CrossEntropyLoss(), parameters: names, data: data)
        let hessian = try HessianLinearOperator(model: model, loss: CrossEntropyLoss(), parameters: names, data: data)
        let fisher = try EFLinearOperator(model: model, loss: CrossEntropyLoss(), parameters: names, data: data)
        let monteCarlo = try FisherMCLinearOperator(model: model, loss: CrossEntropyLoss(), parameters: names,
                                                    data: data, samples: 1, seed: 2147483647)

        let (gradient, loss) = try ggn.gradientAndLoss()
        XCTAssertEqual(gradient.count, ggn.inputSize)
        let batchLosses = try data.map { try CrossEntropyLoss()(try model($0.input), $0.target) * Double($0.size) / 6 }
        XCTAssertEqual(loss, batchLosses.reduce(0, +), accuracy: 1e-12)

        let vectors = try Matrix<Double>(rows: ggn.inputSize, columns: 2,
                                         columnMajor: (0..<(2 * ggn.inputSize)).map { sin(Double($0)) })
        XCTAssertEqual(try ggn.apply(vectors).columns, 2)
        XCTAssertEqual(try hessian.dense().rows, ggn.inputSize)
        XCTAssertEqual(try fisher.apply(gradient).count, ggn.inputSize)
        XCTAssertEqual(try monteCarlo.apply(gradient).count, ggn.inputSize)

        let damped = try ggn + 1e-3 * IdentityLinearOperator<Double>(shapes: ggn.inputShapes)
        let direction = try damped.apply(gradient)
        let expected = zip(try ggn.apply(gradient), gradient).map { $0 + 1e-3 * $1 }
        for (actual, reference) in zip(direction, expected) {
            XCTAssertEqual(actual, reference, accuracy: 1e-12)
        }
    }
}
