import Foundation
import XCTest
import CurvlinopsBenchCore

/// The command line of `curvlinops-bench`: good input parses, bad input
/// throws an error naming the argument.
final class BenchCommandTests: XCTestCase {
    func testNoArgumentsRunsMainJob() throws {
        XCTAssertEqual(try BenchCommand.parse([]), .mainJob(plotPath: nil))
    }

    func testPlotOptionSetsPath() throws {
        XCTAssertEqual(try BenchCommand.parse(["--plot", "docs/convergence.svg"]), .mainJob(plotPath: "docs/convergence.svg"))
    }

    func testWorkloadsWithoutOptions() throws {
        XCTAssertEqual(try BenchCommand.parse(["workloads"]), .workloads(WorkloadOptions()))
    }

    func testWorkloadsWithEveryOption() throws {
        let command = try BenchCommand.parse(["workloads", "--runs", "7", "--json", "out.json", "--filter", "kfac"])
        XCTAssertEqual(command, .workloads(WorkloadOptions(jsonPath: "out.json", filter: "kfac", runs: 7)))
    }

    func testHelpWinsAnywhere() throws {
        XCTAssertEqual(try BenchCommand.parse(["--help"]), .help)
        XCTAssertEqual(try BenchCommand.parse(["workloads", "-h"]), .help)
    }

    func testUsageNamesEveryOption() {
        for option in ["--plot", "workloads", "--json", "--filter", "--runs"] {
            XCTAssertTrue(BenchCommand.usage.contains(option), "usage lacks \(option)")
        }
    }

    func testUnknownArgumentIsRejected() {
        assertRejected(["--plots", "x.svg"], naming: "--plots", saying: "unknown argument")
        assertRejected(["workloads", "--plot", "x.svg"], naming: "--plot", saying: "unknown argument for workloads")
        assertRejected(["workload"], naming: "workload", saying: "unknown argument")
    }

    func testMissingValueIsRejected() {
        assertRejected(["--plot"], naming: "--plot", saying: "missing its value")
        assertRejected(["workloads", "--json"], naming: "--json", saying: "missing its value")
        assertRejected(["workloads", "--filter", "--runs", "3"], naming: "--filter", saying: "missing its value")
    }

    func testEmptyValueIsRejected() {
        assertRejected(["workloads", "--filter", ""], naming: "--filter", saying: "empty value")
    }

    func testRepeatedOptionIsRejected() {
        assertRejected(["workloads", "--runs", "2", "--runs", "3"], naming: "--runs", saying: "given twice")
    }

    func testRunsMustBePositiveInteger() {
        for value in ["0", "-1", "2.5", "three", "99999999999999999999"] {
            assertRejected(["workloads", "--runs", value], naming: "--runs", saying: "\"\(value)\"")
        }
    }

    private func assertRejected(_ arguments: [String], naming argument: String, saying fragment: String,
                                line: UInt = #line) {
        do {
            let command = try BenchCommand.parse(arguments)
            XCTFail("\(arguments) parsed as \(command)", line: line)
        } catch let error as BenchArgumentError {
            XCTAssertTrue(error.message.hasPrefix(argument + ":"), "message \"\(error.message)\" does not start with \(argument)", line: line)
            XCTAssertTrue(error.message.contains(fragment), "message \"\(error.message)\" lacks \"\(fragment)\"", line: line)
        } catch {
            XCTFail("\(arguments) threw \(error), expected BenchArgumentError", line: line)
        }
    }
}

/// The check of output paths before any work.
final class BenchOutputPathTests: XCTestCase {
    func testMissingFolderIsRejected() {
        let command = BenchCommand.mainJob(plotPath: "/no-such-folder-for-curvlinops/plot.svg")
        XCTAssertThrowsError(try command.validateOutputPaths()) { error in
            let message = (error as? BenchArgumentError)?.message ?? "\(error)"
            XCTAssertTrue(message.hasPrefix("--plot: the folder /no-such-folder-for-curvlinops"), message)
            XCTAssertTrue(message.contains("does not exist"), message)
        }
        let workloads = BenchCommand.workloads(WorkloadOptions(jsonPath: "/no-such-folder-for-curvlinops/out.json"))
        XCTAssertThrowsError(try workloads.validateOutputPaths()) { error in
            XCTAssertTrue("\(error)".hasPrefix("--json:"), "\(error)")
        }
    }

    func testExistingFolderIsAccepted() throws {
        let folder = FileManager.default.temporaryDirectory.path
        XCTAssertNoThrow(try BenchCommand.mainJob(plotPath: folder + "/plot.svg").validateOutputPaths())
        XCTAssertNoThrow(try BenchCommand.workloads(WorkloadOptions(jsonPath: "relative.json")).validateOutputPaths())
        XCTAssertNoThrow(try BenchCommand.mainJob(plotPath: nil).validateOutputPaths())
        XCTAssertNoThrow(try BenchCommand.help.validateOutputPaths())
    }

    func testDirectoryAsOutputPathIsRejected() {
        let folder = FileManager.default.temporaryDirectory.path
        XCTAssertThrowsError(try BenchCommand.mainJob(plotPath: folder).validateOutputPaths()) { error in
            let message = (error as? BenchArgumentError)?.message ?? "\(error)"
            XCTAssertTrue(message.hasPrefix("--plot: \(folder) is a directory"), message)
        }
        XCTAssertThrowsError(try BenchCommand.workloads(WorkloadOptions(jsonPath: folder)).validateOutputPaths()) { error in
            XCTAssertTrue("\(error)".contains("is a directory; expected a file path"), "\(error)")
        }
    }

    func testPlotIsWrittenThroughSymlink() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curvlinops-symlink-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appendingPathComponent("target.svg").path
        let link = folder.appendingPathComponent("link.svg").path
        try "old".write(toFile: target, atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)

        let plot = ConvergencePlot(histories: [], title: "empty")
        try plot.write(to: link)

        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), target)
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), plot.svg)
    }
}
