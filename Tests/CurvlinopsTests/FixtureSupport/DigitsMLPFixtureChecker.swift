import Foundation
import XCTest
@testable import Curvlinops
@testable import CurvlinopsBenchCore

/// The checker of the `digits_mlp` family: the trained 64-32-10 network on
/// the first digits images (fixtures README §8), with the tolerances of §1.
///
/// - The fixture's batches must equal the rows of the bundled `digits.csv`
///   read by the benchmark's `DigitsDataSet` (features / 16), so the main job
///   and the fixture see the same data.
/// - KFAC (built from the model with the recorded constructor arguments):
///   factors (rtol 1e-9, atol 1e-13), trace and Frobenius norm (rtol 1e-10),
///   log-determinant against `logdet_upper_bound` when `factors_singular`,
///   and KFAC @ V (rtol 1e-10).
/// - KFAC⁻¹ @ V for both recorded inverses (scalar and exact damping), rtol 1e-8.
/// - GGN @ V, rtol 1e-10.
/// - The damped solve (GGN + δI)·x = V[:, 0] by the main job's dense
///   Cholesky solve, rtol 1e-8.
/// - `curvlinops_cg[]`: these record GPyTorch's `linear_cg`. Following the
///   convention of the `dense_cg` checker, an entry whose hyperparameters
///   set eps = 0, stop_updating_after = 0 and tolerance = 0 would be textbook
///   CG and compared iterate for iterate; every other entry (both digits
///   entries) requests GPyTorch behaviour this library does not copy and is
///   mapped as max_iter → maxIterations, tolerance → tolerance, with eps,
///   stop_updating_after and max_tridiag_iter ignored. Each is checked
///   against what our CG promises: a finite result; a relative residual at
///   most max(residual_bound, tolerance); when converged, at most the
///   tolerance, with an error against the dense solve within the κ·residual
///   bound; otherwise exactly maxIterations; and the iteration count of an
///   independent textbook CG on the dense matrix with the same per-column
///   stopping rule, within max(3, 5 %) iterations (the two products differ
///   by rounding, which moves where the non-monotone residual first crosses
///   the tolerance).
enum DigitsMLPFixtureChecker {
    static let factorTolerance = (rtol: 1e-9, atol: 1e-13)
    static let productTolerance = (rtol: 1e-10, atol: 0.0)
    static let inverseTolerance = (rtol: 1e-8, atol: 0.0)

    /// Checks a `digits_mlp` file.
    static func check(_ file: FixtureFile) throws {
        let root = file.root
        let label = file.name
        do {
            let problem = try FixtureProblem<Double>(root["problem"], "problem")
            let parameters = try fixtureArray(root["operator_params"], "operator_params").map { try fixtureString($0, "operator_params[]") }
            let v = try FixtureTensor(root["V"], "V").matrix(Double.self)
            XCTAssertEqual(problem.data.reduce(0) { $0 + $1.size }, problem.numData, "\(label): num_data")

            try checkDataSource(root, problem: problem, label: label)
            let kfac = try checkKFAC(root, label: label, v: v)
            try checkInverses(root, kfac: kfac, v: v, label: label)

            let ggn = try GGNLinearOperator(model: problem.model, loss: problem.loss, parameters: parameters, data: problem.data)
            try KFACFixtureChecker.compare(
                try ggn.apply(v).rowMajorElements, root["ggn_times_V"], "ggn_times_V", productTolerance, label: label)
            try checkDampedSolve(root, ggn: ggn, v: v, label: label)
        } catch {
            XCTFail("\(label): could not be run: \(error)")
        }
    }

    /// Checks that the fixture's batches are rows `data_source.rows` of `digits.csv`, features / 16.
    private static func checkDataSource(_ root: [String: Any], problem: FixtureProblem<Double>, label: String) throws {
        let problemObject = try fixtureObject(root["problem"], "problem")
        let source = try fixtureObject(problemObject["data_source"], "problem.data_source")
        let rows = try fixtureArray(source["rows"], "data_source.rows").map { try fixtureInt($0, "data_source.rows") }
        let batchSize = try fixtureInt(source["batch_size"], "data_source.batch_size")
        let csvName = try fixtureString(source["csv"], "data_source.csv")
        guard rows.count == 2, rows[0] == 0 else {
            throw FixtureError("data_source.rows = \(rows); the checker reads rows from the start of the file, [0, end)")
        }
        let name = (csvName as NSString).deletingPathExtension
        let fileExtension = (csvName as NSString).pathExtension
        guard let url = Bundle.module.url(forResource: name, withExtension: fileExtension, subdirectory: "Fixtures") else {
            throw FixtureError("data_source.csv = \(csvName) was not found in the Fixtures folder")
        }
        let digits = try DigitsDataSet(csv: String(contentsOf: url, encoding: .utf8)).prefix(rows[1])
        let batches: [Batch<Double>] = digits.batches(of: batchSize)
        XCTAssertEqual(batches.count, problem.data.count, "\(label): number of batches")
        for (index, (ours, theirs)) in zip(batches, problem.data).enumerated() {
            XCTAssertEqual(ours.input, theirs.input, "\(label): batch \(index) inputs differ from digits.csv / 16")
            XCTAssertEqual(ours.target, theirs.target, "\(label): batch \(index) labels differ from digits.csv")
        }
    }

    /// Builds KFAC from the model and compares its factors, matrix functions and KFAC @ V.
    private static func checkKFAC(_ root: [String: Any], label: String, v: Matrix<Double>) throws -> KFACLinearOperator<Double> {
        let record = try fixtureObject(root["kfac"], "kfac")
        let settings = try KFACFixtureChecker.settings(root, record: record)
        let problem = settings.problem
        let kfac = try KFACLinearOperator(
            model: problem.model, loss: problem.loss, parameters: settings.parameters, data: problem.data,
            fisherType: settings.fisherType, kfacApproximation: settings.approximation,
            separateWeightAndBias: settings.separateWeightAndBias,
            numPerExampleLossTerms: settings.numPerExampleLossTerms)
        XCTAssertEqual(Set(kfac.layers), Set(settings.layers), "\(label): layers and parameter positions")

        try KFACFixtureChecker.compareFactors(
            input: kfac.inputCovariances, gradient: kfac.gradientCovariances, record: record, label: label)
        try KFACFixtureChecker.compare([try kfac.trace()], record["trace"], "kfac.trace", KFACFixtureChecker.normTolerance, label: label)
        try KFACFixtureChecker.compare(
            [try kfac.frobeniusNorm()], record["frobenius_norm"], "kfac.frobenius_norm", KFACFixtureChecker.normTolerance, label: label)
        let logDeterminant = try kfac.logDeterminant()
        if try fixtureBool(record["factors_singular"], "factors_singular") {
            // Rounding noise: NaN, −∞ or anything up to the upper bound (README §1).
            let bound = try fixtureDouble(record["logdet_upper_bound"], "logdet_upper_bound")
            let slack = KFACFixtureChecker.logDeterminantTolerance.atol + KFACFixtureChecker.logDeterminantTolerance.rtol * abs(bound)
            XCTAssertTrue(logDeterminant.isNaN || logDeterminant == -.infinity || logDeterminant <= bound + slack,
                          "\(label): singular logdet \(logDeterminant) exceeds logdet_upper_bound \(bound)")
        } else {
            try KFACFixtureChecker.compare(
                [logDeterminant], record["logdet"], "kfac.logdet", KFACFixtureChecker.logDeterminantTolerance, label: label)
        }
        try KFACFixtureChecker.compare(
            try kfac.apply(v).rowMajorElements, record["kfac_times_V"], "kfac_times_V", productTolerance, label: label)
        return kfac
    }

    /// Compares KFAC⁻¹ @ V of both recorded inverses.
    private static func checkInverses(_ root: [String: Any], kfac: KFACLinearOperator<Double>, v: Matrix<Double>, label: String) throws {
        for key in ["kfac_inverse", "kfac_inverse_exact_damping"] {
            let record = try fixtureObject(root[key], key)
            let arguments = try fixtureObject(record["inverse_constructor_arguments"], "\(key).inverse_constructor_arguments")
            let inverse = try KFACInverseFixtureChecker.inverse(of: kfac, arguments: arguments)
            try KFACFixtureChecker.compare(
                try inverse.apply(v).rowMajorElements, record["kfac_inverse_times_V"], "\(key).kfac_inverse_times_V",
                inverseTolerance, label: label)
        }
    }

    /// Checks the dense solve and the CG runs of `damped_ggn_solve`.
    private static func checkDampedSolve(
        _ root: [String: Any], ggn: GGNLinearOperator<Double>, v: Matrix<Double>, label: String
    ) throws {
        let record = try fixtureObject(root["damped_ggn_solve"], "damped_ggn_solve")
        let damping = try fixtureDouble(record["damping"], "damped_ggn_solve.damping")
        let rightHandSide = try Matrix(rows: v.rows, columns: 1, columnMajor: v.column(0))

        let denseGGN = try ggn.dense()
        let solution = try MainJob.denseSolve(denseGGN, damping: damping, rightHandSide: rightHandSide)
        try KFACFixtureChecker.compare(solution.elements, record["x"], "damped_ggn_solve.x", inverseTolerance, label: label)

        var dampedMatrix = denseGGN
        for i in 0..<dampedMatrix.rows {
            dampedMatrix[i, i] += damping
        }
        let condition = try conditionNumber(ofSymmetric: dampedMatrix)
        let damped = try ggn + damping * IdentityLinearOperator<Double>(shapes: ggn.inputShapes)
        for (index, value) in try fixtureArray(record["curvlinops_cg"], "curvlinops_cg").enumerated() {
            let run = try fixtureObject(value, "curvlinops_cg[\(index)]")
            try checkCGRun(run, damped: damped, matrix: dampedMatrix, rightHandSide: rightHandSide, solution: solution,
                           condition: condition, label: "\(label) curvlinops_cg[\(index)]")
        }
    }

    private static func checkCGRun(
        _ run: [String: Any], damped: SumLinearOperator<Double>, matrix: Matrix<Double>, rightHandSide: Matrix<Double>,
        solution: Matrix<Double>, condition: Double, label: String
    ) throws {
        let hyperparameters = try fixtureObject(run["hyperparameters"], "hyperparameters")
        let maxIterations = try hyperparameters["max_iter"].map { try fixtureInt($0, "max_iter") }
        let tolerance = try hyperparameters["tolerance"].map { try fixtureDouble($0, "tolerance") }
        let eps = try hyperparameters["eps"].map { try fixtureDouble($0, "eps") }
        let stopUpdatingAfter = try hyperparameters["stop_updating_after"].map { try fixtureDouble($0, "stop_updating_after") }
        let isTextbook = eps == 0 && stopUpdatingAfter == 0 && tolerance == 0

        let cg = try tolerance.map { try CGInverseLinearOperator(damped, maxIterations: maxIterations, tolerance: $0) }
            ?? CGInverseLinearOperator(damped, maxIterations: maxIterations)
        let result = try cg.solve(rightHandSide)
        let column = result.report.columns[0]
        XCTAssertTrue(result.solution.isFinite, "\(label): the result is not finite")
        let residual = relativeResiduals(matrix, result.solution, rightHandSide)[0]
        XCTAssertEqual(column.relativeResidualNorm, residual, accuracy: 1e-12 + 1e-6 * residual,
                       "\(label): the report's relative residual differs from the recomputed one")

        if isTextbook {
            // Plain CG: the iterate itself is comparable where float64 reproduces it.
            if try fixtureBool(run["float64_reproducible"], "float64_reproducible") {
                let rtol = try fixtureDouble(run["suggested_rtol"], "suggested_rtol")
                try KFACFixtureChecker.compare(result.solution.elements, run["x"], "x", (rtol, 0), label: label)
            }
            XCTAssertEqual(column.iterations, try fixtureInt(run["num_iterations"], "num_iterations"), "\(label): iterations")
            return
        }

        let bound = try fixtureArray(run["residual_bound"], "residual_bound").map { try fixtureDouble($0, "residual_bound") }[0]
        XCTAssertLessThanOrEqual(residual, max(bound, cg.tolerance) * (1 + 1e-6) + 1e-15,
                                 "\(label): relative residual above max(residual_bound, tolerance)")
        if column.converged {
            XCTAssertLessThanOrEqual(residual, cg.tolerance, "\(label): converged above the tolerance")
            // ‖x − x*‖ ≤ κ·(‖r‖/‖b‖)·‖x*‖, plus the dense solve's own rounding.
            let error = euclideanNorm(zip(result.solution.elements, solution.elements).map { $0 - $1 })
            XCTAssertLessThanOrEqual(error, condition * (residual * 1.01 + 1e-13) * euclideanNorm(solution.elements),
                                     "\(label): error against the dense solve")
        } else {
            XCTAssertEqual(column.iterations, cg.maxIterations, "\(label): stopped early without converging")
        }
        // CG's residual norm is not monotone, so the step at which it first
        // falls below the tolerance moves by a few steps under the rounding
        // differences between the matrix-free GGN product and the dense
        // matrix (measured: 74 here, 76 for the dense textbook loop, 75 for
        // GPyTorch with eps = 0). A stall or a minimum iteration count would
        // be off by far more.
        let reference = textbookCG(matrix, rightHandSide, maxIterations: cg.maxIterations, tolerance: cg.tolerance)
        let allowed = max(3, reference.iterations[0] / 20)
        XCTAssertLessThanOrEqual(abs(column.iterations - reference.iterations[0]), allowed,
                                 "\(label): \(column.iterations) iterations, textbook CG with the same stopping rule \(reference.iterations[0])")
    }
}
