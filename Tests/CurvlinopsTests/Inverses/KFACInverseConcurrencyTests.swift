import Foundation
import XCTest
@testable import Curvlinops

/// Several threads applying one freshly built operator at once: the lazily
/// filled factors and inverse factors must be computed once and every thread
/// must get the same, bit-identical result.
final class KFACInverseConcurrencyTests: XCTestCase {
    private static let threads = 8

    /// Runs `body` on `threads` threads at once and returns the results.
    private func concurrently(_ body: @escaping @Sendable () throws -> Matrix<Double>) -> [Result<Matrix<Double>, Error>] {
        let results = LockedValue<[Result<Matrix<Double>, Error>]>([])
        DispatchQueue.concurrentPerform(iterations: Self.threads) { _ in
            let result = Result { try body() }
            results.withLock { $0.append(result) }
        }
        return results.value
    }

    private func assertIdentical(_ results: [Result<Matrix<Double>, Error>], to serial: Matrix<Double>, _ context: String) {
        XCTAssertEqual(results.count, Self.threads, context)
        for result in results {
            switch result {
            case let .success(matrix):
                XCTAssertEqual(matrix, serial, context)
            case let .failure(error):
                XCTFail("\(context): a thread threw \(error)")
            }
        }
    }

    func testEightThreadsApplyingFreshInverseGetIdenticalResults() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: false, seed: 81)
        var generator = SeededGenerator(seed: 82)
        let x = KroneckerTestSupport.randomMatrix(problem.size, 3, &generator)
        let modes: [KFACDamping<Double>] = [.scalar(0.1), .heuristic(0.1), .exact(0.1)]
        for damping in modes {
            let serial = try KFACInverseLinearOperator(try problem.kfac(), damping: damping).apply(x)
            let inverse = try KFACInverseLinearOperator(try problem.kfac(), damping: damping)
            assertIdentical(concurrently { try inverse.apply(x) }, to: serial, "\(damping)")
            XCTAssertEqual(inverse.preparedStore.computationCount, 1, "\(damping)")
            XCTAssertNotNil(inverse.report, "\(damping)")
        }
    }

    func testEightThreadsWithLazyFactorsComputeThemOnce() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: true, seed: 83)
        let calls = LockedValue(0)
        let kfac = try KFACLinearOperator<Double>(
            parameterShapes: problem.parameterShapes, layers: problem.layers, fisherType: .type2,
            kfacApproximation: .expand, separateWeightAndBias: true
        ) {
            calls.withLock { $0 += 1 }
            return KFACFactors(inputCovariances: problem.input, gradientCovariances: problem.gradient)
        }
        let inverse = try KFACInverseLinearOperator(kfac, damping: .exact(0.2))
        var generator = SeededGenerator(seed: 84)
        let x = KroneckerTestSupport.randomMatrix(problem.size, 2, &generator)
        let serial = try KFACInverseLinearOperator(try problem.kfac(), damping: .exact(0.2)).apply(x)

        assertIdentical(concurrently { try inverse.apply(x) }, to: serial, "exact damping with lazy factors")
        XCTAssertEqual(calls.value, 1)
        XCTAssertEqual(kfac.eigendecompositionComputationCount, 1)
    }

    func testEightThreadsApplyingFreshEKFACInverseGetIdenticalResults() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: true, seed: 85)
        let corrected = EKFACLinearOperatorTests.correctedEigenvalues(for: problem)
        var generator = SeededGenerator(seed: 86)
        let x = KroneckerTestSupport.randomMatrix(problem.size, 2, &generator)
        let serial = try KFACInverseLinearOperator(try EKFACLinearOperatorTests.ekfac(problem, corrected), damping: .exact(0.3))
            .apply(x)
        let inverse = try KFACInverseLinearOperator(try EKFACLinearOperatorTests.ekfac(problem, corrected), damping: .exact(0.3))
        assertIdentical(concurrently { try inverse.apply(x) }, to: serial, "EKFAC")
    }

    func testReportIsReadableWhileOtherThreadsApply() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: true, seed: 87)
        let inverse = try KFACInverseLinearOperator(try problem.kfac(), damping: .heuristic(0.1), cache: false)
        var generator = SeededGenerator(seed: 88)
        let x = KroneckerTestSupport.randomMatrix(problem.size, 1, &generator)
        let serial = try inverse.apply(x)
        let expected = inverse.report
        let reports = LockedValue<[KFACInverseReport<Double>?]>([])
        DispatchQueue.concurrentPerform(iterations: Self.threads) { index in
            if index % 2 == 0 {
                XCTAssertEqual(try? inverse.apply(x), serial)
            } else {
                let report = inverse.report
                reports.withLock { $0.append(report) }
            }
        }
        for report in reports.value {
            XCTAssertEqual(report, expected)
        }
    }
}
