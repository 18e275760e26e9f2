// curvlinops-bench: the main job on the digits data (no arguments) and the
// timed workloads (`workloads`). Results go to standard output, progress to
// standard error. See `curvlinops-bench --help`.

import Curvlinops
import CurvlinopsBenchCore
import Foundation

/// Writes one line to standard error.
@Sendable func printToStandardError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Prints the message and exits with status `code`.
func fail(_ message: String, code: Int32 = 1) -> Never {
    printToStandardError("curvlinops-bench: \(message)")
    exit(code)
}

/// Reads the digits data shipped as a resource of this executable.
func loadDigits() throws -> DigitsDataSet {
    guard let url = Bundle.module.url(forResource: "digits", withExtension: "csv") else {
        throw BenchError("digits.csv is missing from the executable's resource bundle; rebuild with swift build.")
    }
    return try DigitsDataSet(csv: try String(contentsOf: url, encoding: .utf8))
}

let command: BenchCommand
do {
    command = try BenchCommand.parse(Array(CommandLine.arguments.dropFirst()))
    try command.validateOutputPaths()
} catch {
    printToStandardError("curvlinops-bench: \(error)")
    printToStandardError("")
    printToStandardError(BenchCommand.usage)
    exit(2)
}

let log = ProgressLog(sink: printToStandardError)
do {
    switch command {
    case .help:
        print(BenchCommand.usage)

    case let .mainJob(plotPath):
        // The main job's gemms are small (batches of 256, layers of 64 and 32),
        // where one OpenBLAS thread is as fast as two on an idle machine and far
        // faster on a busy one. A thread count the user set is kept.
        if ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] == nil {
            try OpenBLAS.setThreadCount(1)
            log("using 1 OpenBLAS thread (set OPENBLAS_NUM_THREADS to choose another count)")
        }
        var configuration = MainJobConfiguration.standard
        configuration.recordsConvergence = plotPath != nil
        let result = try MainJob.run(digits: try loadDigits(), configuration: configuration, log: log)
        print(result.summary)
        print("")
        print(result.table)
        if let plotPath {
            let plot = ConvergencePlot(
                histories: result.histories,
                title: "(GGN + \(result.damping)·I)·x = g on digits, P = \(result.parameterCount)")
            try plot.write(to: plotPath)
            log("wrote the convergence plot to \(plotPath)")
        }
        log("done")

    case let .workloads(options):
        let digits = try loadDigits()
        try WorkloadRunner.run(options: options, digits: digits, output: { print($0) }, log: log)
        log("done")
    }
} catch {
    fail("\(error)")
}
