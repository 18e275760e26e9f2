import XCTest
@testable import Curvlinops

/// Inputs with an axis of size 0 give empty outputs in the layers and are
/// rejected by the losses and the curvature operators, which have no terms
/// to average over.
final class ZeroSizeTests: XCTestCase {
    func testRearrangeOfEmptyAxisReturnsEmptyOutput() throws {
        let model = try Sequential<Double>([Rearrange()], seed: 0)
        XCTAssertEqual(try model(Tensor(zeros: [2, 3, 0])).shape, [2, 0, 3])
        XCTAssertEqual(try model(Tensor(zeros: [2, 0, 3])).shape, [2, 3, 0])
        XCTAssertEqual(try model(Tensor(zeros: [2, 0])).shape, [2, 0])
    }

    func testLayersOnEmptyMiddleAxisReturnEmptyOutputs() throws {
        let layers: [(any Layer, [Int])] = [
            (try Linear(inFeatures: 3, outFeatures: 4), [2, 0, 4]),
            (ReLU(), [2, 0, 3]),
            (Sigmoid(), [2, 0, 3]),
            (Tanh(), [2, 0, 3]),
            (try Flatten(), [2, 0]),
            (Rearrange(), [2, 3, 0]),
        ]
        for (layer, expected) in layers {
            let output = try Sequential<Double>([layer], seed: 0)(Tensor(zeros: [2, 0, 3]))
            XCTAssertEqual(output.shape, expected, "\(layer)")
            XCTAssertEqual(output.count, 0, "\(layer)")
        }
        let stacked = try Sequential<Float>(
            [try Linear(inFeatures: 3, outFeatures: 4), Tanh(), Rearrange(), try Flatten()], seed: 0)
        XCTAssertEqual(try stacked(Tensor(zeros: [2, 0, 3])).shape, [2, 0])
    }

    func testConv2dRejectsEmptyImage() throws {
        let conv = try Conv2d(inChannels: 1, outChannels: 1, kernelSize: 1, padding: 1)
        for shape in [[1, 1, 0, 3], [1, 1, 3, 0]] {
            assertThrows(.shapeMismatch, containing: ["\(shape)", "height and width at least 1"]) {
                try conv.outputShape(forInput: shape)
            }
            assertThrows(.shapeMismatch, containing: ["layer 0", "\(shape)"]) {
                try Sequential<Double>([conv], seed: 0)(Tensor(zeros: shape))
            }
        }
    }

    func testLossesRejectOutputWithoutTerms() throws {
        assertThrows(.shapeMismatch, containing: ["MSELoss", "[2, 0, 4]", "no loss terms"]) {
            try MSELoss()(Tensor<Double>(zeros: [2, 0, 4]), Tensor(zeros: [2, 0, 4]))
        }
        assertThrows(.shapeMismatch, containing: ["MSELoss", "[2, 0, 4]", "no loss terms"]) {
            try MSELoss(reduction: .sum)(Tensor<Double>(zeros: [2, 0, 4]), Tensor(zeros: [2, 0, 4]))
        }
        assertThrows(.shapeMismatch, containing: ["BCEWithLogitsLoss", "[2, 0, 4]", "no loss terms"]) {
            try BCEWithLogitsLoss()(Tensor<Float>(zeros: [2, 0, 4]), Tensor(zeros: [2, 0, 4]))
        }
        assertThrows(.shapeMismatch, containing: ["CrossEntropyLoss", "[2, 3, 0]", "no loss terms"]) {
            try CrossEntropyLoss()(Tensor<Double>(zeros: [2, 3, 0]), Tensor(zeros: [2, 0]))
        }
    }

    func testCurvatureOperatorsRejectDataWithoutLossTerms() throws {
        let model = try Sequential<Double>([try Linear(inFeatures: 3, outFeatures: 2)], seed: 0)
        let data = [Batch(input: Tensor<Double>(zeros: [2, 0, 3]), target: Tensor(zeros: [2, 0, 2]))]
        let fragments = ["data[0]", "[2, 0, 2]", "no loss terms"]
        assertThrows(.shapeMismatch, containing: ["GGNLinearOperator"] + fragments) {
            try GGNLinearOperator(model: model, loss: MSELoss(), parameters: model.parameterNames, data: data)
        }
        assertThrows(.shapeMismatch, containing: ["HessianLinearOperator"] + fragments) {
            try HessianLinearOperator(model: model, loss: MSELoss(), parameters: model.parameterNames, data: data)
        }
        assertThrows(.shapeMismatch, containing: ["KFACLinearOperator"] + fragments) {
            try KFACLinearOperator(model: model, loss: MSELoss(), parameters: model.parameterNames, data: data)
        }
    }
}
