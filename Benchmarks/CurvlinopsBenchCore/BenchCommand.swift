import Foundation

/// The task of one run of `curvlinops-bench`, parsed from its command line.
///
/// ```
/// curvlinops-bench [--plot FILE.svg]
/// curvlinops-bench workloads [--json FILE] [--filter NAME] [--runs N]
/// curvlinops-bench --help
/// ```
public enum BenchCommand: Equatable, Sendable {
    /// The main job on the digits data; `plotPath` is where to write the
    /// convergence plot, or `nil` for none.
    case mainJob(plotPath: String?)

    /// The timed workloads.
    case workloads(WorkloadOptions)

    /// Print the usage text and exit successfully.
    case help

    /// The usage text, printed for `--help` and after a bad argument.
    public static let usage = """
        usage: curvlinops-bench [--plot FILE.svg]
               curvlinops-bench workloads [--json FILE] [--filter NAME] [--runs N]
               curvlinops-bench --help

        With no arguments, runs the main job: trains a 64-32-10 network on the
        digits data, solves (GGN + 0.01·I)·x = g for the gradient g by a dense
        Cholesky solve, CG, LSMR and the Neumann series, applies the KFAC and
        EKFAC inverses, and prints each result's error against the dense solve.
          --plot FILE.svg   also write the relative residual of CG, LSMR and
                            Neumann against the iteration count as an SVG plot

        workloads           times the benchmark workloads and prints the
                            minimum, median and maximum seconds of each
          --json FILE       also write one JSON object per workload and
                            precision to FILE, one per line
          --filter NAME     run only the workloads whose name contains NAME
          --runs N          time every workload N times (N ≥ 1) instead of
                            its default of 5 or 3 runs

        """

    /// Parses the arguments that follow the program name.
    ///
    /// - Parameter arguments: The command-line arguments without the program name.
    /// - Returns: The command.
    /// - Throws: ``BenchArgumentError`` naming the argument for an unknown
    ///   option, an option without its value, an option given twice, or a
    ///   `--runs` value that is not an integer ≥ 1.
    public static func parse(_ arguments: [String]) throws -> BenchCommand {
        if arguments.contains("--help") || arguments.contains("-h") {
            return .help
        }
        guard let first = arguments.first else {
            return .mainJob(plotPath: nil)
        }
        if first == "workloads" {
            return .workloads(try parseWorkloadOptions(Array(arguments.dropFirst())))
        }

        let options = OptionReader(arguments, command: "the main job", allowed: ["--plot"])
        let values = try options.read()
        return .mainJob(plotPath: values["--plot"])
    }

    private static func parseWorkloadOptions(_ arguments: [String]) throws -> WorkloadOptions {
        let reader = OptionReader(arguments, command: "workloads", allowed: ["--json", "--filter", "--runs"])
        let values = try reader.read()
        var options = WorkloadOptions()
        options.jsonPath = values["--json"]
        options.filter = values["--filter"]
        if let runs = values["--runs"] {
            guard let count = Int(runs), count >= 1 else {
                throw BenchArgumentError("--runs: got \"\(runs)\"; expected an integer from 1 to \(Int.max).")
            }
            options.runs = count
        }
        return options
    }
}

/// The options of the `workloads` command.
public struct WorkloadOptions: Equatable, Sendable {
    /// The path of the file of JSON lines, or `nil` for no file.
    public var jsonPath: String?

    /// A substring of the workload names to run, or `nil` for all.
    public var filter: String?

    /// The number of timed runs of every workload, or `nil` for each
    /// workload's own default.
    public var runs: Int?

    /// Creates options; every default runs all workloads with their own run counts and writes no file.
    public init(jsonPath: String? = nil, filter: String? = nil, runs: Int? = nil) {
        self.jsonPath = jsonPath
        self.filter = filter
        self.runs = runs
    }
}

/// A command line `curvlinops-bench` cannot run; the message names the argument.
public struct BenchArgumentError: Error, Equatable, CustomStringConvertible {
    /// The description of the problem, starting with the argument.
    public let message: String

    /// Creates an error with its message.
    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// Reads `--option value` pairs, each option at most once.
private struct OptionReader {
    let arguments: [String]
    let command: String
    let allowed: [String]

    init(_ arguments: [String], command: String, allowed: [String]) {
        self.arguments = arguments
        self.command = command
        self.allowed = allowed
    }

    func read() throws -> [String: String] {
        var values: [String: String] = [:]
        var index = 0
        while index < arguments.count {
            let option = arguments[index]
            guard allowed.contains(option) else {
                throw BenchArgumentError(
                    "\(option): unknown argument for \(command); expected \(allowed.joined(separator: ", ")).")
            }
            guard values[option] == nil else {
                throw BenchArgumentError("\(option): given twice; expected it at most once.")
            }
            guard index + 1 < arguments.count, !arguments[index + 1].hasPrefix("--") else {
                throw BenchArgumentError("\(option): missing its value.")
            }
            let value = arguments[index + 1]
            guard !value.isEmpty else {
                throw BenchArgumentError("\(option): got an empty value.")
            }
            values[option] = value
            index += 2
        }
        return values
    }
}

extension BenchCommand {
    /// Checks, before any work, that the files this command writes can be
    /// created: each output's folder must exist and be writable.
    ///
    /// - Throws: ``BenchArgumentError`` naming the option and the folder.
    public func validateOutputPaths() throws {
        let outputs: [(option: String, path: String)]
        switch self {
        case let .mainJob(plotPath):
            outputs = plotPath.map { [("--plot", $0)] } ?? []
        case let .workloads(options):
            outputs = options.jsonPath.map { [("--json", $0)] } ?? []
        case .help:
            outputs = []
        }
        for (option, path) in outputs {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                throw BenchArgumentError("\(option): \(path) is a directory; expected a file path.")
            }
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
                throw BenchArgumentError("\(option): the folder \(folder) of \(path) does not exist; create it or choose another path.")
            }
            guard FileManager.default.isWritableFile(atPath: folder) else {
                throw BenchArgumentError("\(option): the folder \(folder) of \(path) is not writable; choose another path.")
            }
        }
    }
}
