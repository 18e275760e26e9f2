import XCTest
@testable import Curvlinops

/// Bad arguments to the model-based KFAC and EKFAC initializers throw before
/// any pass over the data, with a message naming the argument and value.
final class KFACModelValidationTests: XCTestCase {
    private func mlp() throws -> NetworkProblem<Double> {
        try NetworkTestProblems.all()[0]
    }

    func testMonteCarloSamplesBelowOneThrow() throws {
        let problem = try mlp()
        for samples in [0, -2] {
            assertThrows(.invalidArgument, containing: ["KFACLinearOperator", "samples: \(samples)", "samples ≥ 1"]) {
                try KFACLinearOperator(model: problem.model, loss: problem.loss, parameters: problem.model.parameterNames,
                                       data: problem.data, fisherType: .monteCarlo(samples: samples, seed: 1))
            }
            assertThrows(.invalidArgument, containing: ["EKFACLinearOperator", "samples: \(samples)"]) {
                try EKFACLinearOperator(model: problem.model, loss: problem.loss, parameters: problem.model.parameterNames,
                                        data: problem.data, fisherType: .monteCarlo(samples: samples, seed: 1))
            }
        }
    }

    func testWrongNumberOfLossTermsThrows() throws {
        let problem = try mlp()
        assertThrows(.invalidArgument, containing: ["numPerExampleLossTerms = 0", "at least 1"]) {
            try KFACLinearOperator(model: problem.model, loss: problem.loss, parameters: problem.model.parameterNames,
                                   data: problem.data, numPerExampleLossTerms: 0)
        }
        assertThrows(.invalidArgument, containing: ["numPerExampleLossTerms = 3", "has 1 loss terms per datum"]) {
            try KFACLinearOperator(model: problem.model, loss: problem.loss, parameters: problem.model.parameterNames,
                                   data: problem.data, numPerExampleLossTerms: 3)
        }

        let sequence = try NetworkTestProblems.all()[3]
        XCTAssertNoThrow(try KFACLinearOperator(
            model: sequence.model, loss: sequence.loss, parameters: sequence.model.parameterNames,
            data: sequence.data, numPerExampleLossTerms: 2))
        assertThrows(.invalidArgument, containing: ["numPerExampleLossTerms = 1", "has 2 loss terms per datum"]) {
            try KFACLinearOperator(model: sequence.model, loss: sequence.loss, parameters: sequence.model.parameterNames,
                                   data: sequence.data, numPerExampleLossTerms: 1)
        }
    }

    func testParameterOfUnsupportedLayerThrows() throws {
        let model = try Sequential<Double>(
            [try Linear(inFeatures: 3, outFeatures: 2), ElementwiseScale(features: 2)],
            parameters: ["0.weight": Tensor(zeros: [2, 3]), "0.bias": Tensor(zeros: [2]),
                         "1.weight": try Tensor(shape: [2], elements: [1, 2])])
        let data = [Batch(input: try Tensor(shape: [1, 3], elements: [1, 2, 3]), target: try Tensor(shape: [1, 2], elements: [0, 1]))]
        assertThrows(.unsupported, containing: ["parameters[1] = \"1.weight\"", "ElementwiseScale", "Linear and Conv2d"]) {
            try KFACLinearOperator(model: model, loss: MSELoss(), parameters: ["0.weight", "1.weight"], data: data)
        }
        assertThrows(.unsupported, containing: ["EKFACLinearOperator", "\"1.weight\""]) {
            try EKFACLinearOperator(model: model, loss: MSELoss(), parameters: ["1.weight"], data: data)
        }
        XCTAssertNoThrow(try KFACLinearOperator(model: model, loss: MSELoss(), parameters: ["0.bias", "0.weight"], data: data),
                         "the parameters of a supported layer of the same network")
    }

    func testEKFACRejectsForwardOnly() throws {
        let problem = try mlp()
        assertThrows(.invalidArgument, containing: ["EKFACLinearOperator", "fisherType = .forwardOnly"]) {
            try EKFACLinearOperator(model: problem.model, loss: problem.loss, parameters: problem.model.parameterNames,
                                    data: problem.data, fisherType: .forwardOnly)
        }
    }

    func testEKFACRejectsOutputsWithMoreThanTwoAxes() throws {
        for problem in try NetworkTestProblems.all() where problem.name.hasPrefix("sequence") {
            assertThrows(.unsupported, containing: ["EKFACLinearOperator", "only 2-D outputs"]) {
                try EKFACLinearOperator(model: problem.model, loss: problem.loss, parameters: problem.model.parameterNames,
                                        data: problem.data, fisherType: .type2)
            }
            XCTAssertNoThrow(try KFACLinearOperator(
                model: problem.model, loss: problem.loss, parameters: problem.model.parameterNames,
                data: problem.data, fisherType: .type2), "\(problem.name): KFAC takes sequence outputs")
        }
    }

    func testInvalidProblemThrowsNamingOperator() throws {
        let problem = try mlp()
        assertThrows(.invalidArgument, containing: ["KFACLinearOperator", "parameters is empty"]) {
            try KFACLinearOperator(model: problem.model, loss: problem.loss, parameters: [], data: problem.data)
        }
        assertThrows(.invalidArgument, containing: ["KFACLinearOperator", "\"9.weight\""]) {
            try KFACLinearOperator(model: problem.model, loss: problem.loss, parameters: ["9.weight"], data: problem.data)
        }
        assertThrows(.invalidArgument, containing: ["EKFACLinearOperator", "repeats"]) {
            try EKFACLinearOperator(model: problem.model, loss: problem.loss, parameters: ["0.bias", "0.bias"], data: problem.data)
        }
        assertThrows(.invalidArgument, containing: ["KFACLinearOperator", "data is empty"]) {
            try KFACLinearOperator(model: problem.model, loss: problem.loss, parameters: ["0.bias"], data: [])
        }
        let badInput = [Batch(input: Tensor<Double>(zeros: [2, 7]), classLabels: [0, 1])]
        assertThrows(.shapeMismatch, containing: ["KFACLinearOperator", "data[0].input"]) {
            try KFACLinearOperator(model: problem.model, loss: problem.loss, parameters: ["0.bias"], data: badInput)
        }
    }
}
