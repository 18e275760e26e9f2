import Foundation
import XCTest
@testable import Curvlinops

/// KFAC of Linear(2 → 1) with weight [[0, 0]], bias [0], one datum x = [1, 2],
/// y = [0], MSE with `.sum`, type-2, weight and bias separate. The expected
/// values were computed with curvlinops 3.0.0: A = x·xᵀ = [[1, 2], [2, 4]]
/// and G = 2 (the MSE Hessian of the sum form).
final class KFACModelExactValueTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("KFACModelExactValueTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(at: directory)
    }

    func testWeightAndBiasGiveKnownDenseMatrix() throws {
        let kfac = try KFACModelTestSupport.linearTwoToOneKFAC(parameters: ["0.weight", "0.bias"])
        assertClose(try kfac.dense().rowMajorElements, [2, 4, 0, 4, 8, 0, 0, 0, 2], rtol: 1e-15, "dense KFAC")
    }

    func testBiasOnlyGivesKnownDenseMatrix() throws {
        let kfac = try KFACModelTestSupport.linearTwoToOneKFAC(parameters: ["0.bias"])
        assertClose(try kfac.dense().elements, [2], rtol: 1e-15, "dense KFAC")
        XCTAssertTrue(try kfac.inputCovariances.isEmpty)
    }

    func testBiasOnlyStateSavesAndLoadsBack() throws {
        let kfac = try KFACModelTestSupport.linearTwoToOneKFAC(parameters: ["0.bias"])
        let url = directory.appendingPathComponent("bias-only.state")
        try kfac.save(to: url)

        let loaded = try KFACLinearOperator<Double>(contentsOf: url)
        XCTAssertEqual(try loaded.dense(), try kfac.dense())
        assertClose(try loaded.dense().elements, [2], rtol: 1e-15, "loaded dense KFAC")
        XCTAssertTrue(try loaded.inputCovariances.isEmpty)
        XCTAssertEqual(loaded.layers, [KFACLayer(name: "0", biasPosition: 0)])

        let fresh = try KFACModelTestSupport.linearTwoToOneKFAC(parameters: ["0.bias"])
        XCTAssertEqual(try fresh.loadingState(contentsOf: url).dense(), try kfac.dense())
    }

    func testWeightOnlyGivesKnownDenseMatrix() throws {
        let kfac = try KFACModelTestSupport.linearTwoToOneKFAC(parameters: ["0.weight"])
        assertClose(try kfac.dense().rowMajorElements, [2, 4, 4, 8], rtol: 1e-15, "dense KFAC")
    }

    /// (KFAC + ½I)⁻¹ [1, 1, 1]: the weight block [[2.5, 4], [4, 8.5]] maps
    /// [6/7, −2/7] to [1, 1], the bias block 2.5 maps 2/5 to 1.
    func testExactlyDampedInverseGivesKnownVectorEveryTime() throws {
        let kfac = try KFACModelTestSupport.linearTwoToOneKFAC(parameters: ["0.weight", "0.bias"])
        let inverse = try KFACInverseLinearOperator(kfac, damping: .exact(0.5))
        let expected: [Double] = [6.0 / 7.0, -2.0 / 7.0, 2.0 / 5.0]
        for application in 1...3 {
            let result = try inverse.apply([1, 1, 1])
            assertClose(result, expected, rtol: 1e-14, "application \(application)")
        }
    }
}
