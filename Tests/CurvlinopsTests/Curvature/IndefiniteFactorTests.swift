import XCTest
@testable import Curvlinops

/// Given Kronecker factors must be symmetric positive semidefinite: cheap
/// necessary conditions are checked at construction, and the KFAC inverse
/// names an indefinite factor as the cause when it meets one.
final class IndefiniteFactorTests: XCTestCase {
    private let layers = [KFACLayer(name: "l", weightPosition: 0, biasPosition: 1)]

    private func kfac(gradient: Matrix<Double>) throws -> KFACLinearOperator<Double> {
        try KFACLinearOperator<Double>(
            parameterShapes: [[gradient.rows, 4], [gradient.rows]], layers: layers,
            inputCovariances: ["l": .identity(4)], gradientCovariances: ["l": gradient])
    }

    /// G = [[1, 1, 0], [1, 1, 1], [0, 1, 1]]: eigenvalues 1 − √2, 1, 1 + √2. Its diagonal
    /// is positive and every 2 × 2 principal minor is ≥ 0, so only an eigenvalue reveals it.
    private func subtlyIndefinite() throws -> Matrix<Double> {
        try Matrix(rows: 3, columns: 3, rowMajor: [1, 1, 0, 1, 1, 1, 0, 1, 1])
    }

    func testNegativeDiagonalEntryIsRejected() throws {
        let gradient = try Matrix<Double>(rows: 2, columns: 2, rowMajor: [1, 0, 0, -0.1])
        assertThrows(.invalidArgument, containing: [
            "KFACLinearOperator", "gradientCovariances[\"l\"]", "not positive semidefinite", "diagonal entry (1, 1) is -0.1",
        ]) {
            try kfac(gradient: gradient)
        }
        assertThrows(.invalidArgument, containing: ["EKFACLinearOperator", "inputCovariances[\"l\"]", "diagonal entry (0, 0)"]) {
            try EKFACLinearOperator<Double>(
                parameterShapes: [[1, 2]], layers: [KFACLayer(name: "l", weightPosition: 0)],
                inputCovariances: ["l": try Matrix(rows: 2, columns: 2, rowMajor: [-1, 0, 0, 1])],
                gradientCovariances: ["l": .identity(1)],
                correctedEigenvalues: ["l": .separate(weight: try Matrix(rows: 1, columns: 2, rowMajor: [1, 1]), bias: nil)])
        }
    }

    func testNegativePrincipalMinorIsRejected() throws {
        let gradient = try Matrix<Double>(rows: 2, columns: 2, rowMajor: [1, 2, 2, 1])
        assertThrows(.invalidArgument, containing: [
            "gradientCovariances[\"l\"]", "not positive semidefinite", "entry (1, 0) = 2.0", "√(F[1, 1]·F[0, 0]) = 1.0", "2 × 2 principal minor",
        ]) {
            try kfac(gradient: gradient)
        }
    }

    func testSemidefiniteFactorsAreAccepted() throws {
        // Singular but positive semidefinite: x·xᵀ for x = (1, 2), and the zero matrix.
        let rankOne = try Matrix<Double>(rows: 2, columns: 2, rowMajor: [1, 2, 2, 4])
        XCTAssertNoThrow(try kfac(gradient: rankOne))
        XCTAssertNoThrow(try kfac(gradient: Matrix(zeros: 2, 2)))
    }

    func testExactDampingNamesIndefiniteFactor() throws {
        let inverse = try KFACInverseLinearOperator(try kfac(gradient: subtlyIndefinite()), damping: .exact(0.1))
        assertThrows(.notPositiveDefinite, containing: [
            "gradient factor G of layer \"l\"", "indefinite", "smallest eigenvalue -0.41421356", "positive semidefinite",
        ]) {
            try inverse.apply(Array(repeating: 1.0, count: 15))
        }
        do {
            _ = try inverse.apply(Array(repeating: 1.0, count: 15))
        } catch let error as CurvlinopsError {
            XCTAssertFalse(error.message.contains("Use a damping > 0"), error.message)
        }
    }

    func testCholeskyDampingNamesIndefiniteFactor() throws {
        let inverse = try KFACInverseLinearOperator(try kfac(gradient: subtlyIndefinite()), damping: .scalar(0.1))
        assertThrows(.notPositiveDefinite, containing: [
            "gradient factor G", "layer \"l\"", "indefinite", "smallest eigenvalue -0.41421356",
        ]) {
            try inverse.apply(Array(repeating: 1.0, count: 15))
        }
    }

    func testFloatCholeskyRetryNamesIndefiniteFactor() throws {
        let kfac = try KFACLinearOperator<Float>(
            parameterShapes: [[3, 4], [3]], layers: layers,
            inputCovariances: ["l": .identity(4)],
            gradientCovariances: ["l": try Matrix(rows: 3, columns: 3, rowMajor: [1, 1, 0, 1, 1, 1, 0, 1, 1])])
        let inverse = try KFACInverseLinearOperator(kfac, damping: .scalar(0.1))
        assertThrows(.notPositiveDefinite, containing: ["gradient factor G", "indefinite", "smallest eigenvalue -0.4142"]) {
            try inverse.apply(Array(repeating: Float(1), count: 15))
        }
    }

    func testDampingBeyondNegativeEigenvalueStillInverts() throws {
        // G + I has eigenvalues 2 − √2, 2, 2 + √2 > 0: the damped matrix the inverse is asked for exists.
        var dampedGradient = try subtlyIndefinite()
        dampedGradient.add(.identity(3), scaledBy: 1)
        let damped = try kfac(gradient: dampedGradient)
        let inverse = try KFACInverseLinearOperator(try kfac(gradient: subtlyIndefinite()),
                                                    damping: .perFactor(input: 0, gradient: 1))
        let x = (0..<15).map { Double($0) / 15 }
        XCTAssertNil(fixtureMismatch(try damped.apply(try inverse.apply(x)), x, rtol: 1e-12, atol: 1e-12))
    }
}
