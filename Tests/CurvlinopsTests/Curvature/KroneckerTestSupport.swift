import Foundation
import XCTest
@testable import Curvlinops

/// Test matrices and dense references for the Kronecker-factored operators.
enum KroneckerTestSupport {
    /// Returns a matrix with entries uniform in [−1, 1].
    static func randomMatrix(_ rows: Int, _ columns: Int, _ generator: inout SeededGenerator) -> Matrix<Double> {
        var result = Matrix<Double>(zeros: rows, columns)
        for j in 0..<columns {
            for i in 0..<rows {
                result[i, j] = Double.random(in: -1...1, using: &generator)
            }
        }
        return result
    }

    /// B·Bᵀ/n + shift·I with B of size n × n: symmetric positive definite for shift > 0.
    static func randomSPD(_ n: Int, shift: Double = 0.1, _ generator: inout SeededGenerator) -> Matrix<Double> {
        let b = randomMatrix(n, n, &generator)
        var result = try! b * b.transposed
        for j in 0..<n {
            for i in 0..<n {
                result[i, j] /= Double(n)
            }
            result[j, j] += shift
        }
        result.symmetrize()
        return result
    }

    /// `np.kron(left, right)`: entry [i·r + k, j·r + l] = left[i, j]·right[k, l] with r = rows of `right`.
    static func kron(_ left: Matrix<Double>, _ right: Matrix<Double>) -> Matrix<Double> {
        var result = Matrix<Double>(zeros: left.rows * right.rows, left.columns * right.columns)
        for i in 0..<left.rows {
            for j in 0..<left.columns {
                for k in 0..<right.rows {
                    for l in 0..<right.columns {
                        result[i * right.rows + k, j * right.columns + l] = left[i, j] * right[k, l]
                    }
                }
            }
        }
        return result
    }

    /// Returns the flat indices of a block's d_out × c matrix entries in row-major order, as the fixture format lays them out.
    ///
    /// W[o, i] sits at offset(W) + o·d_in + i. In a joint block the bias entry of row o follows that row.
    static func blockIndices(
        parameterShapes: [[Int]], weightPosition: Int?, biasPosition: Int?, joint: Bool, part: KroneckerBlock.Kind
    ) -> [Int] {
        var offsets: [Int] = []
        var offset = 0
        for shape in parameterShapes {
            offsets.append(offset)
            offset += shape.reduce(1, *)
        }
        var indices: [Int] = []
        switch part {
        case .bias:
            let rows = parameterShapes[biasPosition!][0]
            indices = (0..<rows).map { offsets[biasPosition!] + $0 }
        case .weight, .joint:
            let shape = parameterShapes[weightPosition!]
            let (rows, inputs) = (shape[0], shape.dropFirst().reduce(1, *))
            for o in 0..<rows {
                for i in 0..<inputs {
                    indices.append(offsets[weightPosition!] + o * inputs + i)
                }
                if part == .joint {
                    indices.append(offsets[biasPosition!] + o)
                }
            }
        }
        return indices
    }

    /// Places block matrices (each acting on the row-major flattening of its block) into a dense P × P matrix.
    static func scatter(_ blocks: [(indices: [Int], matrix: Matrix<Double>)], size: Int) -> Matrix<Double> {
        var result = Matrix<Double>(zeros: size, size)
        for (indices, matrix) in blocks {
            precondition(matrix.rows == indices.count && matrix.columns == indices.count)
            for (a, row) in indices.enumerated() {
                for (b, column) in indices.enumerated() {
                    result[row, column] = matrix[a, b]
                }
            }
        }
        return result
    }

    /// Builds a dense block-diagonal matrix entry by entry, independently of the operators' apply.
    static func referenceDense(
        parameterShapes: [[Int]], layers: [KFACLayer], input: [String: Matrix<Double>],
        gradient: [String: Matrix<Double>], separateWeightAndBias: Bool,
        blockMatrix: (_ layer: String, _ part: KroneckerBlock.Kind) -> Matrix<Double>
    ) -> Matrix<Double> {
        var blocks: [(indices: [Int], matrix: Matrix<Double>)] = []
        for layer in layers {
            let joint = !separateWeightAndBias && layer.weightPosition != nil && layer.biasPosition != nil
            var parts: [KroneckerBlock.Kind] = []
            if joint {
                parts = [.joint]
            } else {
                if layer.weightPosition != nil { parts.append(.weight) }
                if layer.biasPosition != nil { parts.append(.bias) }
            }
            for part in parts {
                let indices = blockIndices(
                    parameterShapes: parameterShapes, weightPosition: layer.weightPosition,
                    biasPosition: layer.biasPosition, joint: joint, part: part)
                blocks.append((indices, blockMatrix(layer.name, part)))
            }
        }
        return scatter(blocks, size: parameterShapes.reduce(0) { $0 + $1.reduce(1, *) })
    }

    /// max |a − b| / max |b|.
    static func relativeError(_ a: Matrix<Double>, _ b: Matrix<Double>) -> Double {
        precondition(a.rows == b.rows && a.columns == b.columns, "shapes \(a.rows)×\(a.columns) and \(b.rows)×\(b.columns)")
        let scale = b.maxAbsoluteValue
        var worst = 0.0
        for index in a.elements.indices {
            worst = max(worst, abs(a.elements[index] - b.elements[index]))
        }
        return scale == 0 ? worst : worst / scale
    }

    /// A three-layer problem with every kind of block: a Linear layer that is
    /// joint unless weight and bias are separate, a Conv2d-shaped weight without
    /// bias, and a bias without weight. The parameters are listed out of layer order.
    struct Problem {
        let parameterShapes: [[Int]]
        let layers: [KFACLayer]
        let input: [String: Matrix<Double>]
        let gradient: [String: Matrix<Double>]
        let separateWeightAndBias: Bool

        var size: Int { parameterShapes.reduce(0) { $0 + $1.reduce(1, *) } }

        func kfac() throws -> KFACLinearOperator<Double> {
            try KFACLinearOperator(
                parameterShapes: parameterShapes, layers: layers, inputCovariances: input,
                gradientCovariances: gradient, separateWeightAndBias: separateWeightAndBias)
        }

        func kfacFloat() throws -> KFACLinearOperator<Float> {
            try KFACLinearOperator(
                parameterShapes: parameterShapes, layers: layers,
                inputCovariances: input.mapValues(KroneckerTestSupport.float),
                gradientCovariances: gradient.mapValues(KroneckerTestSupport.float),
                separateWeightAndBias: separateWeightAndBias)
        }

        /// Builds the dense matrix with `blockMatrix` giving each block's matrix.
        func dense(_ blockMatrix: (_ layer: String, _ part: KroneckerBlock.Kind) -> Matrix<Double>) -> Matrix<Double> {
            referenceDense(
                parameterShapes: parameterShapes, layers: layers, input: input, gradient: gradient,
                separateWeightAndBias: separateWeightAndBias, blockMatrix: blockMatrix)
        }

        /// Returns the input factor of a block: A, or [1] for a bias block.
        func inputFactor(_ layer: String, _ part: KroneckerBlock.Kind) -> Matrix<Double> {
            part == .bias ? Matrix.identity(1) : input[layer]!
        }

        static func make(separateWeightAndBias: Bool, seed: UInt64 = 1) -> Problem {
            var generator = SeededGenerator(seed: seed)
            // Parameter order: conv weight, linear bias, bias-only layer, linear weight.
            let shapes = [[3, 2, 2, 2], [4], [5], [4, 6]]
            let layers = [
                KFACLayer(name: "linear", weightPosition: 3, biasPosition: 1),
                KFACLayer(name: "conv", weightPosition: 0),
                KFACLayer(name: "head", biasPosition: 2),
            ]
            let linearInput = separateWeightAndBias ? 6 : 7
            return Problem(
                parameterShapes: shapes, layers: layers,
                input: ["linear": randomSPD(linearInput, &generator), "conv": randomSPD(8, &generator)],
                gradient: ["linear": randomSPD(4, &generator), "conv": randomSPD(3, &generator),
                           "head": randomSPD(5, &generator)],
                separateWeightAndBias: separateWeightAndBias)
        }
    }

    static func float(_ matrix: Matrix<Double>) -> Matrix<Float> {
        try! Matrix(rows: matrix.rows, columns: matrix.columns, columnMajor: matrix.elements.map { Float($0) })
    }

    static func double(_ matrix: Matrix<Float>) -> Matrix<Double> {
        try! Matrix(rows: matrix.rows, columns: matrix.columns, columnMajor: matrix.elements.map { Double($0) })
    }

    /// Returns the inverse of a square matrix by LU (`gesv`).
    static func inverse(_ matrix: Matrix<Double>) throws -> Matrix<Double> {
        try LAPACK.gesv(matrix, Matrix.identity(matrix.rows))
    }

    /// Returns KFAC of the model Linear(2 → 1) with w = [[0, 0]], b = [0], x = [1, 2], y = [0],
    /// MSE with sum reduction, type-2 Fisher: A = x·xᵀ, G = 2 (the MSE Hessian),
    /// parameters [weight, bias], weight and bias separate.
    static func linearTwoToOne(parameters: [String] = ["weight", "bias"]) throws -> KFACLinearOperator<Double> {
        var shapes: [[Int]] = []
        var weightPosition: Int?
        var biasPosition: Int?
        for parameter in parameters {
            if parameter == "weight" {
                weightPosition = shapes.count
                shapes.append([1, 2])
            } else {
                biasPosition = shapes.count
                shapes.append([1])
            }
        }
        let input = weightPosition == nil ? [:] : ["0": try Matrix<Double>(rows: 2, columns: 2, rowMajor: [1, 2, 2, 4])]
        return try KFACLinearOperator(
            parameterShapes: shapes,
            layers: [KFACLayer(name: "0", weightPosition: weightPosition, biasPosition: biasPosition)],
            inputCovariances: input,
            gradientCovariances: ["0": try Matrix(rows: 1, columns: 1, rowMajor: [2])],
            fisherType: .type2, kfacApproximation: .expand, separateWeightAndBias: true)
    }
}

/// Asserts that `body` throws a ``CurvlinopsError`` of `kind` whose message contains every phrase.
func assertThrowsCurvlinopsError<T>(
    _ body: @autoclosure () throws -> T, kind: CurvlinopsError.Kind, containing phrases: [String],
    _ context: String = "", file: StaticString = #filePath, line: UInt = #line
) {
    do {
        _ = try body()
        XCTFail("expected a \(kind) error, but nothing was thrown. \(context)", file: file, line: line)
    } catch let error as CurvlinopsError {
        XCTAssertEqual(error.kind, kind, "\(error.message) \(context)", file: file, line: line)
        for phrase in phrases {
            XCTAssertTrue(error.message.contains(phrase), "message \"\(error.message)\" lacks \"\(phrase)\". \(context)",
                          file: file, line: line)
        }
    } catch {
        XCTFail("expected a CurvlinopsError, got \(error). \(context)", file: file, line: line)
    }
}
