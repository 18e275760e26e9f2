import CLapack
import Curvlinops
import Foundation

/// Times the selected workloads and reports them as a table, and optionally as JSON lines.
///
/// Every workload runs once untimed (the warm-up: first-touch memory, OpenBLAS
/// thread start-up), then its timed runs. In the same process the OpenBLAS
/// gemm rate is measured for each precision that runs, and each workload that
/// counts its flops is reported as GFLOP/s and as a fraction of that rate.
public enum WorkloadRunner {
    /// Runs the workloads that `options` selects.
    ///
    /// A workload that fails (a missing library piece, an error from the
    /// library, fewer iterations than its name promises) is reported in the
    /// table and does not stop the others.
    ///
    /// - Parameters:
    ///   - options: The filter, run count and JSON path.
    ///   - digits: The digits data, for the digits workloads.
    ///   - output: Receives the table lines (standard output in the benchmark).
    ///   - log: Receives progress lines.
    /// - Returns: The measurements of the workloads that succeeded.
    /// - Throws: ``BenchError`` when the filter matches no workload, when the
    ///   JSON file cannot be written, or, after all workloads ran and the JSON
    ///   file is written, when some workload failed, naming each.
    @discardableResult
    public static func run(
        options: WorkloadOptions, digits: DigitsDataSet, output: (String) -> Void, log: ProgressLog
    ) throws -> [WorkloadMeasurement] {
        let selected = WorkloadCatalog.all(digits: digits).filter { workload in
            options.filter.map { workload.name.contains($0) } ?? true
        }
        guard !selected.isEmpty else {
            throw BenchError(
                "--filter \(options.filter ?? ""): matches no workload; the names are \(WorkloadCatalog.names.joined(separator: ", ")).")
        }

        output("OpenBLAS \(String(cString: openblas_get_config())), \(openblas_get_num_threads()) threads")
        var gemmRates: [String: Double] = [:]
        for dtype in Set(selected.map(\.dtype)).sorted() {
            let rate = dtype == Float.precisionName ? try GemmRate.measure(Float.self) : try GemmRate.measure(Double.self)
            gemmRates[dtype] = rate.best
            output(rate.summary)
        }
        output("")

        let header = ["workload", "dtype", "runs", "min (s)", "median (s)", "max (s)", "GFLOP/s", "of gemm"]
        var rows: [[String]] = []
        var measurements: [WorkloadMeasurement] = []
        var failures: [String] = []
        var flopModels: [String: String] = [:]
        for workload in selected {
            log("\(workload.name) (\(workload.dtype)): preparing")
            do {
                let (measurement, flopModel) = try measure(workload, runs: options.runs ?? workload.defaultRuns)
                measurements.append(measurement)
                rows.append(row(measurement, gemmRate: gemmRates[workload.dtype]))
                flopModels[workload.name] = flopModel
                log("\(workload.name) (\(workload.dtype)): median \(formatFixed(measurement.median, decimals: 4)) s")
            } catch {
                failures.append("\(workload.name) (\(workload.dtype)): \(error)")
                rows.append([workload.name, workload.dtype, "FAILED", "-", "-", "-", "-", "-"])
                log("\(workload.name) (\(workload.dtype)): FAILED: \(error)")
            }
        }

        output(formatTable(header: header, rows: rows, rightAligned: [2, 3, 4, 5, 6, 7]))
        output("")
        let modelled = WorkloadCatalog.names.compactMap { name in flopModels[name].map { (name, $0) } }
        if !modelled.isEmpty {
            output("GFLOP/s at the median time; \"of gemm\" divides it by the best gemm rate above. Flops counted as:")
            for (name, model) in modelled {
                output("  \(name): \(model)")
            }
        }

        if let path = options.jsonPath {
            try writeJSONLines(measurements, to: path)
            output("wrote \(measurements.count) results to \(path)")
        }
        if !failures.isEmpty {
            throw BenchError("\(failures.count) workload(s) failed:\n  " + failures.joined(separator: "\n  "))
        }
        return measurements
    }

    /// Prepares a workload, runs it once untimed and then `runs` times timed.
    private static func measure(_ workload: Workload, runs: Int) throws -> (WorkloadMeasurement, String?) {
        let work = try workload.prepare()
        try work.run()
        var times: [Double] = []
        for _ in 0..<runs {
            times.append(try timed { try work.run() }.seconds)
        }
        let measurement = WorkloadMeasurement(name: workload.name, dtype: workload.dtype, seconds: times, flops: work.flops)
        return (measurement, work.flopModel)
    }

    private static func row(_ measurement: WorkloadMeasurement, gemmRate: Double?) -> [String] {
        var cells = [measurement.name, measurement.dtype, String(measurement.runs),
                     formatFixed(measurement.minimum, decimals: 4), formatFixed(measurement.median, decimals: 4),
                     formatFixed(measurement.maximum, decimals: 4)]
        if let rate = measurement.gigaflopsPerSecond, let gemmRate {
            cells += [formatFixed(rate, decimals: 1), formatFixed(100 * rate / gemmRate, decimals: 0) + " %"]
        } else {
            cells += ["", ""]
        }
        return cells
    }

    private static func writeJSONLines(_ measurements: [WorkloadMeasurement], to path: String) throws {
        let text = measurements.map(\.jsonLine).joined(separator: "\n") + (measurements.isEmpty ? "" : "\n")
        do {
            // Not atomic: an atomic write replaces a symlink or device file at
            // the path (such as /dev/stdout) by a regular file.
            try text.write(toFile: path, atomically: false, encoding: .utf8)
        } catch {
            throw BenchError("--json \(path): could not write the file: \(error.localizedDescription)")
        }
    }
}

/// OpenBLAS's gemm rate C = A·B on square matrices, measured through the library's wrapper.
struct GemmRate {
    /// The sizes n at which the rate is measured.
    static let sizes = [1000, 2000]

    /// The timed runs per size; the fastest counts, because other processes can only slow a run down.
    static let runs = 3

    let dtype: String

    /// (n, GFLOP/s) of the fastest run at each size.
    let rates: [(size: Int, gigaflopsPerSecond: Double)]

    /// The highest rate over the sizes, the reference for the workloads.
    var best: Double { rates.map(\.gigaflopsPerSecond).max() ?? .nan }

    var summary: String {
        let name = dtype == Float.precisionName ? "sgemm" : "dgemm"
        let parts = rates.map { "n = \($0.size): \(formatFixed($0.gigaflopsPerSecond, decimals: 1)) GFLOP/s" }
        return "\(name) (best of \(Self.runs)): " + parts.joined(separator: ", ")
    }

    /// Measures the rate for one precision, after one untimed product per size.
    static func measure<Scalar: LapackScalar>(_: Scalar.Type) throws -> GemmRate {
        var rates: [(size: Int, gigaflopsPerSecond: Double)] = []
        for n in sizes {
            var generator = BenchRandom(seed: UInt64(n))
            let a: Matrix<Scalar> = convert(generator.gaussianMatrix(n, n, as: Double.self))
            let b: Matrix<Scalar> = convert(generator.gaussianMatrix(n, n, as: Double.self))
            var c = Matrix<Scalar>(zeros: n, n)
            try BLAS.gemm(a, b, into: &c)
            var best = Double.infinity
            for _ in 0..<runs {
                best = min(best, try timed { try BLAS.gemm(a, b, into: &c) }.seconds)
            }
            rates.append((n, 2 * pow(Double(n), 3) / best / 1e9))
        }
        return GemmRate(dtype: Scalar.precisionName, rates: rates)
    }
}
