import XCTest
@testable import Curvlinops

/// Bad input to networks, losses and curvature operators throws a
/// ``CurvlinopsError`` of the right kind whose message names the problem.
final class NetworkValidationTests: XCTestCase {
    private func mlp() throws -> Sequential<Double> {
        try Sequential<Double>([try Linear(inFeatures: 3, outFeatures: 4), ReLU(), try Linear(inFeatures: 4, outFeatures: 2)], seed: 0)
    }

    private func batch(_ rows: Int = 2, features: Int = 3, labels: [Double]? = nil) throws -> Batch<Double> {
        Batch(input: try Tensor(shape: [rows, features], elements: (0..<(rows * features)).map { Double($0) / 10 }),
              target: try Tensor(shape: [labels?.count ?? rows], elements: labels ?? (0..<rows).map { Double($0 % 2) }))
    }

    /// Asserts that `body` throws a `CurvlinopsError` of `kind` whose message contains every fragment.
    private func assertThrows<T>(
        _ kind: CurvlinopsError.Kind, containing fragments: [String], file: StaticString = #filePath, line: UInt = #line,
        _ body: () throws -> T
    ) {
        do {
            _ = try body()
            XCTFail("no error thrown; expected \(kind)", file: file, line: line)
        } catch let error as CurvlinopsError {
            XCTAssertEqual(error.kind, kind, error.message, file: file, line: line)
            for fragment in fragments {
                XCTAssertTrue(error.message.contains(fragment), "message \"\(error.message)\" lacks \"\(fragment)\"",
                              file: file, line: line)
            }
        } catch {
            XCTFail("threw \(error); expected a CurvlinopsError", file: file, line: line)
        }
    }

    private func ggn(_ model: Sequential<Double>, _ data: [Batch<Double>], loss: any Loss = CrossEntropyLoss(),
                     parameters: [String]? = nil) throws -> GGNLinearOperator<Double> {
        try GGNLinearOperator(model: model, loss: loss, parameters: parameters ?? model.parameterNames, data: data)
    }

    func testInputNotFittingFirstLayerThrows() throws {
        let model = try mlp()
        let wrong = Batch(input: try Tensor<Double>(shape: [2, 5], elements: Array(repeating: 0, count: 10)),
                          target: try Tensor(shape: [2], elements: [0, 1]))
        assertThrows(.shapeMismatch, containing: ["GGNLinearOperator", "data[1].input", "layer 0", "[2, 5]", "3"]) {
            try ggn(model, [try batch(), wrong])
        }
        assertThrows(.shapeMismatch, containing: ["layer 0", "[2, 3, 4, 5]"]) {
            try Sequential<Double>([try Conv2d(inChannels: 2, outChannels: 1, kernelSize: 3)], seed: 0)(
                try Tensor(shape: [2, 3, 4, 5], elements: Array(repeating: 0, count: 120)))
        }
        assertThrows(.shapeMismatch, containing: ["empty output", "[1, 1, 2, 2]"]) {
            try Sequential<Double>([try Conv2d(inChannels: 1, outChannels: 1, kernelSize: 3)], seed: 0)(
                try Tensor(shape: [1, 1, 2, 2], elements: [0, 0, 0, 0]))
        }
        assertThrows(.shapeMismatch, containing: ["batch axis"]) {
            try model(try Tensor(shape: [0, 3], elements: []))
        }
    }

    func testTargetOfWrongShapeThrows() throws {
        let model = try mlp()
        assertThrows(.shapeMismatch, containing: ["data[0].target", "[3]", "[2]"]) {
            try ggn(model, [try batch(labels: [0, 1, 1])])
        }
        let values = Batch(input: try batch().input, target: try Tensor<Double>(shape: [2, 3], elements: Array(repeating: 0, count: 6)))
        assertThrows(.shapeMismatch, containing: ["MSELoss", "data[0].target", "[2, 3]", "[2, 2]"]) {
            try ggn(model, [values], loss: MSELoss())
        }
        assertThrows(.shapeMismatch, containing: ["BCEWithLogitsLoss", "target", "[2, 3]"]) {
            try BCEWithLogitsLoss()(try Tensor<Double>(shape: [2, 2], elements: [0, 0, 0, 0]), values.target)
        }
    }

    func testClassIndexOutOfRangeThrows() throws {
        let model = try mlp()
        assertThrows(.invalidArgument, containing: ["data[0].target", "2.0", "0..<2"]) {
            try ggn(model, [try batch(labels: [0, 2])])
        }
        assertThrows(.invalidArgument, containing: ["-1.0", "0..<2"]) {
            try ggn(model, [try batch(labels: [-1, 0])])
        }
        assertThrows(.invalidArgument, containing: ["0.5", "whole number"]) {
            try ggn(model, [try batch(labels: [0.5, 0])])
        }
    }

    func testUnknownRepeatedOrNoParameterNamesThrow() throws {
        let model = try mlp()
        let data = [try batch()]
        assertThrows(.invalidArgument, containing: ["parameters[1]", "\"1.weight\"", "0.weight", "2.bias"]) {
            try ggn(model, data, parameters: ["0.weight", "1.weight"])
        }
        assertThrows(.invalidArgument, containing: ["parameters[2]", "\"0.bias\"", "repeats parameters[0]"]) {
            try HessianLinearOperator(model: model, loss: CrossEntropyLoss(), parameters: ["0.bias", "2.bias", "0.bias"], data: data)
        }
        assertThrows(.invalidArgument, containing: ["EFLinearOperator", "parameters is empty"]) {
            try EFLinearOperator(model: model, loss: CrossEntropyLoss(), parameters: [], data: data)
        }
        assertThrows(.invalidArgument, containing: ["\"3.weight\"", "not a parameter"]) {
            try model.parameter(named: "3.weight")
        }
    }

    func testEmptyDataThrows() throws {
        let model = try mlp()
        assertThrows(.invalidArgument, containing: ["FisherMCLinearOperator", "data is empty"]) {
            try FisherMCLinearOperator(model: model, loss: CrossEntropyLoss(), parameters: model.parameterNames, data: [])
        }
    }

    func testNonFiniteInputsAndTargetsThrow() throws {
        let model = try mlp()
        var nanInput = try batch()
        nanInput.input[1, 2] = .nan
        assertThrows(.nonFiniteValue, containing: ["data[1].input", "nan", "flat index 5"]) {
            try ggn(model, [try batch(), nanInput])
        }
        var infiniteInput = try batch()
        infiniteInput.input[0, 0] = .infinity
        assertThrows(.nonFiniteValue, containing: ["data[0].input", "inf"]) {
            try ggn(model, [infiniteInput])
        }
        assertThrows(.nonFiniteValue, containing: ["input", "nan"]) {
            try model(nanInput.input)
        }
        let nanTarget = Batch(input: try batch().input, target: try Tensor<Double>(shape: [2, 2], elements: [0, .nan, 0, 0]))
        assertThrows(.nonFiniteValue, containing: ["data[0].target", "nan"]) {
            try ggn(model, [nanTarget], loss: MSELoss())
        }
    }

    func testBatchesWithDifferentOutputShapesThrow() throws {
        let model = try Sequential<Double>([try Linear(inFeatures: 3, outFeatures: 2)], seed: 0)
        let flat = Batch(input: try Tensor<Double>(shape: [2, 3], elements: Array(repeating: 0, count: 6)),
                         target: try Tensor(shape: [2, 2], elements: Array(repeating: 0, count: 4)))
        let sequence = Batch(input: try Tensor<Double>(shape: [2, 4, 3], elements: Array(repeating: 0, count: 24)),
                             target: try Tensor(shape: [2, 4, 2], elements: Array(repeating: 0, count: 16)))
        assertThrows(.shapeMismatch, containing: ["data[1]", "[2, 4, 2]", "[2, 2]"]) {
            try ggn(model, [flat, sequence], loss: MSELoss())
        }
    }

    func testWrongParameterValuesThrow() throws {
        let layers: [any Layer] = [try Linear(inFeatures: 3, outFeatures: 2)]
        let weight = try Tensor<Double>(shape: [2, 3], elements: Array(repeating: 0, count: 6))
        let bias = try Tensor<Double>(shape: [2], elements: [0, 0])
        assertThrows(.shapeMismatch, containing: ["\"0.weight\"", "[3, 2]", "[2, 3]"]) {
            try Sequential(layers, parameters: ["0.weight": try weight.reshaped([3, 2]), "0.bias": bias])
        }
        assertThrows(.invalidArgument, containing: ["\"0.bias\"", "[2]"]) {
            try Sequential(layers, parameters: ["0.weight": weight])
        }
        assertThrows(.invalidArgument, containing: ["\"1.weight\""]) {
            try Sequential(layers, parameters: ["0.weight": weight, "0.bias": bias, "1.weight": weight])
        }
        assertThrows(.nonFiniteValue, containing: ["\"0.bias\"", "nan"]) {
            try Sequential(layers, parameters: ["0.weight": weight, "0.bias": try Tensor(shape: [2], elements: [0, .nan])])
        }
        var model = try Sequential(layers, parameters: ["0.weight": weight, "0.bias": bias])
        assertThrows(.shapeMismatch, containing: ["\"0.bias\"", "[3]", "[2]"]) {
            try model.setParameter(named: "0.bias", to: try Tensor(shape: [3], elements: [0, 0, 0]))
        }
    }

    func testInvalidLayerSettingsThrow() {
        assertThrows(.unsupported, containing: ["groups = 2", "groups = 1"]) {
            try Conv2d(inChannels: 2, outChannels: 2, kernelSize: 3, groups: 2)
        }
        assertThrows(.invalidArgument, containing: ["stride = (0, 1)"]) {
            try Conv2d(inChannels: 2, outChannels: 2, kernelSize: (3, 3), stride: (0, 1))
        }
        assertThrows(.invalidArgument, containing: ["padding = (-1, -1)"]) {
            try Conv2d(inChannels: 2, outChannels: 2, kernelSize: 3, padding: -1)
        }
        assertThrows(.invalidArgument, containing: ["inFeatures = 0"]) {
            try Linear(inFeatures: 0, outFeatures: 2)
        }
        assertThrows(.unsupported, containing: ["startDimension = 0"]) {
            try Flatten(startDimension: 0)
        }
        assertThrows(.shapeMismatch, containing: ["Flatten", "[2, 3]"]) {
            try Flatten(startDimension: 2).outputShape(forInput: [2, 3])
        }
        assertThrows(.invalidArgument, containing: ["no layers"]) {
            try Sequential<Double>([], seed: 0)
        }
        assertThrows(.invalidArgument, containing: ["samples = 0"]) {
            let model = try mlp()
            return try FisherMCLinearOperator(model: model, loss: CrossEntropyLoss(), parameters: model.parameterNames,
                                              data: [try batch()], samples: 0)
        }
    }

    func testForeignLayerAndLossTypesThrow() throws {
        struct Doubling: Layer {
            var parameterShapes: [(name: String, shape: [Int])] { [] }
            func outputShape(forInput inputShape: [Int]) throws -> [Int] { inputShape }
            var description: String { "Doubling()" }
        }
        struct Absolute: Loss {
            var reduction: LossReduction { .sum }
            var description: String { "Absolute()" }
        }
        assertThrows(.unsupported, containing: ["layer 1", "Doubling()"]) {
            try Sequential<Double>([try Linear(inFeatures: 3, outFeatures: 2), Doubling()], seed: 0)
        }
        let model = try mlp()
        assertThrows(.unsupported, containing: ["GGNLinearOperator", "Absolute()"]) {
            try ggn(model, [try batch()], loss: Absolute())
        }
    }

    func testApplyRejectsWrongRowsAndNonFiniteColumns() throws {
        let model = try mlp()
        let operatorUnderTest = try ggn(model, [try batch()])
        assertThrows(.shapeMismatch, containing: ["rows", "\(operatorUnderTest.inputSize)"]) {
            try operatorUnderTest.apply(Matrix<Double>(zeros: 3, 1))
        }
        var x = Matrix<Double>(zeros: operatorUnderTest.inputSize, 2)
        x[4, 1] = .nan
        assertThrows(.nonFiniteValue, containing: ["column 1"]) {
            try operatorUnderTest.apply(x)
        }
    }
}
