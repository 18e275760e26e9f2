import XCTest
@testable import Curvlinops

/// Block shapes whose entry count overflows `Int` are rejected where they
/// are given, with `invalidArgument` naming the argument, instead of trapping
/// later when a size is computed.
final class ShapeOverflowTests: XCTestCase {
    func testDenseRejectsOverflowingBlock() throws {
        assertThrows(.invalidArgument, containing: ["DenseLinearOperator", "inputShapes[0] = [\(Int.max), 2]", "Int.max"]) {
            try DenseLinearOperator(Matrix<Double>.identity(2), inputShapes: [[Int.max, 2]])
        }
        assertThrows(.invalidArgument, containing: ["DenseLinearOperator", "outputShapes[1] = [\(Int.max), 3]"]) {
            try DenseLinearOperator(Matrix<Double>.identity(2), outputShapes: [[2], [Int.max, 3]])
        }
    }

    func testIdentityRejectsOverflowingBlock() throws {
        assertThrows(.invalidArgument, containing: ["IdentityLinearOperator", "shapes[0] = [\(Int.max), 2]"]) {
            try IdentityLinearOperator<Double>(shapes: [[Int.max, 2]])
        }
    }

    func testIdentityRejectsOverflowingTotal() throws {
        // Each block fits in Int; their sum does not.
        assertThrows(.invalidArgument, containing: ["IdentityLinearOperator", "shapes = [[\(Int.max)], [1]]", "in total"]) {
            try IdentityLinearOperator<Float>(shapes: [[Int.max], [1]])
        }
    }

    func testDiagonalRejectsOverflowingBlock() throws {
        assertThrows(.invalidArgument, containing: ["DiagonalLinearOperator", "shapes[0]"]) {
            try DiagonalLinearOperator<Double>([1, 2], shapes: [[Int.max / 2 + 1, 2]])
        }
    }

    func testLargestShapesThatFitAreAccepted() throws {
        let identity = try IdentityLinearOperator<Double>(shapes: [[Int.max]])
        XCTAssertEqual(identity.inputSize, Int.max)
        let split = try IdentityLinearOperator<Double>(shapes: [[Int.max - 5], [5]])
        XCTAssertEqual(split.outputSize, Int.max)
        // A zero size empties the block, however large the other sizes.
        let empty = try IdentityLinearOperator<Double>(shapes: [[Int.max, 2, 0], [3]])
        XCTAssertEqual(empty.inputSize, 3)
        XCTAssertEqual(try empty.apply([1.0, 2, 3]), [1, 2, 3])
        XCTAssertEqual(try empty.apply(blocks: [Tensor(shape: [Int.max, 2, 0], elements: []), Tensor(shape: [3], elements: [1, 2, 3])])[1].elements, [1, 2, 3])
    }

    func testCombinatorsAndSolversRejectOperandWithOverflowingShapes() throws {
        let huge = OverflowingShapeOperator()
        let identity = try IdentityLinearOperator<Double>(size: 2)

        assertThrows(.invalidArgument, containing: ["SumLinearOperator", "terms[1].linearOperator.inputShapes[0]"]) {
            try identity + huge
        }
        assertThrows(.invalidArgument, containing: ["ScaledLinearOperator", "base.inputShapes[0]"]) {
            try 2 * huge
        }
        assertThrows(.invalidArgument, containing: ["ComposedLinearOperator", "factors[0].inputShapes[0]"]) {
            try huge * identity
        }
        assertThrows(.invalidArgument, containing: ["CGInverseLinearOperator", "A.inputShapes[0]"]) {
            try CGInverseLinearOperator(huge)
        }
        assertThrows(.invalidArgument, containing: ["LSMRInverseLinearOperator", "A.inputShapes[0]"]) {
            try LSMRInverseLinearOperator(huge)
        }
        assertThrows(.invalidArgument, containing: ["LSMR.solve", "A.inputShapes[0]"]) {
            try LSMR.solve(huge, Matrix<Double>(zeros: 2, 1))
        }
        assertThrows(.invalidArgument, containing: ["NeumannInverseLinearOperator", "A.inputShapes[0]"]) {
            try NeumannInverseLinearOperator(huge)
        }
        assertThrows(.invalidArgument, containing: ["CGInverseLinearOperator", "preconditioner.inputShapes[0]"]) {
            try CGInverseLinearOperator(identity, preconditioner: huge)
        }
    }

    func testCheckedSizesReportOverflow() {
        XCTAssertEqual(checkedFlatSize(of: [[2, 3], [4], []]), 11)
        XCTAssertEqual(checkedFlatSize(of: []), 0)
        XCTAssertNil(checkedFlatSize(of: [[Int.max, 2]]))
        XCTAssertNil(checkedFlatSize(of: [[Int.max], [1]]))
        XCTAssertEqual(checkedSize(of: [Int.max, 2, 0]), 0)
    }
}

/// An operator whose declared shapes hold more entries than `Int.max`.
private struct OverflowingShapeOperator: LinearOperator {
    typealias Scalar = Double
    var inputShapes: [[Int]] { [[Int.max, 2]] }
    var outputShapes: [[Int]] { [[2]] }

    func apply(_ x: Matrix<Double>) throws -> Matrix<Double> { x }

    func adjoint() -> any LinearOperator<Double> { self }
}
