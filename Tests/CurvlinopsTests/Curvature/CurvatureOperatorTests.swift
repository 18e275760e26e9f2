import XCTest
@testable import Curvlinops

/// Identities of the curvature operators on random networks, in double
/// precision unless a test states otherwise.
final class CurvatureOperatorTests: XCTestCase {
    /// GGN = κρ² Σ Jᵀ H J and EF = κρ² Σ (Jᵀ∇l)(Jᵀ∇l)ᵀ, with the Jacobian J of
    /// every loss term built densely (and checked against finite differences)
    /// and the per-term Hessians and gradients written out in this test.
    func testGGNAndEmpiricalFisherEqualDenseJacobianProducts() throws {
        for problem in try NetworkTestProblems.all() {
            let names = problem.model.parameterNames
            let parameterCount = try problem.flatParameters(names).count
            let numData = problem.data.reduce(0) { $0 + $1.size }
            var expectedGGN = Matrix<Double>(zeros: parameterCount, parameterCount)
            var expectedFisher = Matrix<Double>(zeros: parameterCount, parameterCount)

            for batch in problem.data {
                let jacobian = try denseJacobian(problem, input: batch.input, names: names)
                let output = try problem.model(batch.input)
                let terms = termIndices(outputShape: output.shape, loss: problem.loss)
                let classes = terms[0].count
                let scale = lossScale(problem.loss, numData: numData, termsPerExample: terms.count / batch.size, classes: classes)
                for (termIndex, indices) in terms.enumerated() {
                    let logits = indices.map { output.elements[$0] }
                    let termJacobian = jacobian.rows(indices)
                    let hessian = termHessian(problem.loss, logits: logits)
                    let gradient = termGradient(problem.loss, logits: logits, target: batch.target, term: termIndex, indices: indices)
                    expectedGGN.add(try termJacobian.transposed * (try hessian * termJacobian), scaledBy: scale)
                    let gradientColumn = try Matrix(rows: classes, columns: 1, columnMajor: gradient)
                    let parameterGradient = try termJacobian.transposed * gradientColumn
                    expectedFisher.add(try parameterGradient * parameterGradient.transposed, scaledBy: scale)
                }
            }

            let ggn = try GGNLinearOperator(model: problem.model, loss: problem.loss, parameters: names, data: problem.data)
            let fisher = try EFLinearOperator(model: problem.model, loss: problem.loss, parameters: names, data: problem.data)
            assertClose(try ggn.dense().elements, expectedGGN.elements, rtol: 1e-12, "\(problem.name): GGN")
            assertClose(try fisher.dense().elements, expectedFisher.elements, rtol: 1e-12, "\(problem.name): EF")
        }
    }

    /// A network whose output is linear in the selected parameters has
    /// Hessian = GGN, because the network's own second derivative vanishes.
    func testGGNEqualsHessianWhenOutputIsLinearInParameters() throws {
        var generator = SeededGenerator(seed: 21)
        let losses: [any Loss] = [MSELoss(reduction: .mean), MSELoss(reduction: .sum),
                                  CrossEntropyLoss(), BCEWithLogitsLoss(reduction: .sum)]
        for loss in losses {
            let single = try NetworkTestProblems.problem(
                "single_linear", [try Linear(inFeatures: 4, outFeatures: 3)],
                loss: loss, inputShapes: [[3, 4], [2, 4]], using: &generator)
            try assertGGNEqualsHessian(single, parameters: single.model.parameterNames, "\(loss) single Linear")

            let deep = try NetworkTestProblems.problem(
                "deep_linear",
                [try Conv2d(inChannels: 1, outChannels: 2, kernelSize: 2), try Flatten(),
                 try Linear(inFeatures: 8, outFeatures: 3), try Linear(inFeatures: 3, outFeatures: 3)],
                loss: loss, inputShapes: [[3, 1, 3, 3], [2, 1, 3, 3]], using: &generator)
            for layer in ["0", "2", "3"] {
                try assertGGNEqualsHessian(deep, parameters: ["\(layer).weight", "\(layer).bias"], "\(loss) layer \(layer)")
            }

            // Across two layers the output is bilinear, so the matrices differ:
            // the identity above is not satisfied trivially.
            let all = deep.model.parameterNames
            let hessian = try HessianLinearOperator(model: deep.model, loss: loss, parameters: all, data: deep.data).dense()
            let ggn = try GGNLinearOperator(model: deep.model, loss: loss, parameters: all, data: deep.data).dense()
            XCTAssertGreaterThan((try hessian - ggn).maxAbsoluteValue, 1e-3 * ggn.maxAbsoluteValue, "\(loss): all layers")
        }
    }

    /// The Monte-Carlo Fisher is an unbiased estimate of the GGN whose error
    /// falls as 1/√M. With 100 times more samples its error must shrink to
    /// below 0.3 of the error with fewer samples (the expected factor is 0.1;
    /// 0.3 allows for the spread of one draw), and to below 3 % of ‖GGN·V‖.
    /// A biased estimate (a wrong sampling distribution) stalls at its bias
    /// and fails the first condition.
    func testMonteCarloFisherApproachesGGN() throws {
        var generator = SeededGenerator(seed: 22)
        let losses: [any Loss] = [CrossEntropyLoss(reduction: .mean), MSELoss(reduction: .mean), BCEWithLogitsLoss(reduction: .sum)]
        for loss in losses {
            let problem = try NetworkTestProblems.problem(
                "mlp", [try Linear(inFeatures: 3, outFeatures: 4), Tanh(), try Linear(inFeatures: 4, outFeatures: 3)],
                loss: loss, inputShapes: [[3, 3], [2, 3]], using: &generator)
            let names = problem.model.parameterNames
            let vectors = randomMatrix(try problem.flatParameters(names).count, 3, using: &generator)
            let exact = try GGNLinearOperator(model: problem.model, loss: loss, parameters: names, data: problem.data)
                .apply(vectors)

            var errors: [Double] = []
            for samples in [300, 30_000] {
                let estimate = try FisherMCLinearOperator(
                    model: problem.model, loss: loss, parameters: names, data: problem.data, samples: samples, seed: 5)
                    .apply(vectors)
                errors.append((try estimate - exact).frobeniusNorm / exact.frobeniusNorm)
            }
            XCTAssertLessThan(errors[1], 0.3 * errors[0], "\(loss): errors \(errors) do not fall with the sample count")
            XCTAssertLessThan(errors[1], 0.03, "\(loss): relative error \(errors[1]) with 30000 samples")
        }
    }

    func testMonteCarloFisherIsFixedBySeed() throws {
        let problem = try NetworkTestProblems.all()[0]
        let names = problem.model.parameterNames
        let first = try FisherMCLinearOperator(model: problem.model, loss: problem.loss, parameters: names,
                                               data: problem.data, samples: 2, seed: 3)
        let again = try FisherMCLinearOperator(model: problem.model, loss: problem.loss, parameters: names,
                                               data: problem.data, samples: 2, seed: 3)
        let other = try FisherMCLinearOperator(model: problem.model, loss: problem.loss, parameters: names,
                                               data: problem.data, samples: 2, seed: 4)
        let dense = try first.dense()
        XCTAssertEqual(dense, try first.dense(), "two applies of one operator differ")
        XCTAssertEqual(dense, try again.dense(), "two operators with the same seed differ")
        XCTAssertNotEqual(dense, try other.dense(), "operators with different seeds agree")
    }

    func testOperatorsAreSymmetric() throws {
        for problem in try NetworkTestProblems.all() {
            for (name, matrix) in try denseOperators(problem, parameters: problem.model.parameterNames) {
                assertClose(matrix.elements, matrix.transposed.elements, rtol: 1e-12, "\(problem.name): \(name) symmetric")
            }
        }
    }

    /// Selecting parameters in another order, or only some, gives the
    /// matching rows and columns of the matrix on all parameters.
    func testParameterSubsetInAnyOrderIsSubmatrix() throws {
        for problem in try NetworkTestProblems.all() {
            let all = problem.model.parameterNames
            let subset = [all[all.count - 1], all[0]]
            let offsets = try all.reduce(into: [String: Range<Int>]()) { ranges, name in
                let start = ranges.values.map(\.upperBound).max() ?? 0
                ranges[name] = start..<(start + (try problem.model.parameter(named: name).count))
            }
            let indices = subset.flatMap { Array(offsets[$0]!) }

            let full = try denseOperators(problem, parameters: all)
            let partial = try denseOperators(problem, parameters: subset)
            for ((name, fullMatrix), (_, partialMatrix)) in zip(full, partial) {
                let expected = fullMatrix.rows(indices).columns(indices)
                assertClose(partialMatrix.elements, expected.elements, rtol: 1e-12, "\(problem.name): \(name) on \(subset)")
            }
        }
    }

    /// Applying in blocks of one column gives what one block of all columns gives.
    func testColumnBlocksGiveSameProductAsOneBlock() throws {
        for problem in try NetworkTestProblems.all() where problem.name.hasPrefix("conv") || problem.name.hasPrefix("sequence") {
            let names = problem.model.parameterNames
            var ggn = try GGNLinearOperator(model: problem.model, loss: problem.loss, parameters: names, data: problem.data)
            var hessian = try HessianLinearOperator(model: problem.model, loss: problem.loss, parameters: names, data: problem.data)
            var fisher = try EFLinearOperator(model: problem.model, loss: problem.loss, parameters: names, data: problem.data)
            var monteCarlo = try FisherMCLinearOperator(model: problem.model, loss: problem.loss, parameters: names, data: problem.data)
            let oneBlock = [try ggn.dense(), try hessian.dense(), try fisher.dense(), try monteCarlo.dense()]
            ggn.problem.maxStackedEntries = 1
            hessian.problem.maxStackedEntries = 1
            fisher.problem.maxStackedEntries = 1
            monteCarlo.problem.maxStackedEntries = 1
            let columnByColumn = [try ggn.dense(), try hessian.dense(), try fisher.dense(), try monteCarlo.dense()]
            for (index, (blocked, whole)) in zip(columnByColumn, oneBlock).enumerated() {
                assertClose(blocked.elements, whole.elements, rtol: 1e-13, "\(problem.name): operator \(index)")
            }
        }
    }

    /// The data-set loss with `.mean` weights batch b by B_b / N: it equals the
    /// size-weighted average of the per-batch losses PyTorch's module returns.
    func testDataSetLossWeightsBatchesBySize() throws {
        for problem in try NetworkTestProblems.all() {
            let numData = Double(problem.data.reduce(0) { $0 + $1.size })
            var expected = 0.0
            for batch in problem.data {
                let batchLoss = try problem.loss(try problem.model(batch.input), batch.target)
                expected += problem.loss.reduction == .mean ? Double(batch.size) / numData * batchLoss : batchLoss
            }
            let (loss, _) = try problem.lossAndGradient(problem.model.parameterNames)
            XCTAssertEqual(loss, expected, accuracy: 1e-13 * abs(expected), problem.name)
        }
    }

    func testApplyOnNoColumnsReturnsEmptyMatrix() throws {
        let problem = try NetworkTestProblems.all()[0]
        let ggn = try GGNLinearOperator(model: problem.model, loss: problem.loss,
                                        parameters: problem.model.parameterNames, data: problem.data)
        let result = try ggn.apply(Matrix<Double>(zeros: ggn.inputSize, 0))
        XCTAssertEqual(result.rows, ggn.inputSize)
        XCTAssertEqual(result.columns, 0)
    }

    func testOperatorShapesFollowParameterOrder() throws {
        let problem = try NetworkTestProblems.all()[0]
        let ggn = try GGNLinearOperator(model: problem.model, loss: problem.loss,
                                        parameters: ["2.bias", "0.weight"], data: problem.data)
        XCTAssertEqual(ggn.inputShapes, [[3], [5, 4]])
        XCTAssertEqual(ggn.outputShapes, [[3], [5, 4]])
        XCTAssertEqual(ggn.parameterNames, ["2.bias", "0.weight"])
        XCTAssertEqual(ggn.numData, 5)
        XCTAssertEqual(ggn.inputSize, 23)
    }

    // MARK: - Helpers written independently of the library's loss code

    private func denseOperators(
        _ problem: NetworkProblem<Double>, parameters: [String]
    ) throws -> [(String, Matrix<Double>)] {
        let (model, loss, data) = (problem.model, problem.loss, problem.data)
        return [
            ("GGN", try GGNLinearOperator(model: model, loss: loss, parameters: parameters, data: data).dense()),
            ("Hessian", try HessianLinearOperator(model: model, loss: loss, parameters: parameters, data: data).dense()),
            ("EF", try EFLinearOperator(model: model, loss: loss, parameters: parameters, data: data).dense()),
            ("MC Fisher", try FisherMCLinearOperator(model: model, loss: loss, parameters: parameters, data: data,
                                                     samples: 3).dense()),
        ]
    }

    private func assertGGNEqualsHessian(_ problem: NetworkProblem<Double>, parameters: [String], _ label: String) throws {
        let hessian = try HessianLinearOperator(model: problem.model, loss: problem.loss, parameters: parameters,
                                                data: problem.data).dense()
        let ggn = try GGNLinearOperator(model: problem.model, loss: problem.loss, parameters: parameters,
                                        data: problem.data).dense()
        assertClose(hessian.elements, ggn.elements, rtol: 1e-12, label)
    }

    /// Builds the Jacobian of a batch's outputs (row-major flat index) with respect
    /// to the named parameters, from the library's forward-mode products on
    /// the identity, checked against central differences.
    private func denseJacobian(_ problem: NetworkProblem<Double>, input: Tensor<Double>, names: [String]) throws -> Matrix<Double> {
        let theta = try problem.flatParameters(names)
        let parameterCount = theta.count
        var tangents: [Int: Tensor<Double>] = [:]
        var offset = 0
        for (position, name) in names.enumerated() {
            let shape = try problem.model.parameter(named: name).shape
            let size = shape.reduce(1, *)
            var values = [Double](repeating: 0, count: parameterCount * size)
            for i in 0..<size { values[(offset + i) * size + i] = 1 }
            tangents[position] = try Tensor(shape: [parameterCount] + shape, elements: values)
            offset += size
        }
        let pass = try problem.model.forwardPass(input)
        let outputTangents = try problem.model.outputTangents(pass, parameterTangents: tangents, count: parameterCount)
        let jacobian = try Matrix(rows: pass.output.count, columns: parameterCount, columnMajor: outputTangents.elements)

        let step = 1e-6
        var differences = Matrix<Double>(zeros: pass.output.count, parameterCount)
        for j in 0..<parameterCount {
            var plus = theta
            var minus = theta
            plus[j] += step
            minus[j] -= step
            let outputPlus = try problem.withFlatParameters(names, plus).model(input).elements
            let outputMinus = try problem.withFlatParameters(names, minus).model(input).elements
            differences.setColumn(j, to: zip(outputPlus, outputMinus).map { ($0 - $1) / (2 * step) })
        }
        assertClose(jacobian.elements, differences.elements, rtol: 1e-7, atol: 1e-9, "\(problem.name): Jacobian")
        return jacobian
    }

    /// Returns the flat output indices of each loss term, in term order (n, t).
    private func termIndices(outputShape: [Int], loss: any Loss) -> [[Int]] {
        let batch = outputShape[0]
        if loss is CrossEntropyLoss {
            let classes = outputShape[1]
            let positions = outputShape.dropFirst(2).reduce(1, *)
            return (0..<batch).flatMap { n in
                (0..<positions).map { t in (0..<classes).map { c in (n * classes + c) * positions + t } }
            }
        }
        let classes = outputShape[outputShape.count - 1]
        let terms = outputShape.reduce(1, *) / classes
        return (0..<terms).map { term in (0..<classes).map { term * classes + $0 } }
    }

    private func lossScale(_ loss: any Loss, numData: Int, termsPerExample: Int, classes: Int) -> Double {
        guard loss.reduction == .mean else { return 1 }
        let kappa = 1 / Double(numData * termsPerExample)
        return loss is CrossEntropyLoss ? kappa : kappa / Double(classes)
    }

    private func softmax(_ logits: [Double]) -> [Double] {
        let maximum = logits.max()!
        let exponentials = logits.map { exp($0 - maximum) }
        let sum = exponentials.reduce(0, +)
        return exponentials.map { $0 / sum }
    }

    private func termHessian(_ loss: any Loss, logits: [Double]) -> Matrix<Double> {
        let c = logits.count
        var hessian = Matrix<Double>(zeros: c, c)
        switch loss {
        case is CrossEntropyLoss:
            let p = softmax(logits)
            for i in 0..<c {
                for j in 0..<c { hessian[i, j] = (i == j ? p[i] : 0) - p[i] * p[j] }
            }
        case is BCEWithLogitsLoss:
            for i in 0..<c {
                let s = 1 / (1 + exp(-logits[i]))
                hessian[i, i] = s * (1 - s)
            }
        default:
            for i in 0..<c { hessian[i, i] = 2 }
        }
        return hessian
    }

    private func termGradient(_ loss: any Loss, logits: [Double], target: Tensor<Double>, term: Int, indices: [Int]) -> [Double] {
        switch loss {
        case is CrossEntropyLoss:
            var gradient = softmax(logits)
            gradient[Int(target.elements[term])] -= 1
            return gradient
        case is BCEWithLogitsLoss:
            return zip(logits, indices).map { 1 / (1 + exp(-$0)) - target.elements[$1] }
        default:
            return zip(logits, indices).map { 2 * ($0 - target.elements[$1]) }
        }
    }
}

extension Matrix {
    /// Returns the matrix made of the listed rows, in the order listed.
    func rows(_ indices: [Int]) -> Matrix {
        transposed.columns(indices).transposed
    }
}
