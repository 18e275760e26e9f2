import XCTest
@testable import Curvlinops

/// Forward passes of the layers against their defining formulas, written
/// out element by element here, and the network's parameter bookkeeping.
final class NetworkLayerTests: XCTestCase {
    func testConv2dMatchesCrossCorrelationFormula() throws {
        var generator = SeededGenerator(seed: 31)
        let settings: [(kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int), bias: Bool)] = [
            ((3, 3), (1, 1), (1, 1), (1, 1), true),
            ((2, 3), (2, 1), (0, 1), (1, 2), true),
            ((1, 2), (1, 3), (2, 0), (2, 1), false),
        ]
        for setting in settings {
            let layer = try Conv2d(inChannels: 2, outChannels: 3, kernelSize: setting.kernel, stride: setting.stride,
                                   padding: setting.padding, dilation: setting.dilation, bias: setting.bias)
            let model = try Sequential<Double>([layer], seed: generator.next())
            let input = randomTensor([2, 2, 5, 6], using: &generator)
            let output = try model(input)

            let weight = try model.parameter(named: "0.weight")
            let bias = setting.bias ? try model.parameter(named: "0.bias") : nil
            let (kh, kw) = setting.kernel
            let outputHeight = (5 + 2 * setting.padding.0 - setting.dilation.0 * (kh - 1) - 1) / setting.stride.0 + 1
            let outputWidth = (6 + 2 * setting.padding.1 - setting.dilation.1 * (kw - 1) - 1) / setting.stride.1 + 1
            XCTAssertEqual(output.shape, [2, 3, outputHeight, outputWidth], "\(layer)")

            var expected: [Double] = []
            for n in 0..<2 {
                for o in 0..<3 {
                    for p in 0..<outputHeight {
                        for q in 0..<outputWidth {
                            var sum = bias?[o] ?? 0
                            for c in 0..<2 {
                                for i in 0..<kh {
                                    for j in 0..<kw {
                                        let y = p * setting.stride.0 + i * setting.dilation.0 - setting.padding.0
                                        let x = q * setting.stride.1 + j * setting.dilation.1 - setting.padding.1
                                        if y >= 0, y < 5, x >= 0, x < 6 {
                                            sum += weight[o, c, i, j] * input[n, c, y, x]
                                        }
                                    }
                                }
                            }
                            expected.append(sum)
                        }
                    }
                }
            }
            assertClose(output.elements, expected, rtol: 1e-14, "\(layer)")
        }
    }

    func testLinearActsOnLastAxisOfSequences() throws {
        var generator = SeededGenerator(seed: 32)
        let model = try Sequential<Double>([try Linear(inFeatures: 3, outFeatures: 2)], seed: 1)
        let sequence = randomTensor([2, 4, 3], using: &generator)
        let output = try model(sequence)
        XCTAssertEqual(output.shape, [2, 4, 2])

        let weight = try model.parameter(named: "0.weight")
        let bias = try model.parameter(named: "0.bias")
        var expected: [Double] = []
        for n in 0..<2 {
            for t in 0..<4 {
                for o in 0..<2 {
                    expected.append(bias[o] + (0..<3).reduce(0) { $0 + weight[o, $1] * sequence[n, t, $1] })
                }
            }
        }
        assertClose(output.elements, expected, rtol: 1e-15, "Linear on [2, 4, 3]")
    }

    func testActivationsMatchDefinitions() throws {
        let values: [Double] = [-30, -2, -0.5, 0, 0.5, 2, 30]
        let input = try Tensor(shape: [1, values.count], elements: values)
        let relu = try Sequential<Double>([ReLU()], seed: 0)(input).elements
        let sigmoid = try Sequential<Double>([Sigmoid()], seed: 0)(input).elements
        let tanh = try Sequential<Double>([Tanh()], seed: 0)(input).elements
        for (index, x) in values.enumerated() {
            XCTAssertEqual(relu[index], max(x, 0), "ReLU(\(x))")
            XCTAssertEqual(sigmoid[index], 1 / (1 + exp(-x)), accuracy: 1e-16, "Sigmoid(\(x))")
            XCTAssertEqual(tanh[index], Foundation.tanh(x), accuracy: 1e-16, "Tanh(\(x))")
        }
    }

    func testRearrangeMovesLastAxisToPositionOne() throws {
        let input = try Tensor<Double>(shape: [2, 3, 4], elements: (0..<24).map(Double.init))
        let output = try Sequential<Double>([Rearrange()], seed: 0)(input)
        XCTAssertEqual(output.shape, [2, 4, 3])
        for n in 0..<2 {
            for t in 0..<3 {
                for c in 0..<4 {
                    XCTAssertEqual(output[n, c, t], input[n, t, c], "[\(n), \(c), \(t)]")
                }
            }
        }
        XCTAssertEqual(try Rearrange().outputShape(forInput: [2, 5]), [2, 5])
        XCTAssertEqual(try Rearrange().outputShape(forInput: [2, 3, 4, 5]), [2, 5, 3, 4])
    }

    func testFlattenMergesRequestedAxes() throws {
        XCTAssertEqual(try Flatten().outputShape(forInput: [2, 3, 4, 5]), [2, 60])
        XCTAssertEqual(try Flatten(startDimension: 2).outputShape(forInput: [2, 3, 4, 5]), [2, 3, 20])
        XCTAssertEqual(try Flatten(startDimension: 1, endDimension: 2).outputShape(forInput: [2, 3, 4, 5]), [2, 12, 5])
        XCTAssertEqual(try Flatten(startDimension: 1, endDimension: -2).outputShape(forInput: [2, 3, 4, 5]), [2, 12, 5])
        let input = try Tensor<Double>(shape: [2, 2, 3], elements: (0..<12).map(Double.init))
        let output = try Sequential<Double>([try Flatten()], seed: 0)(input)
        XCTAssertEqual(output.shape, [2, 6])
        XCTAssertEqual(output.elements, input.elements)
    }

    func testParameterNamesFollowPyTorch() throws {
        let model = try Sequential<Float>(
            [try Conv2d(inChannels: 1, outChannels: 2, kernelSize: 3, bias: false), ReLU(), try Flatten(),
             try Linear(inFeatures: 8, outFeatures: 3), Sigmoid(), try Linear(inFeatures: 3, outFeatures: 1, bias: false)],
            seed: 0)
        XCTAssertEqual(model.parameterNames, ["0.weight", "3.weight", "3.bias", "5.weight"])
        XCTAssertEqual(model.parameterShapes, [[2, 1, 3, 3], [3, 8], [3], [1, 3]])
        XCTAssertEqual(model.parameterCount, 18 + 24 + 3 + 3)
        XCTAssertEqual(model.namedParameters.map(\.name), model.parameterNames)
    }

    /// PyTorch's default initialisation: uniform in ±1/√fan-in, fan-in = in
    /// (Linear) or C_in·kh·kw (Conv2d), the same for the bias.
    func testSeededInitialisationUsesPyTorchRanges() throws {
        let layers: [any Layer] = [try Conv2d(inChannels: 2, outChannels: 4, kernelSize: (3, 2)), ReLU(), try Flatten(),
                                   try Linear(inFeatures: 40, outFeatures: 25)]
        let model = try Sequential<Double>(layers, seed: 9)
        let bounds = ["0.weight": 1 / 12.0.squareRoot(), "0.bias": 1 / 12.0.squareRoot(),
                      "3.weight": 1 / 40.0.squareRoot(), "3.bias": 1 / 40.0.squareRoot()]
        for (name, value) in model.namedParameters {
            let bound = bounds[name]!
            XCTAssertTrue(value.elements.allSatisfy { abs($0) <= bound }, "\(name) exceeds ±\(bound)")
            // Uniform draws fill the range: the largest |entry| is near the bound.
            XCTAssertGreaterThan(value.elements.map(abs).max()!, 0.5 * bound, "\(name) does not fill ±\(bound)")
        }
        let again = try Sequential<Double>(layers, seed: 9)
        let other = try Sequential<Double>(layers, seed: 10)
        XCTAssertEqual(model.parameterValues, again.parameterValues, "the same seed gives other values")
        XCTAssertNotEqual(model.parameterValues, other.parameterValues, "two seeds give the same values")
    }

    func testExplicitParametersAreUsed() throws {
        let weight = try Tensor<Double>(shape: [2, 3], elements: [1, 2, 3, 4, 5, 6])
        let bias = try Tensor<Double>(shape: [2], elements: [0.5, -0.5])
        var model = try Sequential<Double>([try Linear(inFeatures: 3, outFeatures: 2)],
                                           parameters: ["0.weight": weight, "0.bias": bias])
        let input = try Tensor<Double>(shape: [1, 3], elements: [1, 0, -1])
        XCTAssertEqual(try model(input).elements, [-1.5, -2.5])

        try model.setParameter(named: "0.bias", to: try Tensor(shape: [2], elements: [0, 0]))
        XCTAssertEqual(try model(input).elements, [-2, -2])
        XCTAssertEqual(try model.parameter(named: "0.weight"), weight)
    }

    func testLossValuesMatchPyTorchDefinitions() throws {
        let output = try Tensor<Double>(shape: [2, 3], elements: [1, 2, 0.5, -1, 0, 3])
        let labels = try Tensor<Double>(shape: [2], elements: [2, 0])
        let values = try Tensor<Double>(shape: [2, 3], elements: [0, 1, 1, 1, 0, 1])

        let logSumExp0 = log(exp(1.0) + exp(2.0) + exp(0.5))
        let logSumExp1 = log(exp(-1.0) + exp(0.0) + exp(3.0))
        let crossEntropy = (logSumExp0 - 0.5) + (logSumExp1 + 1)
        XCTAssertEqual(try CrossEntropyLoss(reduction: .sum)(output, labels), crossEntropy, accuracy: 1e-14)
        XCTAssertEqual(try CrossEntropyLoss(reduction: .mean)(output, labels), crossEntropy / 2, accuracy: 1e-14)

        let squares = zip(output.elements, values.elements).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        XCTAssertEqual(try MSELoss(reduction: .sum)(output, values), squares, accuracy: 1e-14)
        XCTAssertEqual(try MSELoss(reduction: .mean)(output, values), squares / 6, accuracy: 1e-14)

        let binary = zip(output.elements, values.elements).reduce(0.0) { sum, pair in
            let s = 1 / (1 + exp(-pair.0))
            return sum - (pair.1 * log(s) + (1 - pair.1) * log(1 - s))
        }
        XCTAssertEqual(try BCEWithLogitsLoss(reduction: .sum)(output, values), binary, accuracy: 1e-13)
        XCTAssertEqual(try BCEWithLogitsLoss(reduction: .mean)(output, values), binary / 6, accuracy: 1e-13)
    }

    /// Cross-entropy over a sequence: output [B, C, T], targets [B, T], the
    /// mean over all B·T predictions.
    func testCrossEntropyOverSequenceAveragesAllPredictions() throws {
        var generator = SeededGenerator(seed: 33)
        let output = randomTensor([2, 3, 4], using: &generator)
        let labels = try Tensor<Double>(shape: [2, 4], elements: [0, 1, 2, 1, 2, 2, 0, 1])
        var expected = 0.0
        for n in 0..<2 {
            for t in 0..<4 {
                let logits = (0..<3).map { output[n, $0, t] }
                expected += log(logits.map(exp).reduce(0, +)) - logits[Int(labels[n, t])]
            }
        }
        XCTAssertEqual(try CrossEntropyLoss()(output, labels), expected / 8, accuracy: 1e-14)
    }

    func testLargeLogitsGiveFiniteLosses() throws {
        let output = try Tensor<Double>(shape: [1, 2], elements: [1000, -1000])
        XCTAssertEqual(try CrossEntropyLoss()(output, try Tensor(shape: [1], elements: [1])), 2000, accuracy: 1e-9)
        XCTAssertEqual(try BCEWithLogitsLoss(reduction: .sum)(output, try Tensor(shape: [1, 2], elements: [0, 1])),
                       2000, accuracy: 1e-9)
    }
}
