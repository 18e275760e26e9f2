import XCTest
@testable import Curvlinops

/// A small network, loss and data set for derivative and curvature tests.
struct NetworkProblem<Scalar: LapackScalar> {
    let name: String
    var model: Sequential<Scalar>
    let loss: any Loss
    let data: [Batch<Scalar>]
}

/// Random small problems covering every layer kind, loss and reduction.
/// They contain Linear on 2-D and 3-D inputs, with and without bias, and
/// Conv2d with stride, padding and dilation, with and without bias. They use
/// ReLU, Sigmoid, Tanh, Flatten and Rearrange, and MSE, cross-entropy and BCE,
/// each with `.mean` and `.sum`.
enum NetworkTestProblems {
    static func all(seed: UInt64 = 7) throws -> [NetworkProblem<Double>] {
        var generator = SeededGenerator(seed: seed)
        return [
            try problem(
                "mlp_tanh_ce_mean",
                [try Linear(inFeatures: 4, outFeatures: 5), Tanh(), try Linear(inFeatures: 5, outFeatures: 3)],
                loss: CrossEntropyLoss(reduction: .mean), inputShapes: [[3, 4], [2, 4]], using: &generator),
            try problem(
                "mlp_sigmoid_no_bias_mse_mean",
                [try Linear(inFeatures: 4, outFeatures: 5, bias: false), Sigmoid(), try Linear(inFeatures: 5, outFeatures: 2)],
                loss: MSELoss(reduction: .mean), inputShapes: [[3, 4], [2, 4]], using: &generator),
            try problem(
                "mlp_relu_bce_sum",
                [try Linear(inFeatures: 4, outFeatures: 5), ReLU(), try Linear(inFeatures: 5, outFeatures: 3)],
                loss: BCEWithLogitsLoss(reduction: .sum), inputShapes: [[3, 4], [2, 4]], using: &generator),
            try problem(
                "sequence_tanh_ce_sum",
                [try Linear(inFeatures: 3, outFeatures: 4), Tanh(), try Linear(inFeatures: 4, outFeatures: 3), Rearrange()],
                loss: CrossEntropyLoss(reduction: .sum), inputShapes: [[2, 2, 3], [1, 2, 3]], using: &generator),
            try problem(
                "sequence_sigmoid_mse_sum",
                [try Linear(inFeatures: 3, outFeatures: 4), Sigmoid(), try Linear(inFeatures: 4, outFeatures: 2)],
                loss: MSELoss(reduction: .sum), inputShapes: [[2, 2, 3], [1, 2, 3]], using: &generator),
            try problem(
                "sequence_relu_bce_mean",
                [try Linear(inFeatures: 3, outFeatures: 4, bias: false), ReLU(), try Linear(inFeatures: 4, outFeatures: 2)],
                loss: BCEWithLogitsLoss(reduction: .mean), inputShapes: [[2, 3, 3], [1, 3, 3]], using: &generator),
            try problem(
                "conv_strided_dilated_tanh_ce_mean",
                [try Conv2d(inChannels: 2, outChannels: 3, kernelSize: (2, 3), stride: (2, 1), padding: (1, 0), dilation: (1, 2)),
                 Tanh(), try Flatten(), try Linear(inFeatures: 18, outFeatures: 3)],
                loss: CrossEntropyLoss(reduction: .mean), inputShapes: [[2, 2, 5, 6], [1, 2, 5, 6]], using: &generator),
            try problem(
                "conv_two_layers_mse_sum",
                [try Conv2d(inChannels: 1, outChannels: 2, kernelSize: 3, padding: 1), ReLU(),
                 try Conv2d(inChannels: 2, outChannels: 2, kernelSize: 2, stride: 2, bias: false), Sigmoid(),
                 try Flatten(), try Linear(inFeatures: 8, outFeatures: 2)],
                loss: MSELoss(reduction: .sum), inputShapes: [[2, 1, 4, 4], [1, 1, 4, 4]], using: &generator),
        ]
    }

    /// Builds a problem with default-initialised parameters and random inputs and targets.
    static func problem(
        _ name: String, _ layers: [any Layer], loss: any Loss, inputShapes: [[Int]],
        using generator: inout SeededGenerator
    ) throws -> NetworkProblem<Double> {
        let model = try Sequential<Double>(layers, seed: generator.next())
        var data: [Batch<Double>] = []
        for shape in inputShapes {
            let input = randomTensor(shape, using: &generator)
            let outputShape = try model.outputShape(forInput: shape)
            data.append(Batch(input: input, target: randomTarget(for: loss, outputShape: outputShape, using: &generator)))
        }
        return NetworkProblem(name: name, model: model, loss: loss, data: data)
    }

    /// Draws a target fitting `loss` for an output of the given shape.
    static func randomTarget(for loss: any Loss, outputShape: [Int], using generator: inout SeededGenerator) -> Tensor<Double> {
        switch loss {
        case is CrossEntropyLoss:
            let shape = [outputShape[0]] + Array(outputShape.dropFirst(2))
            let classes = outputShape[1]
            let labels = (0..<shape.reduce(1, *)).map { _ in Double(Int.random(in: 0..<classes, using: &generator)) }
            return try! Tensor(shape: shape, elements: labels)
        case is BCEWithLogitsLoss:
            let values = (0..<outputShape.reduce(1, *)).map { _ in Double(Int.random(in: 0...1, using: &generator)) }
            return try! Tensor(shape: outputShape, elements: values)
        default:
            return randomTensor(outputShape, using: &generator)
        }
    }
}

/// Draws a tensor of standard normal entries.
func randomTensor(_ shape: [Int], using generator: inout SeededGenerator) -> Tensor<Double> {
    try! Tensor(shape: shape, elements: (0..<shape.reduce(1, *)).map { _ in generator.nextStandardNormal() })
}

/// Draws a matrix of standard normal entries.
func randomMatrix(_ rows: Int, _ columns: Int, using generator: inout SeededGenerator) -> Matrix<Double> {
    try! Matrix(rows: rows, columns: columns, columnMajor: (0..<(rows * columns)).map { _ in generator.nextStandardNormal() })
}

extension NetworkProblem {
    /// Returns the named parameters concatenated, each flattened row-major.
    func flatParameters(_ names: [String]) throws -> [Scalar] {
        try names.flatMap { try model.parameter(named: $0).elements }
    }

    /// Returns the problem with the named parameters replaced by the entries of a flat vector.
    func withFlatParameters(_ names: [String], _ values: [Scalar]) throws -> NetworkProblem {
        var copy = self
        var offset = 0
        for name in names {
            let shape = try model.parameter(named: name).shape
            let size = shape.reduce(1, *)
            try copy.model.setParameter(named: name, to: try Tensor(shape: shape, elements: Array(values[offset..<(offset + size)])))
            offset += size
        }
        return copy
    }

    /// Computes the data-set loss and its gradient with respect to the named parameters.
    func lossAndGradient(_ names: [String]) throws -> (loss: Scalar, gradient: [Scalar]) {
        let (gradient, loss) = try GGNLinearOperator(model: model, loss: loss, parameters: names, data: data).gradientAndLoss()
        return (loss, gradient)
    }

    /// Computes the network outputs of all batches, concatenated.
    func outputs() throws -> [Scalar] {
        try data.flatMap { try model($0.input).elements }
    }
}

/// Asserts max |actual − expected| ≤ atol + rtol · max |expected|, the fixtures' rule.
func assertClose(
    _ actual: [Double], _ expected: [Double], rtol: Double, atol: Double = 0,
    _ message: String, file: StaticString = #filePath, line: UInt = #line
) {
    if let mismatch = fixtureMismatch(actual, expected, rtol: rtol, atol: atol) {
        XCTFail("\(message): \(mismatch)", file: file, line: line)
    }
}
