import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import Curvlinops
@testable import CurvlinopsBenchCore

/// The benchmark's data reader, workload bookkeeping and plot, without
/// timing anything.
final class BenchSupportTests: XCTestCase {
    // MARK: - Digits data

    func testDigitsFileHasEveryImage() throws {
        let digits = try loadFixtureDigits()
        XCTAssertEqual(digits.count, 1797)
        XCTAssertEqual(digits.features.count, 1797 * 64)
        XCTAssertEqual(Set(digits.labels), Set(0...9))
        XCTAssertEqual(digits.features.min(), 0)
        XCTAssertEqual(digits.features.max(), 1)
        // The first image of the file is a 0 whose third pixel is 5, scaled by 1/16.
        XCTAssertEqual(digits.labels[0], 0)
        XCTAssertEqual(digits.features[2], 5.0 / 16)
    }

    func testDigitsBatchesKeepOrderAndRemainder() throws {
        let digits = try loadFixtureDigits().prefix(10)
        let batches: [Batch<Float>] = digits.batches(of: 4)
        XCTAssertEqual(batches.map(\.size), [4, 4, 2])
        XCTAssertEqual(batches[2].input.shape, [2, 64])
        XCTAssertEqual(batches[2].target.elements, digits.labels[8..<10].map { Float($0) })
        XCTAssertEqual(batches[1].input.elements[0], Float(digits.features[4 * 64]))
    }

    func testDigitsParserRejectsBadLines() {
        let valid = Array(repeating: "0", count: 64).joined(separator: ",")
        assertRejected("\(valid)", saying: "line 1: got 64 entries; expected 65")
        assertRejected("\(valid),3\n\(valid),x", saying: "line 2, column 65: got \"x\"")
        assertRejected("\(valid),10", saying: "column 65: got \"10\"; expected an integer in 0...9")
        assertRejected("17," + Array(repeating: "0", count: 63).joined(separator: ",") + ",1", saying: "column 1: got \"17\"")
        assertRejected("\n\n", saying: "no data lines")
    }

    func testDigitsParserSkipsBlankLines() throws {
        let valid = Array(repeating: "16", count: 64).joined(separator: ",")
        let digits = try DigitsDataSet(csv: "\n\(valid),7\n\n\(valid),2\n")
        XCTAssertEqual(digits.labels, [7, 2])
        XCTAssertEqual(digits.features, Array(repeating: 1, count: 128))
    }

    private func assertRejected(_ csv: String, saying fragment: String, line: UInt = #line) {
        XCTAssertThrowsError(try DigitsDataSet(csv: csv), line: line) { error in
            XCTAssertTrue("\(error)".contains(fragment), "\"\(error)\" lacks \"\(fragment)\"", line: line)
        }
    }

    // MARK: - Workloads

    func testCatalogListsPinnedNamesInBothPrecisions() throws {
        let workloads = WorkloadCatalog.all(digits: try loadFixtureDigits())
        XCTAssertEqual(WorkloadCatalog.names, [
            "kfac-factors-type-2", "kfac-factors-empirical", "kfac-inverse-first-apply",
            "kfac-inverse-cached-apply-64", "kfac-inverse-exact-cached-apply-64", "ekfac-compute-empirical-512",
            "cg-dense-1000x4-100it", "lsmr-dense-1000x4-100it", "neumann-dense-1000x4-100terms",
            "dense-cholesky-solve-1000x4", "cg-ggn-digits-1rhs-50it", "cg-ggn-digits-8rhs-50it",
        ])
        var seen: [String] = []
        for workload in workloads where !seen.contains(workload.name) {
            seen.append(workload.name)
        }
        XCTAssertEqual(seen, WorkloadCatalog.names, "run order")
        for name in WorkloadCatalog.names {
            let dtypes = workloads.filter { $0.name == name }.map(\.dtype)
            let expected = name.contains("digits") ? ["float64"] : ["float32", "float64"]
            XCTAssertEqual(dtypes, expected, name)
        }
    }

    func testCatalogDefaultRunCounts() throws {
        let threeRuns: Set = ["kfac-factors-type-2", "ekfac-compute-empirical-512", "lsmr-dense-1000x4-100it",
                              "cg-ggn-digits-1rhs-50it", "cg-ggn-digits-8rhs-50it"]
        for workload in WorkloadCatalog.all(digits: try loadFixtureDigits()) {
            XCTAssertEqual(workload.defaultRuns, threeRuns.contains(workload.name) ? 3 : 5, workload.name)
        }
    }

    func testMeasurementStatistics() {
        let odd = WorkloadMeasurement(name: "w", dtype: "float64", seconds: [0.3, 0.1, 0.2], flops: 6e8)
        XCTAssertEqual(odd.minimum, 0.1)
        XCTAssertEqual(odd.median, 0.2)
        XCTAssertEqual(odd.maximum, 0.3)
        XCTAssertEqual(odd.runs, 3)
        XCTAssertEqual(try XCTUnwrap(odd.gigaflopsPerSecond), 3, accuracy: 1e-12)
        let even = WorkloadMeasurement(name: "w", dtype: "float32", seconds: [4, 1, 3, 2], flops: nil)
        XCTAssertEqual(even.median, 2.5)
        XCTAssertNil(even.gigaflopsPerSecond)
    }

    func testJSONLineHasPinnedKeysInOrder() throws {
        let measurement = WorkloadMeasurement(name: "cg-dense-1000x4-100it", dtype: "float32", seconds: [0.5, 0.25, 1e-5], flops: nil)
        let line = measurement.jsonLine
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["workload", "dtype", "median_s", "min_s", "max_s", "runs"])
        XCTAssertEqual(object["workload"] as? String, "cg-dense-1000x4-100it")
        XCTAssertEqual(object["dtype"] as? String, "float32")
        XCTAssertEqual(object["median_s"] as? Double, 0.25)
        XCTAssertEqual(object["min_s"] as? Double, 1e-5)
        XCTAssertEqual(object["max_s"] as? Double, 0.5)
        XCTAssertEqual(object["runs"] as? Int, 3)
        let keyOrder = ["\"workload\"", "\"dtype\"", "\"median_s\"", "\"min_s\"", "\"max_s\"", "\"runs\""]
            .map { line.range(of: $0)!.lowerBound }
        XCTAssertEqual(keyOrder, keyOrder.sorted())
    }

    func testFilterMatchingNothingIsRejected() throws {
        var lines: [String] = []
        XCTAssertThrowsError(try WorkloadRunner.run(
            options: WorkloadOptions(filter: "no-such-workload"), digits: try loadFixtureDigits(),
            output: { lines.append($0) }, log: .silent)
        ) { error in
            XCTAssertTrue("\(error)".hasPrefix("--filter no-such-workload: matches no workload"), "\(error)")
            XCTAssertTrue("\(error)".contains("cg-ggn-digits-8rhs-50it"), "\(error)")
        }
        XCTAssertEqual(lines, [], "nothing is printed before the filter is checked")
    }

    func testDenseProblemHasRequestedSpectrum() throws {
        // A smaller copy of the workload's construction would not test the
        // workload; the 1000 × 1000 build and one eigendecomposition take
        // about a second.
        let problem = try DenseProblem<Double>()
        XCTAssertEqual(problem.matrix.rows, 1000)
        XCTAssertEqual(problem.rightHandSide.columns, 4)
        let eigenvalues = try LAPACK.syevd(problem.matrix).eigenvalues
        XCTAssertEqual(eigenvalues.first!, 1, accuracy: 1e-10)
        XCTAssertEqual(eigenvalues.last!, 1000, accuracy: 1e-9)
        XCTAssertEqual(eigenvalues[500], pow(10, 3 * 500 / 999), accuracy: 1e-10 * pow(10, 3 * 500 / 999))
    }

    // MARK: - Convergence plot

    func testCheckpointsCoverRunOnce() {
        XCTAssertEqual(ConvergenceRecorder.checkpoints(upTo: 0), [])
        XCTAssertEqual(ConvergenceRecorder.checkpoints(upTo: 1), [1])
        XCTAssertEqual(ConvergenceRecorder.checkpoints(upTo: 5), [1, 2, 3, 4, 5])
        let long = ConvergenceRecorder.checkpoints(upTo: 1000)
        XCTAssertEqual(long.first, 1)
        XCTAssertEqual(long.last, 1000)
        XCTAssertEqual(long, long.sorted())
        XCTAssertEqual(Set(long).count, long.count)
        XCTAssertTrue((40...50).contains(long.count), "\(long.count) checkpoints")
        XCTAssertLessThan(long.reduce(0, +), 8 * 1000, "the rerun cost stated in MainJobConfiguration")
    }

    func testTicksAreRoundAndCoverAxis() {
        XCTAssertEqual(ConvergencePlot.ticks(upTo: 1000), [0, 200, 400, 600, 800, 1000])
        XCTAssertEqual(ConvergencePlot.ticks(upTo: 58), [0, 10, 20, 30, 40, 50])
        XCTAssertEqual(ConvergencePlot.ticks(upTo: 3), [0, 1, 2, 3])
    }

    func testPlotIsWellFormedSVG() throws {
        let histories = [
            ConvergenceHistory(method: "CG", points: [(0, 1), (5, 1e-3), (10, 0)]),
            ConvergenceHistory(method: "A & B", points: [(0, 1), (20, 0.5)]),
        ]
        let svg = ConvergencePlot(histories: histories, title: "x < y").svg
        let parser = XMLParser(data: Data(svg.utf8))
        let recorder = ElementRecorder()
        parser.delegate = recorder
        XCTAssertTrue(parser.parse(), "not well-formed XML: \(String(describing: parser.parserError))")
        XCTAssertEqual(recorder.names.first, "svg")
        XCTAssertEqual(recorder.names.filter { $0 == "polyline" }.count, 2)
        XCTAssertTrue(recorder.text.contains("A & B"), "legend entry")
        XCTAssertTrue(recorder.text.contains("x < y"), "title")
        XCTAssertFalse(svg.contains("href"), "the SVG must not reference other files")
    }
}

/// Collects element names and text of an XML document.
private final class ElementRecorder: NSObject, XMLParserDelegate {
    var names: [String] = []
    var text = ""

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName: String?, attributes: [String: String] = [:]) {
        names.append(elementName)
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        text += string
    }
}
