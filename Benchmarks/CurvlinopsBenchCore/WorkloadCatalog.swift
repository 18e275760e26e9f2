import Curvlinops

/// Every benchmark workload, in the order they run: the KFAC workloads on the
/// MLP problem, the solver workloads on the dense problem (each in `float32`,
/// then `float64`), then the CG workloads on the digits GGN (`float64`).
///
/// A workload prepares its problem only when it runs, and problems are built
/// once and shared by the workloads of one precision.
public enum WorkloadCatalog {
    /// The names of all workloads in run order; most run in both precisions.
    public static let names = [
        "kfac-factors-type-2", "kfac-factors-empirical", "kfac-inverse-first-apply",
        "kfac-inverse-cached-apply-64", "kfac-inverse-exact-cached-apply-64", "ekfac-compute-empirical-512",
        "cg-dense-1000x4-100it", "lsmr-dense-1000x4-100it", "neumann-dense-1000x4-100terms",
        "dense-cholesky-solve-1000x4", "cg-ggn-digits-1rhs-50it", "cg-ggn-digits-8rhs-50it",
    ]

    /// Returns all workloads, in run order; the digits workloads use `digits`.
    public static func all(digits: DigitsDataSet) -> [Workload] {
        let digitsProblem = Lazy { try DigitsGGNProblem(digits: digits) }
        return kfacWorkloads(Float.self) + kfacWorkloads(Double.self)
            + denseWorkloads(Float.self) + denseWorkloads(Double.self)
            + [digitsCG(digitsProblem, columns: 1), digitsCG(digitsProblem, columns: 8)]
    }

    // MARK: - KFAC on the MLP problem

    private static func kfacWorkloads<Scalar: LapackScalar>(_: Scalar.Type) -> [Workload] {
        let problem = Lazy { try MLPProblem<Scalar>() }
        let dtype = Scalar.precisionName
        let damping = Scalar(1e-3)
        return [
            Workload(name: "kfac-factors-type-2", dtype: dtype, defaultRuns: 3) {
                let mlp = try problem.value()
                return TimedWork {
                    _ = try CurvatureFactory.kfac(model: mlp.model, loss: mlp.loss, data: mlp.data, fisherType: .type2)
                }
            },
            Workload(name: "kfac-factors-empirical", dtype: dtype) {
                let mlp = try problem.value()
                return TimedWork {
                    _ = try CurvatureFactory.kfac(model: mlp.model, loss: mlp.loss, data: mlp.data, fisherType: .empirical)
                }
            },
            Workload(name: "kfac-inverse-first-apply", dtype: dtype) {
                let mlp = try problem.value()
                let kfac = try mlp.kfac()
                let vector = mlp.randomColumns(1, seed: 3)
                return TimedWork(
                    flops: mlp.factorInversionFlops + mlp.inverseApplyFlops(columns: 1, multiplier: 1),
                    flopModel: "d³ per factor of size d for potrf and potri, plus one apply"
                ) {
                    _ = try KFACInverseLinearOperator(kfac, damping: .scalar(damping)).apply(vector)
                }
            },
            Workload(name: "kfac-inverse-cached-apply-64", dtype: dtype) {
                let mlp = try problem.value()
                let inverse = try KFACInverseLinearOperator(try mlp.kfac(), damping: .scalar(damping))
                try inverse.factorize()
                let columns = mlp.randomColumns(64, seed: 4)
                return TimedWork(
                    flops: mlp.inverseApplyFlops(columns: 64, multiplier: 1),
                    flopModel: "2·k·(d_out²·d_in + d_out·d_in²) per weight block, 2·k·d_out² per bias block"
                ) {
                    _ = try inverse.apply(columns)
                }
            },
            Workload(name: "kfac-inverse-exact-cached-apply-64", dtype: dtype) {
                let mlp = try problem.value()
                let inverse = try KFACInverseLinearOperator(try mlp.kfac(), damping: .exact(damping))
                try inverse.factorize()
                let columns = mlp.randomColumns(64, seed: 4)
                return TimedWork(
                    flops: mlp.inverseApplyFlops(columns: 64, multiplier: 2),
                    flopModel: "twice the Cholesky-mode count: each eigenbasis is applied and undone"
                ) {
                    _ = try inverse.apply(columns)
                }
            },
            Workload(name: "ekfac-compute-empirical-512", dtype: dtype, defaultRuns: 3) {
                let mlp = try problem.value()
                let firstSamples = Array(mlp.data.prefix(512 / MLPProblem<Scalar>.batchSize))
                return TimedWork {
                    _ = try CurvatureFactory.ekfac(model: mlp.model, loss: mlp.loss, data: firstSamples,
                                                   fisherType: .empirical)
                }
            },
        ]
    }

    // MARK: - Solvers on the dense problem

    private static func denseWorkloads<Scalar: LapackScalar>(_: Scalar.Type) -> [Workload] {
        let problem = Lazy { try DenseProblem<Scalar>() }
        let dtype = Scalar.precisionName
        return [
            Workload(name: "cg-dense-1000x4-100it", dtype: dtype) {
                let dense = try problem.value()
                let cg = try CGInverseLinearOperator(DenseLinearOperator(dense.matrix), maxIterations: 100, tolerance: 0)
                return TimedWork {
                    let report = try cg.solve(dense.rightHandSide).report
                    try expectIterations(report, 100, workload: "cg-dense-1000x4-100it")
                }
            },
            Workload(name: "lsmr-dense-1000x4-100it", dtype: dtype, defaultRuns: 3) {
                let dense = try problem.value()
                let lsmr = try LSMRInverseLinearOperator(
                    DenseLinearOperator(dense.matrix), atol: 0, btol: 0, maxIterations: 100)
                return TimedWork {
                    let report = try lsmr.solve(dense.rightHandSide).report
                    try expectIterations(report, 100, workload: "lsmr-dense-1000x4-100it")
                }
            },
            Workload(name: "neumann-dense-1000x4-100terms", dtype: dtype) {
                let dense = try problem.value()
                let neumann = try NeumannInverseLinearOperator(
                    DenseLinearOperator(Scalar(1e-3) * dense.matrix), terms: 100, scale: 1)
                return TimedWork {
                    _ = try neumann.apply(dense.rightHandSide)
                }
            },
            Workload(name: "dense-cholesky-solve-1000x4", dtype: dtype) {
                let dense = try problem.value()
                return TimedWork {
                    var factor = dense.matrix
                    try LAPACK.potrf(&factor)
                    var solution = dense.rightHandSide
                    try LAPACK.potrs(factor: factor, solving: &solution)
                }
            },
        ]
    }

    // MARK: - CG on the digits GGN

    private static func digitsCG(_ problem: Lazy<DigitsGGNProblem>, columns: Int) -> Workload {
        let name = "cg-ggn-digits-\(columns)rhs-50it"
        return Workload(name: name, dtype: Double.precisionName, defaultRuns: 3) {
            let digits = try problem.value()
            let cg = try CGInverseLinearOperator(digits.damped, maxIterations: 50, tolerance: 0)
            let rightHandSide = digits.randomColumns(columns, seed: 5)
            return TimedWork {
                let report = try cg.solve(rightHandSide).report
                try expectIterations(report, 50, workload: name)
            }
        }
    }

    /// Throws unless every column of the report ran exactly `count` iterations.
    private static func expectIterations(_ report: SolverReport, _ count: Int, workload: String) throws {
        if let column = report.columns.firstIndex(where: { $0.iterations != count }) {
            throw BenchError(
                "\(workload): column \(column) ran \(report.columns[column].iterations) iterations (\(report.columns[column].stopReason)); expected exactly \(count).")
        }
    }
}

/// A value built on first use and kept; a failed build is retried on the next use.
final class Lazy<Value> {
    private let build: () throws -> Value
    private var stored: Value?

    init(_ build: @escaping () throws -> Value) {
        self.build = build
    }

    func value() throws -> Value {
        if let stored {
            return stored
        }
        let value = try build()
        stored = value
        return value
    }
}
