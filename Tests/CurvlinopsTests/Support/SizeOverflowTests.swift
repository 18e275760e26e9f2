import XCTest
@testable import Curvlinops

/// Sizes whose products or sums overflow `Int` throw instead of trapping.
final class SizeOverflowTests: XCTestCase {
    // MARK: Layers and networks

    func testConv2dRejectsOverflowingHyperparameters() throws {
        assertThrows(.invalidArgument, containing: ["Conv2d", "padding", "\(Int.max / 2 + 1)", "2·padding"]) {
            try Conv2d(inChannels: 1, outChannels: 1, kernelSize: 1, padding: Int.max / 2 + 1)
        }
        assertThrows(.invalidArgument, containing: ["Conv2d", "dilation", "\(Int.max)", "dilation·(kernelSize − 1) + 1"]) {
            try Conv2d(inChannels: 1, outChannels: 1, kernelSize: 3, dilation: Int.max)
        }
        assertThrows(.invalidArgument, containing: ["Conv2d", "weight", "more entries than Int can count"]) {
            try Conv2d(inChannels: 1 << 31, outChannels: 1 << 31, kernelSize: 2)
        }
    }

    func testConv2dOutputShapeRejectsOverflowingInput() throws {
        let conv = try Conv2d(inChannels: 1, outChannels: 1, kernelSize: 1, padding: Int.max / 2)
        assertThrows(.shapeMismatch, containing: ["Conv2d", "[1, 1, 2, 2]", "more than Int can count"]) {
            try conv.outputShape(forInput: [1, 1, 2, 2])
        }
        let plain = try Conv2d(inChannels: 1, outChannels: 1, kernelSize: 1, padding: 1)
        assertThrows(.shapeMismatch, containing: ["Conv2d", "\(Int.max)", "more than Int can count"]) {
            try plain.outputShape(forInput: [1, 1, Int.max, 2])
        }
        // Each side fits, but the output [1, 1, 2^31 + 1, 2^31 + 1] times the batch does not.
        let wide = try Conv2d(inChannels: 1, outChannels: 1, kernelSize: 1, padding: 1 << 30)
        assertThrows(.shapeMismatch, containing: ["Conv2d", "more entries than Int can count"]) {
            try wide.outputShape(forInput: [1 << 10, 1, 1, 1])
        }
    }

    func testValidConv2dOutputShapeIsUnchanged() throws {
        let conv = try Conv2d(inChannels: 2, outChannels: 3, kernelSize: (3, 2), stride: (2, 1), padding: (1, 0),
                              dilation: (1, 2))
        // H_out = ⌊(5 + 2 − 2 − 1)/2⌋ + 1 = 3, W_out = ⌊(6 + 0 − 2 − 1)/1⌋ + 1 = 4.
        XCTAssertEqual(try conv.outputShape(forInput: [4, 2, 5, 6]), [4, 3, 3, 4])
    }

    func testLinearRejectsWeightWithTooManyEntries() throws {
        assertThrows(.invalidArgument, containing: ["Linear", "\(1 << 32)", "more entries than Int can count"]) {
            try Sequential<Double>([try Linear(inFeatures: 1 << 32, outFeatures: 1 << 32)], seed: 0)
        }
    }

    func testSequentialRejectsParametersBeyondAddressableMemory() throws {
        // 2^61 weight entries fit in Int, but not their 2^64 bytes.
        let layers: [any Layer] = [try Linear(inFeatures: 1 << 31, outFeatures: 1 << 30, bias: false)]
        assertThrows(.invalidArgument, containing: ["Sequential", "\"0.weight\"", "bytes"]) {
            try Sequential<Double>(layers, seed: 0)
        }
    }

    func testSequentialOutputShapeRejectsOverflowingActivations() throws {
        let model = try Sequential<Double>([try Flatten()], seed: 0)
        assertThrows(.shapeMismatch, containing: ["Sequential", "more entries than Int can count"]) {
            try model.outputShape(forInput: [1 << 32, 1 << 32])
        }
    }

    // MARK: Kronecker-factored operators from given factors

    func testKFACFromGivenFactorsRejectsOverflowingShapes() throws {
        let factors = (input: ["l": Matrix<Double>.identity(4)], gradient: ["l": Matrix<Double>.identity(2)])
        let layers = [KFACLayer(name: "l", weightPosition: 0, biasPosition: 1)]
        assertThrows(.shapeMismatch, containing: ["KFACLinearOperator", "parameterShapes", "more entries than Int can count"]) {
            try KFACLinearOperator<Double>(
                parameterShapes: [[1 << 62, 4], [1 << 62]], layers: layers,
                inputCovariances: factors.input, gradientCovariances: factors.gradient)
        }
        assertThrows(.shapeMismatch, containing: ["KFACLinearOperator", "parameterShapes[0]", "more entries than Int can count"]) {
            try KFACLinearOperator<Double>(
                parameterShapes: [[2, 1 << 62, 4], [2]], layers: layers,
                inputCovariances: factors.input, gradientCovariances: factors.gradient)
        }
        assertThrows(.shapeMismatch, containing: ["EKFACLinearOperator", "parameterShapes", "more entries than Int can count"]) {
            try EKFACLinearOperator<Double>(
                parameterShapes: [[1 << 62, 4], [1 << 62]], layers: layers,
                inputCovariances: factors.input, gradientCovariances: factors.gradient, correctedEigenvalues: [:])
        }
    }

    func testKFACRejectsFactorWithTooManyEntries() throws {
        // The weight has 2^33 entries, which Int counts, but its input factor would have 2^66.
        assertThrows(.shapeMismatch, containing: ["KFACLinearOperator", "input factor", "more entries than Int can count"]) {
            try KFACLinearOperator<Double>(
                parameterShapes: [[1, 1 << 33]], layers: [KFACLayer(name: "l", weightPosition: 0)],
                inputCovariances: ["l": .identity(1)], gradientCovariances: ["l": .identity(1)])
        }
    }

    // MARK: Monte-Carlo sample counts

    private func problem() throws -> (model: Sequential<Double>, data: [Batch<Double>]) {
        let model = try Sequential<Double>([try Linear(inFeatures: 3, outFeatures: 2)], seed: 0)
        let input = try Tensor<Double>(shape: [4, 3], elements: (0..<12).map { Double($0) / 12 })
        return (model, [Batch(input: input, classLabels: [0, 1, 1, 0])])
    }

    func testFisherMCRejectsSampleCountBeyondMemory() throws {
        let (model, data) = try problem()
        assertThrows(.invalidArgument, containing: ["FisherMCLinearOperator", "samples = \(Int.max / 2)", "8 output entries"]) {
            try FisherMCLinearOperator(model: model, loss: CrossEntropyLoss(), parameters: model.parameterNames,
                                       data: data, samples: Int.max / 2)
        }
    }

    func testKFACRejectsSampleCountBeyondMemory() throws {
        let (model, data) = try problem()
        let fisherType = FisherType.monteCarlo(samples: Int.max / 2, seed: 1)
        assertThrows(.invalidArgument, containing: ["KFACLinearOperator", "samples: \(Int.max / 2)", "8 output entries"]) {
            try KFACLinearOperator(model: model, loss: CrossEntropyLoss(), parameters: model.parameterNames,
                                   data: data, fisherType: fisherType)
        }
        assertThrows(.invalidArgument, containing: ["EKFACLinearOperator", "samples: \(Int.max / 2)"]) {
            try EKFACLinearOperator(model: model, loss: CrossEntropyLoss(), parameters: model.parameterNames,
                                    data: data, fisherType: fisherType)
        }
    }

    func testGivenFactorsRejectInvalidSampleCount() throws {
        assertThrows(.invalidArgument, containing: ["KFACLinearOperator", "samples: -5", "samples ≥ 1"]) {
            try KFACLinearOperator<Double>(
                parameterShapes: [[2]], layers: [KFACLayer(name: "b", biasPosition: 0)], inputCovariances: [:],
                gradientCovariances: ["b": .identity(2)], fisherType: .monteCarlo(samples: -5, seed: 1))
        }
        assertThrows(.invalidArgument, containing: ["EKFACLinearOperator", "samples: 0", "samples ≥ 1"]) {
            try EKFACLinearOperator<Double>(
                parameterShapes: [[2]], layers: [KFACLayer(name: "b", biasPosition: 0)], inputCovariances: [:],
                gradientCovariances: ["b": .identity(2)], correctedEigenvalues: ["b": .separate(weight: nil, bias: [1, 2])],
                fisherType: .monteCarlo(samples: 0, seed: 1))
        }
    }
}
