import Foundation
import XCTest
@testable import Curvlinops
@testable import CurvlinopsBenchCore

/// The main job on a tiny configuration, checked against an independent
/// recomputation: the same training, the dense GGN, an LU solve (`gesv`)
/// instead of Cholesky, and the bounds each solver's mathematics gives.
final class MainJobTests: XCTestCase {
    /// 200 images, 8 hidden units (P = 610), 30 steps: a few seconds in a debug build.
    static let configuration = MainJobConfiguration(
        sampleCount: 200, hiddenUnits: 8, seed: 3, trainingSteps: 30, learningRate: 0.5, batchSize: 64,
        damping: 1e-2, cgTolerance: 1e-10, cgMaxIterations: 1000, lsmrTolerance: 1e-10, lsmrMaxIterations: 1000,
        neumannTerms: 100, recordsConvergence: true)

    /// The main job's result and an independent recomputation, shared by the tests.
    struct Run {
        let result: MainJobResult
        let model: Sequential<Double>
        let data: [Batch<Double>]
        let damped: Matrix<Double>
        let gradient: Matrix<Double>
        let solution: Matrix<Double>
        let eigenvalues: [Double]

        var conditionNumber: Double { eigenvalues.last! / eigenvalues.first! }
    }

    nonisolated(unsafe) static var cachedRun: Run?

    func sharedRun() throws -> Run {
        if let cached = Self.cachedRun {
            return cached
        }
        let digits = try loadFixtureDigits()
        let result = try MainJob.run(digits: digits, configuration: Self.configuration, log: .silent)

        let configuration = Self.configuration
        let data: [Batch<Double>] = digits.prefix(configuration.sampleCount).batches(of: configuration.batchSize)
        let initial = try DigitsTraining.makeModel(hiddenUnits: configuration.hiddenUnits, seed: configuration.seed)
        let model = try DigitsTraining.train(
            initial, on: data, steps: configuration.trainingSteps, learningRate: configuration.learningRate).model
        let ggn = try GGNLinearOperator(model: model, loss: CrossEntropyLoss(), parameters: model.parameterNames, data: data)
        var damped = try ggn.dense()
        for i in 0..<damped.rows {
            damped[i, i] += configuration.damping
        }
        let gradient = try Matrix(rows: damped.rows, columns: 1, columnMajor: try ggn.gradientAndLoss().gradient)
        let computed = Run(
            result: result, model: model, data: data, damped: damped, gradient: gradient,
            solution: try LAPACK.gesv(damped, gradient), eigenvalues: try LAPACK.syevd(damped).eigenvalues)
        Self.cachedRun = computed
        return computed
    }

    func testTrainingReducesLossAndBeatsChance() throws {
        let result = try sharedRun().result
        XCTAssertEqual(result.sampleCount, 200)
        XCTAssertEqual(result.parameterCount, 64 * 8 + 8 + 8 * 10 + 10)
        XCTAssertLessThan(result.finalLoss, result.initialLoss)
        // Chance is 10 %; 30 steps on 200 images reach far more.
        XCTAssertGreaterThan(result.accuracy, 0.5)
    }

    func testTableHasEveryMethodOnce() throws {
        let methods = try sharedRun().result.rows.map(\.method)
        XCTAssertEqual(methods, ["dense Cholesky (reference)", "CG", "LSMR", "Neumann",
                                 "KFAC inverse, exact damping", "EKFAC inverse, exact damping"])
        let table = try sharedRun().result.table
        for method in methods {
            XCTAssertTrue(table.contains(method), "table lacks \(method)")
        }
    }

    func testDenseReferenceMatchesLUSolve() throws {
        let job = try sharedRun()
        let row = try XCTUnwrap(job.result.row("dense Cholesky (reference)"))
        XCTAssertEqual(row.relativeError, 0)
        XCTAssertEqual(row.cosineSimilarity, 1, accuracy: 1e-15)
        XCTAssertNil(row.iterations)
        // Cholesky and LU agree to about κ·ε.
        let error = relativeError(row.solution, job.solution.elements)
        XCTAssertLessThan(error, 1e-13 * job.conditionNumber)
    }

    func testErrorAndCosineColumnsMatchRecomputation() throws {
        let job = try sharedRun()
        for row in job.result.rows {
            let reference = try XCTUnwrap(job.result.row("dense Cholesky (reference)")).solution
            XCTAssertEqual(row.relativeError, relativeError(row.solution, reference),
                           accuracy: 1e-12, "\(row.method): relative error")
            let dot = zip(row.solution, reference).reduce(0) { $0 + $1.0 * $1.1 }
            XCTAssertEqual(row.cosineSimilarity, dot / (euclideanNorm(row.solution) * euclideanNorm(reference)),
                           accuracy: 1e-12, "\(row.method): cosine")
            let residual = relativeResiduals(job.damped, try column(row.solution), job.gradient)[0]
            XCTAssertEqual(row.relativeResidual, residual, accuracy: 1e-12 + 1e-6 * residual, "\(row.method): residual")
        }
    }

    /// For every x, ‖x − x*‖ / ‖x*‖ ≤ κ · ‖g − A·x‖ / ‖g‖.
    func testEveryErrorIsBoundedByConditionTimesResidual() throws {
        let job = try sharedRun()
        for row in job.result.rows {
            let residual = relativeResiduals(job.damped, try column(row.solution), job.gradient)[0]
            let error = relativeError(row.solution, job.solution.elements)
            XCTAssertLessThanOrEqual(error, job.conditionNumber * residual * 1.01 + 1e-12, row.method)
        }
    }

    func testCGConvergesToItsTolerance() throws {
        let job = try sharedRun()
        let row = try XCTUnwrap(job.result.row("CG"))
        let iterations = try XCTUnwrap(row.iterations)
        XCTAssertGreaterThan(iterations, 0)
        XCTAssertLessThan(iterations, Self.configuration.cgMaxIterations)
        XCTAssertLessThanOrEqual(row.relativeResidual, Self.configuration.cgTolerance)
        XCTAssertLessThanOrEqual(relativeError(row.solution, job.solution.elements),
                                 job.conditionNumber * Self.configuration.cgTolerance * 1.01 + 1e-12)
    }

    /// LSMR stops when ‖r‖ ≤ btol·‖g‖ + atol·‖A‖·‖x‖ with atol = btol = 1e-10.
    /// The second term, with LSMR's running estimate of ‖A‖_F (11.7 here,
    /// above the true 3.1), lets it stop at a relative residual of about
    /// 2e-8, so the error bound is stated at 1e-6.
    func testLSMRStopsBeforeIterationLimit() throws {
        let job = try sharedRun()
        let row = try XCTUnwrap(job.result.row("LSMR"))
        XCTAssertGreaterThan(try XCTUnwrap(row.iterations), 0)
        XCTAssertLessThan(try XCTUnwrap(row.iterations), Self.configuration.lsmrMaxIterations)
        XCTAssertLessThan(row.relativeResidual, 1e-6)
        XCTAssertLessThan(row.relativeError, 1e-6)
    }

    /// After K terms from x = α·g, x_K − x* = −(I − αA)^(K+1)·x*, so the
    /// relative error is at most ρ^(K+1) with ρ = maxᵢ |1 − α·λᵢ|.
    func testNeumannErrorIsWithinSeriesBound() throws {
        let job = try sharedRun()
        let row = try XCTUnwrap(job.result.row("Neumann"))
        let terms = Self.configuration.neumannTerms
        XCTAssertEqual(row.iterations, terms)
        let alpha = job.result.neumannScale
        let rho = job.eigenvalues.map { abs(1 - alpha * $0) }.max()!
        XCTAssertLessThan(rho, 1, "the chosen scale must make the series converge")
        let bound = pow(rho, Double(terms + 1))
        XCTAssertLessThanOrEqual(row.relativeError, bound * 1.01 + 1e-12)
        // The bound is not vacuous: the series has visibly converged.
        XCTAssertLessThan(row.relativeError, 0.5)
    }

    func testKFACRowsEqualDenseInversesOfKFAC() throws {
        let job = try sharedRun()
        let damping = Self.configuration.damping
        let kfac = try KFACLinearOperator(model: job.model, loss: CrossEntropyLoss(), parameters: job.model.parameterNames,
                                          data: job.data, fisherType: .type2)
        let ekfac = try EKFACLinearOperator(model: job.model, loss: CrossEntropyLoss(), parameters: job.model.parameterNames,
                                            data: job.data, fisherType: .type2)
        let cases: [(String, any LinearOperator<Double>)] = [
            ("KFAC inverse, exact damping", kfac), ("EKFAC inverse, exact damping", ekfac),
        ]
        for (method, approximation) in cases {
            var matrix = try approximation.dense()
            for i in 0..<matrix.rows {
                matrix[i, i] += damping
            }
            let expected = try LAPACK.gesv(matrix, job.gradient).elements
            let row = try XCTUnwrap(job.result.row(method))
            XCTAssertLessThan(relativeError(row.solution, expected), 1e-9, method)
            XCTAssertNil(row.iterations)
            // An approximation of the GGN, not the GGN: the step still points the same way.
            XCTAssertGreaterThan(row.cosineSimilarity, 0.5, method)
            XCTAssertGreaterThan(row.relativeError, 1e-6, "\(method) is an approximation and cannot be exact here")
        }
    }

    func testHistoriesEndAtTheTableRuns() throws {
        let result = try sharedRun().result
        XCTAssertEqual(result.histories.map(\.method), ["CG", "LSMR", "Neumann"])
        for history in result.histories {
            let row = try XCTUnwrap(result.row(history.method))
            XCTAssertEqual(history.points.first?.iteration, 0)
            XCTAssertEqual(history.points.first?.relativeResidual, 1)
            XCTAssertEqual(history.points.last?.iteration, row.iterations, history.method)
            XCTAssertEqual(try XCTUnwrap(history.points.last).relativeResidual, row.relativeResidual,
                           accuracy: 1e-12 + 1e-6 * row.relativeResidual, history.method)
            let iterations = history.points.map(\.iteration)
            XCTAssertEqual(iterations, iterations.sorted(), history.method)
            XCTAssertEqual(Set(iterations).count, iterations.count, history.method)
        }
    }

    func testSummaryStatesAccuracyAndSize() throws {
        let result = try sharedRun().result
        XCTAssertTrue(result.summary.contains("200 images"), result.summary)
        XCTAssertTrue(result.summary.contains("P = 610"), result.summary)
        XCTAssertTrue(result.summary.contains(String(format: "accuracy %.1f %%", 100 * result.accuracy)), result.summary)
    }

    private func column(_ values: [Double]) throws -> Matrix<Double> {
        try Matrix(rows: values.count, columns: 1, columnMajor: values)
    }

    private func relativeError(_ x: [Double], _ reference: [Double]) -> Double {
        euclideanNorm(zip(x, reference).map { $0 - $1 }) / euclideanNorm(reference)
    }
}

/// Reads the digits data from the test bundle's `Fixtures/digits.csv`.
func loadFixtureDigits() throws -> DigitsDataSet {
    guard let url = Bundle.module.url(forResource: "digits", withExtension: "csv", subdirectory: "Fixtures") else {
        throw FixtureError("Fixtures/digits.csv was not found in the test bundle")
    }
    return try DigitsDataSet(csv: String(contentsOf: url, encoding: .utf8))
}
