import XCTest
import Curvlinops

/// The example of the KFAC guide (`docs/kfac.md`), run as a user would run it
/// (public API only), with the values it leaves open filled in.
final class KFACDocumentationTests: XCTestCase {
    func testGuideExampleRuns() throws {
        let inputs0 = try Tensor<Double>(shape: [5, 8], elements: (0..<40).map { Double($0 % 7) / 7 - 0.4 })
        let inputs1 = try Tensor<Double>(shape: [3, 8], elements: (0..<24).map { Double($0 % 5) / 5 - 0.3 })
        let (labels0, labels1) = ([0, 2, 1, 1, 0], [2, 0, 1])
        let reports = ReportCounter()

        let model = try Sequential<Double>([
            try Linear(inFeatures: 8, outFeatures: 16), Tanh(),
            try Linear(inFeatures: 16, outFeatures: 3),
        ], seed: 0)
        let data = [
            Batch(input: inputs0, classLabels: labels0),
            Batch(input: inputs1, classLabels: labels1),
        ]

        let kfac = try KFACLinearOperator(
            model: model, loss: CrossEntropyLoss(), parameters: model.parameterNames, data: data,
            fisherType: .type2, kfacApproximation: .expand, separateWeightAndBias: true,
            progress: { done, total in reports.add("KFAC: batch \(done) of \(total)") })

        let vectors = Matrix<Double>.identity(kfac.inputSize)
        let product = try kfac.apply(vectors)
        let a = try kfac.inputCovariances["0"]!
        let g = try kfac.gradientCovariances["0"]!
        let logDeterminant = try kfac.logDeterminant()

        let (gradient, _) = try GGNLinearOperator(
            model: model, loss: CrossEntropyLoss(), parameters: model.parameterNames, data: data).gradientAndLoss()
        let inverse = try KFACInverseLinearOperator(kfac, damping: .heuristic(1e-3))
        let step = try inverse.apply(gradient)

        let ekfac = try EKFACLinearOperator(
            model: model, loss: CrossEntropyLoss(), parameters: model.parameterNames, data: data,
            fisherType: .type2)
        let ekfacInverse = try KFACInverseLinearOperator(ekfac, damping: .exact(1e-3))

        XCTAssertEqual(reports.lines, ["KFAC: batch 1 of 2", "KFAC: batch 2 of 2"])
        XCTAssertEqual(product, try kfac.dense())
        XCTAssertEqual([a.rows, a.columns, g.rows, g.columns], [8, 8, 16, 16])
        XCTAssertTrue(logDeterminant.isNaN || logDeterminant < 0, "the factors of cross-entropy are singular")
        XCTAssertEqual(step.count, gradient.count)
        XCTAssertTrue(step.allSatisfy(\.isFinite))
        XCTAssertEqual(try ekfacInverse.apply(gradient).count, gradient.count)
    }
}

/// Collects progress messages from any thread.
private final class ReportCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []

    func add(_ line: String) {
        lock.lock()
        stored.append(line)
        lock.unlock()
    }

    var lines: [String] {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}
