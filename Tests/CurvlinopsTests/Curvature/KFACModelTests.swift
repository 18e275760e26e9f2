import Foundation
import XCTest
@testable import Curvlinops

/// Properties of KFAC and EKFAC computed from a network: agreement with the
/// GGN where KFAC is exact, Monte-Carlo convergence, identities of the
/// forward-only type, and the lazy, once-only computation.
final class KFACModelTests: XCTestCase {
    /// With one datum and one Linear layer, the GGN is H ⊗ x·xᵀ (H the loss
    /// Hessian with κρ²), which is exactly KFAC's kron(G, A). A bias adds the
    /// constant input 1, which the joint layer's input factor carries.
    func testTypeTwoEqualsGGNWhereExact() throws {
        var generator = SeededGenerator(seed: 61)
        let losses: [any Loss] = [
            CrossEntropyLoss(reduction: .mean), CrossEntropyLoss(reduction: .sum), MSELoss(reduction: .mean),
            MSELoss(reduction: .sum), BCEWithLogitsLoss(reduction: .mean), BCEWithLogitsLoss(reduction: .sum),
        ]
        for loss in losses {
            for bias in [false, true] {
                let problem = try NetworkTestProblems.problem(
                    "linear", [try Linear(inFeatures: 4, outFeatures: 3, bias: bias)],
                    loss: loss, inputShapes: [[1, 4]], using: &generator)
                let names = problem.model.parameterNames
                let ggn = try GGNLinearOperator(model: problem.model, loss: loss, parameters: names, data: problem.data)
                let kfac = try KFACLinearOperator(
                    model: problem.model, loss: loss, parameters: names, data: problem.data,
                    fisherType: .type2, separateWeightAndBias: false)
                assertClose(try kfac.dense().elements, try ggn.dense().elements, rtol: 1e-13,
                            "\(loss), bias \(bias)")
            }
        }
    }

    /// Where KFAC is exact (one datum, one Linear layer), the Monte-Carlo type
    /// draws the same targets as ``FisherMCLinearOperator`` with the same seed
    /// and samples, so both are the same matrix. This pins the 1/M and κρ² scaling.
    func testMonteCarloEqualsFisherMCWhereExact() throws {
        var generator = SeededGenerator(seed: 62)
        let losses: [any Loss] = [CrossEntropyLoss(reduction: .mean), MSELoss(reduction: .mean), BCEWithLogitsLoss(reduction: .sum)]
        for loss in losses {
            let problem = try NetworkTestProblems.problem(
                "linear", [try Linear(inFeatures: 3, outFeatures: 4, bias: false)],
                loss: loss, inputShapes: [[1, 3]], using: &generator)
            let names = problem.model.parameterNames
            let fisher = try FisherMCLinearOperator(
                model: problem.model, loss: loss, parameters: names, data: problem.data, samples: 7, seed: 5)
            let kfac = try KFACLinearOperator(
                model: problem.model, loss: loss, parameters: names, data: problem.data,
                fisherType: .monteCarlo(samples: 7, seed: 5))
            assertClose(try kfac.dense().elements, try fisher.dense().elements, rtol: 1e-13, "\(loss)")
        }
    }

    /// Each gradient factor is an average over M·N·T sampled outer products
    /// whose expectation is the type-2 factor, so its relative error falls
    /// like 1/√M: by a factor of about 10 from M = 100 to M = 10 000. The
    /// test requires a factor of at least 3 (room for the spread of a single
    /// draw) and an error below 3 % at M = 10 000 (about five times the error
    /// observed for these problems and this seed). A wrong sampling distribution or
    /// scale would stall at its bias and fail.
    func testMonteCarloApproachesTypeTwoAsSamplesGrow() throws {
        var generator = SeededGenerator(seed: 63)
        let losses: [any Loss] = [CrossEntropyLoss(reduction: .mean), MSELoss(reduction: .mean), BCEWithLogitsLoss(reduction: .sum)]
        for loss in losses {
            let problem = try NetworkTestProblems.problem(
                "mlp", [try Linear(inFeatures: 3, outFeatures: 4), Tanh(), try Linear(inFeatures: 4, outFeatures: 3)],
                loss: loss, inputShapes: [[3, 3], [2, 3]], using: &generator)
            let names = problem.model.parameterNames
            let exact = try KFACLinearOperator(
                model: problem.model, loss: loss, parameters: names, data: problem.data, fisherType: .type2)
            let exactFactors = try exact.gradientCovariances

            var errors: [Double] = []
            for samples in [100, 10_000] {
                let estimate = try KFACLinearOperator(
                    model: problem.model, loss: loss, parameters: names, data: problem.data,
                    fisherType: .monteCarlo(samples: samples, seed: 9))
                XCTAssertEqual(try estimate.inputCovariances, try exact.inputCovariances, "\(loss): input factors")
                let factors = try estimate.gradientCovariances
                let error = try exactFactors.keys.map { name in
                    try KFACModelTestSupport.relativeDistance(factors[name]!, exactFactors[name]!)
                }.max()!
                errors.append(error)
            }
            XCTAssertLessThan(errors[1], errors[0] / 3, "\(loss): errors \(errors) do not fall with the sample count")
            XCTAssertLessThan(errors[1], 0.03, "\(loss): relative error \(errors[1]) with 10 000 samples")
        }
    }

    func testMonteCarloIsFixedBySeed() throws {
        let problem = try NetworkTestProblems.all()[0]
        let names = problem.model.parameterNames
        func kfac(seed: UInt64) throws -> KFACLinearOperator<Double> {
            try KFACLinearOperator(model: problem.model, loss: problem.loss, parameters: names, data: problem.data,
                                   fisherType: .monteCarlo(samples: 2, seed: seed))
        }
        XCTAssertEqual(try kfac(seed: 3).gradientCovariances, try kfac(seed: 3).gradientCovariances)
        XCTAssertNotEqual(try kfac(seed: 3).gradientCovariances, try kfac(seed: 4).gradientCovariances)
    }

    func testForwardOnlyGradientFactorsAreIdentities() throws {
        for problem in try NetworkTestProblems.all() {
            for approximation in KFACApproximation.allCases {
                let names = problem.model.parameterNames
                let forwardOnly = try KFACLinearOperator(
                    model: problem.model, loss: problem.loss, parameters: names, data: problem.data,
                    fisherType: .forwardOnly, kfacApproximation: approximation)
                let typeTwo = try KFACLinearOperator(
                    model: problem.model, loss: problem.loss, parameters: names, data: problem.data,
                    fisherType: .type2, kfacApproximation: approximation)
                for (name, factor) in try forwardOnly.gradientCovariances {
                    XCTAssertEqual(factor, .identity(factor.rows), "\(problem.name) layer \(name)")
                }
                XCTAssertEqual(try forwardOnly.inputCovariances, try typeTwo.inputCovariances,
                               "\(problem.name): input factors do not depend on the Fisher type")
            }
        }
    }

    /// EKFAC's eigenvalues are the diagonal of each layer's GGN block in
    /// KFAC's eigenbasis, the best diagonal in that basis in Frobenius norm,
    /// while KFAC's eigenvalues λ_G·λ_A are another diagonal in the same basis.
    func testEKFACIsAtLeastAsCloseToGGNAsKFAC() throws {
        for testCase in try KFACModelTestSupport.ekfacFixtureCases() {
            let problem = testCase.problem
            let ggn = try GGNLinearOperator(
                model: problem.model, loss: problem.loss, parameters: testCase.parameters, data: problem.data).dense()
            let kfac = try KFACLinearOperator(
                model: problem.model, loss: problem.loss, parameters: testCase.parameters, data: problem.data,
                fisherType: .type2, kfacApproximation: testCase.approximation, separateWeightAndBias: testCase.separate)
            let ekfac = try EKFACLinearOperator(
                model: problem.model, loss: problem.loss, parameters: testCase.parameters, data: problem.data,
                fisherType: .type2, kfacApproximation: testCase.approximation, separateWeightAndBias: testCase.separate)
            let kfacDistance = (try kfac.dense() - ggn).frobeniusNorm
            let ekfacDistance = (try ekfac.dense() - ggn).frobeniusNorm
            XCTAssertLessThanOrEqual(ekfacDistance, kfacDistance * (1 + 1e-10),
                                     "\(testCase.id): ‖EKFAC − GGN‖ = \(ekfacDistance), ‖KFAC − GGN‖ = \(kfacDistance)")
        }
    }

    /// Without weight sharing the mean and the sum over one position are the
    /// position itself, so KFAC-reduce is KFAC-expand.
    func testReduceEqualsExpandWithoutWeightSharing() throws {
        let problem = try NetworkTestProblems.all()[0]
        let names = problem.model.parameterNames
        let operators = try KFACApproximation.allCases.map { approximation in
            try KFACLinearOperator(model: problem.model, loss: problem.loss, parameters: names, data: problem.data,
                                   fisherType: .type2, kfacApproximation: approximation)
        }
        XCTAssertEqual(try operators[0].dense(), try operators[1].dense())
    }

    /// A parameter list in another order gives the same matrix with rows and
    /// columns permuted like the blocks.
    func testParameterOrderPermutesDenseMatrix() throws {
        for problem in try NetworkTestProblems.all() {
            let names = problem.model.parameterNames
            let reversed = Array(names.reversed())
            let forward = try KFACLinearOperator(model: problem.model, loss: problem.loss, parameters: names,
                                                 data: problem.data, fisherType: .type2).dense()
            let backward = try KFACLinearOperator(model: problem.model, loss: problem.loss, parameters: reversed,
                                                  data: problem.data, fisherType: .type2).dense()
            let sizes = try names.map { try problem.model.parameter(named: $0).count }
            var offsets: [String: Int] = [:]
            var offset = 0
            for (name, size) in zip(names, sizes) {
                offsets[name] = offset
                offset += size
            }
            let permutation = reversed.flatMap { name in
                (0..<(try! problem.model.parameter(named: name).count)).map { offsets[name]! + $0 }
            }
            for column in 0..<offset {
                for row in 0..<offset {
                    XCTAssertEqual(backward[row, column], forward[permutation[row], permutation[column]], accuracy: 1e-14,
                                   "\(problem.name) entry (\(row), \(column))")
                }
            }
        }
    }

    /// Probes back-propagated one at a time give the factors and corrected
    /// eigenvalues of all probes at once.
    func testProbeBlocksGiveSameFactorsAsOneBlock() throws {
        for problem in try NetworkTestProblems.all() where problem.name.hasPrefix("conv") || problem.name.hasPrefix("mlp") {
            let settings: [(FisherType, KFACApproximation)] = [(.type2, .expand), (.monteCarlo(samples: 3, seed: 1), .reduce)]
            for (fisherType, approximation) in settings {
                var blocked = try KFACModelProblem(
                    owner: "test", model: problem.model, loss: problem.loss, parameters: problem.model.parameterNames,
                    data: problem.data, fisherType: fisherType, kfacApproximation: approximation,
                    separateWeightAndBias: false, numPerExampleLossTerms: nil)
                let whole = blocked
                blocked.problem.maxStackedEntries = 1

                let factors = try whole.kroneckerFactors(progress: nil, completedBatches: 0, totalBatches: 0)
                let blockedFactors = try blocked.kroneckerFactors(progress: nil, completedBatches: 0, totalBatches: 0)
                for (name, factor) in factors.gradientCovariances {
                    assertClose(blockedFactors.gradientCovariances[name]!.elements, factor.elements, rtol: 1e-13,
                                "\(problem.name) \(fisherType) gradient factor \(name)")
                }

                let layout = try KroneckerLayout(parameterShapes: whole.problem.parameterShapes, layers: whole.kfacLayers,
                                                 separateWeightAndBias: false, owner: "test")
                let eigendecompositions = try factors.eigendecompositions(layout: layout)
                let corrected = try whole.correctedEigenvalues(
                    in: eigendecompositions, progress: nil, completedBatches: 0, totalBatches: 0)
                let blockedCorrected = try blocked.correctedEigenvalues(
                    in: eigendecompositions, progress: nil, completedBatches: 0, totalBatches: 0)
                for (name, values) in corrected {
                    assertClose(KFACModelTestSupport.entries(of: blockedCorrected[name]!), KFACModelTestSupport.entries(of: values),
                                rtol: 1e-13, "\(problem.name) \(fisherType) corrected eigenvalues \(name)")
                }
            }
        }
    }

    func testFactorsAreComputedOnFirstUseOnly() throws {
        let problem = try NetworkTestProblems.all()[0]
        let recorder = ProgressRecorder()
        let kfac = try KFACLinearOperator(
            model: problem.model, loss: problem.loss, parameters: problem.model.parameterNames,
            data: problem.data, fisherType: .type2, progress: recorder.handler)
        XCTAssertFalse(kfac.areKroneckerFactorsComputed)
        XCTAssertTrue(recorder.recorded.isEmpty, "the constructor ran a pass over the data")

        try kfac.computeKroneckerFactors()
        XCTAssertTrue(kfac.areKroneckerFactorsComputed)
        _ = try kfac.trace()
        _ = try kfac.apply([Double](repeating: 1, count: kfac.inputSize))
        XCTAssertEqual(recorder.recorded, [[1, 2], [2, 2]])
    }

    func testEKFACReportsProgressOverBothPasses() throws {
        let problem = try NetworkTestProblems.all()[0]
        let recorder = ProgressRecorder()
        let ekfac = try EKFACLinearOperator(
            model: problem.model, loss: problem.loss, parameters: problem.model.parameterNames,
            data: problem.data, fisherType: .empirical, progress: recorder.handler)
        XCTAssertTrue(recorder.recorded.isEmpty, "the constructor ran a pass over the data")
        try ekfac.computeEigenvalueCorrection()
        _ = try ekfac.dense()
        XCTAssertEqual(recorder.recorded, [[1, 4], [2, 4], [3, 4], [4, 4]])
    }

    func testConcurrentAppliesComputeFactorsOnce() throws {
        let problem = try NetworkTestProblems.all()[6]
        let recorder = ProgressRecorder()
        let kfac = try KFACLinearOperator(
            model: problem.model, loss: problem.loss, parameters: problem.model.parameterNames,
            data: problem.data, fisherType: .type2, progress: recorder.handler)
        var generator = SeededGenerator(seed: 64)
        let x = randomMatrix(kfac.inputSize, 3, using: &generator)
        let results = LockedValue<[Matrix<Double>]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            let product = try? kfac.apply(x)
            results.withLock { $0.append(product ?? Matrix(zeros: 0, 0)) }
        }
        XCTAssertEqual(recorder.recorded.count, problem.data.count, "the pass over the data ran more than once")
        let expected = try kfac.apply(x)
        XCTAssertEqual(results.value.count, 8)
        for product in results.value {
            XCTAssertEqual(product, expected)
        }
    }

    func testSaveLoadGivesIdenticalApply() throws {
        var generator = SeededGenerator(seed: 65)
        for problem in try NetworkTestProblems.all() {
            let names = problem.model.parameterNames
            let kfac = try KFACLinearOperator(
                model: problem.model, loss: problem.loss, parameters: names, data: problem.data,
                fisherType: .type2, kfacApproximation: .reduce, separateWeightAndBias: false)
            let x = randomMatrix(kfac.inputSize, 3, using: &generator)
            let state = try kfac.stateData()

            let loaded = try KFACLinearOperator<Double>(stateData: state)
            XCTAssertEqual(try loaded.apply(x), try kfac.apply(x), "\(problem.name): KFAC(stateData:)")
            XCTAssertEqual(loaded.fisherType, .type2)
            XCTAssertEqual(loaded.kfacApproximation, .reduce)

            let recorder = ProgressRecorder()
            let fresh = try KFACLinearOperator(
                model: problem.model, loss: problem.loss, parameters: names, data: problem.data,
                fisherType: .type2, kfacApproximation: .reduce, separateWeightAndBias: false, progress: recorder.handler)
            XCTAssertEqual(try fresh.loadingState(state).apply(x), try kfac.apply(x), "\(problem.name): loadingState")
            XCTAssertTrue(recorder.recorded.isEmpty, "\(problem.name): loading a state ran a pass over the data")
        }
    }

    func testEKFACSaveLoadGivesIdenticalApply() throws {
        var generator = SeededGenerator(seed: 66)
        for testCase in try KFACModelTestSupport.ekfacFixtureCases() {
            let problem = testCase.problem
            let ekfac = try EKFACLinearOperator(
                model: problem.model, loss: problem.loss, parameters: testCase.parameters, data: problem.data,
                fisherType: .monteCarlo(samples: 2, seed: 8), kfacApproximation: testCase.approximation,
                separateWeightAndBias: testCase.separate)
            let x = randomMatrix(ekfac.inputSize, 2, using: &generator)
            let state = try ekfac.stateData()
            let loaded = try EKFACLinearOperator<Double>(stateData: state)
            XCTAssertEqual(try loaded.apply(x), try ekfac.apply(x), "\(testCase.id): EKFAC(stateData:)")
            XCTAssertEqual(try loaded.correctedEigenvalues, try ekfac.correctedEigenvalues, "\(testCase.id)")
            XCTAssertEqual(try ekfac.loadingState(state).apply(x), try ekfac.apply(x), "\(testCase.id): loadingState")
        }
    }

    func testTruncatedStateThrows() throws {
        let problem = try NetworkTestProblems.all()[0]
        let kfac = try KFACLinearOperator(
            model: problem.model, loss: problem.loss, parameters: problem.model.parameterNames,
            data: problem.data, fisherType: .type2)
        let state = try kfac.stateData()
        for length in [0, 10, state.count / 2, state.count - 1] {
            let truncated = state.prefix(length)
            XCTAssertThrowsError(try KFACLinearOperator<Double>(stateData: truncated), "length \(length)") { error in
                XCTAssertEqual((error as? CurvlinopsError)?.kind, .invalidState, "length \(length): \(error)")
            }
            XCTAssertThrowsError(try kfac.loadingState(truncated), "length \(length)") { error in
                XCTAssertEqual((error as? CurvlinopsError)?.kind, .invalidState, "length \(length): \(error)")
            }
        }
    }

    /// Float factors are sums of at most a few hundred products (observed
    /// relative error about 1e-7 on the fixture networks); EKFAC adds Float
    /// eigenvectors whose error grows like ε/(relative eigengap), with gaps
    /// above 1e-3 here (observed about 1e-6). The tolerances, 1e-5 and 1e-4
    /// relative to the largest entry, leave a factor of 100.
    func testFloatAgreesWithDouble() throws {
        let doubleCases = try KFACModelTestSupport.ekfacFixtureCases(as: Double.self)
        let floatCases = try KFACModelTestSupport.ekfacFixtureCases(as: Float.self)
        for (double, float) in zip(doubleCases, floatCases) {
            let kfac = try KFACLinearOperator(
                model: double.problem.model, loss: double.problem.loss, parameters: double.parameters,
                data: double.problem.data, fisherType: .type2, kfacApproximation: double.approximation,
                separateWeightAndBias: double.separate).dense()
            let kfacFloat = try KFACLinearOperator(
                model: float.problem.model, loss: float.problem.loss, parameters: float.parameters,
                data: float.problem.data, fisherType: .type2, kfacApproximation: float.approximation,
                separateWeightAndBias: float.separate).dense()
            let ekfac = try EKFACLinearOperator(
                model: double.problem.model, loss: double.problem.loss, parameters: double.parameters,
                data: double.problem.data, fisherType: .type2, kfacApproximation: double.approximation,
                separateWeightAndBias: double.separate).dense()
            let ekfacFloat = try EKFACLinearOperator(
                model: float.problem.model, loss: float.problem.loss, parameters: float.parameters,
                data: float.problem.data, fisherType: .type2, kfacApproximation: float.approximation,
                separateWeightAndBias: float.separate).dense()
            assertClose(KFACModelTestSupport.double(kfacFloat).elements, kfac.elements, rtol: 1e-5, "\(double.id): KFAC")
            assertClose(KFACModelTestSupport.double(ekfacFloat).elements, ekfac.elements, rtol: 1e-4, "\(double.id): EKFAC")
        }
    }
}
