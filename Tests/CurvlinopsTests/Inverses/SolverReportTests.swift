import Dispatch
import XCTest
@testable import Curvlinops

final class SolverReportTests: XCTestCase {
    func testReportIsNilBeforeTheFirstApply() throws {
        let a = try DenseLinearOperator(makeSPDMatrix(size: 4, condition: 3, seed: 61))

        XCTAssertNil(try CGInverseLinearOperator(a).lastReport)
        XCTAssertNil(try LSMRInverseLinearOperator(a).lastReport)
        XCTAssertNil(try NeumannInverseLinearOperator(a, scale: 0.3).lastReport)
    }

    func testConcurrentAppliesAndReadsAreSafe() throws {
        // Each thread applies the shared operators to its own right-hand side
        // and reads the reports while others write them. Every result must
        // equal the one computed alone, and every report read must be one of
        // the reports an apply produced.
        let n = 24
        let a = try DenseLinearOperator(makeSPDMatrix(size: n, condition: 100, seed: 62))
        let inverses: [any LinearOperator<Double>] = [
            try CGInverseLinearOperator(a, tolerance: 1e-10),
            try LSMRInverseLinearOperator(a, atol: 1e-10, btol: 1e-10, maxIterations: 200),
            try NeumannInverseLinearOperator(a, terms: 30, estimatingScale: NeumannScaleEstimation()),
        ]
        let rightHandSides = (0..<8).map { makeRandomMatrix(rows: n, columns: 2, seed: 100 + UInt64($0)) }
        let expected = try inverses.map { inverse in try rightHandSides.map { try inverse.apply($0) } }

        let results = ResultSlots(count: inverses.count * rightHandSides.count)
        DispatchQueue.concurrentPerform(iterations: inverses.count * rightHandSides.count) { index in
            let inverse = inverses[index % inverses.count]
            let b = rightHandSides[index / inverses.count]
            let solution = try? inverse.apply(b)
            let report = Self.lastReport(of: inverse)
            results.store(index, solution: solution, reportIsPresent: report != nil)
        }

        for index in 0..<(inverses.count * rightHandSides.count) {
            let (solution, reportIsPresent) = results.value(index)
            XCTAssertEqual(solution, expected[index % inverses.count][index / inverses.count], "apply \(index)")
            XCTAssertTrue(reportIsPresent, "apply \(index) found no report")
        }
    }

    private static func lastReport(of inverse: any LinearOperator<Double>) -> SolverReport? {
        switch inverse {
        case let cg as CGInverseLinearOperator<Double>: return cg.lastReport
        case let lsmr as LSMRInverseLinearOperator<Double>: return lsmr.lastReport
        case let neumann as NeumannInverseLinearOperator<Double>: return neumann.lastReport
        default: return nil
        }
    }

    func testCopiesShareTheReport() throws {
        let a = try DenseLinearOperator(makeSPDMatrix(size: 5, condition: 3, seed: 63))
        let inverse = try CGInverseLinearOperator(a)
        let copy = inverse

        _ = try copy.apply(makeRandomMatrix(rows: 5, columns: 1, seed: 64))
        XCTAssertNotNil(inverse.lastReport)
        XCTAssertEqual(inverse.lastReport, copy.lastReport)
    }

    func testSummaryProperties() {
        let report = SolverReport(
            method: .conjugateGradients,
            columns: [
                SolverColumnReport(iterations: 3, relativeResidualNorm: 1e-7, stopReason: .toleranceReached),
                SolverColumnReport(iterations: 10, relativeResidualNorm: 1e-3, stopReason: .iterationLimit),
            ],
            operatorApplications: 11)

        XCTAssertFalse(report.allConverged)
        XCTAssertEqual(report.maximumIterations, 10)
        XCTAssertEqual(report.maximumRelativeResidualNorm, 1e-3)
        XCTAssertTrue(SolverReport(method: .lsmr, columns: [], operatorApplications: 0).allConverged)
    }
}

/// Results written by concurrent test threads, each to its own slot.
private final class ResultSlots: @unchecked Sendable {
    // `@unchecked` is sound because every access takes `lock` first.
    private let lock = NSLock()
    private var solutions: [Matrix<Double>?]
    private var reportsPresent: [Bool]

    init(count: Int) {
        solutions = Array(repeating: nil, count: count)
        reportsPresent = Array(repeating: false, count: count)
    }

    func store(_ index: Int, solution: Matrix<Double>?, reportIsPresent: Bool) {
        lock.lock()
        defer { lock.unlock() }
        solutions[index] = solution
        reportsPresent[index] = reportIsPresent
    }

    func value(_ index: Int) -> (Matrix<Double>?, Bool) {
        lock.lock()
        defer { lock.unlock() }
        return (solutions[index], reportsPresent[index])
    }
}
