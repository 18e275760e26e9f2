import XCTest
@testable import Curvlinops

/// Derivatives of the network substrate against central finite differences
/// and against each other, in double precision.
///
/// Tolerances: a central difference with step h = 1e-5 has truncation error
/// about h²·|f'''|/6 ≈ 1e-11 and rounding error about ε·|f|/h ≈ 1e-11 here,
/// so 1e-6 relative to the largest entry leaves a wide margin while still
/// catching any wrong term (those are of the size of the entries).
final class NetworkDerivativeTests: XCTestCase {
    private let step = 1e-5

    func testGradientMatchesFiniteDifferences() throws {
        for problem in try NetworkTestProblems.all() {
            let names = problem.model.parameterNames
            let theta = try problem.flatParameters(names)
            let (_, gradient) = try problem.lossAndGradient(names)

            var differences: [Double] = []
            for i in theta.indices {
                var plus = theta
                var minus = theta
                plus[i] += step
                minus[i] -= step
                let lossPlus = try problem.withFlatParameters(names, plus).lossAndGradient(names).loss
                let lossMinus = try problem.withFlatParameters(names, minus).lossAndGradient(names).loss
                differences.append((lossPlus - lossMinus) / (2 * step))
            }
            assertClose(gradient, differences, rtol: 1e-6, atol: 1e-9, "\(problem.name): gradient")
        }
    }

    func testHessianMatchesFiniteDifferencesOfGradient() throws {
        for problem in try NetworkTestProblems.all() {
            let names = problem.model.parameterNames
            let theta = try problem.flatParameters(names)
            let hessian = try HessianLinearOperator(
                model: problem.model, loss: problem.loss, parameters: names, data: problem.data).dense()

            var differences = Matrix<Double>(zeros: theta.count, theta.count)
            for i in theta.indices {
                var plus = theta
                var minus = theta
                plus[i] += step
                minus[i] -= step
                let gradientPlus = try problem.withFlatParameters(names, plus).lossAndGradient(names).gradient
                let gradientMinus = try problem.withFlatParameters(names, minus).lossAndGradient(names).gradient
                differences.setColumn(i, to: zip(gradientPlus, gradientMinus).map { ($0 - $1) / (2 * step) })
            }
            assertClose(hessian.elements, differences.elements, rtol: 1e-6, atol: 1e-9, "\(problem.name): Hessian")
        }
    }

    func testHessianVectorProductsMatchFiniteDifferences() throws {
        var generator = SeededGenerator(seed: 11)
        for problem in try NetworkTestProblems.all() {
            let names = problem.model.parameterNames
            let theta = try problem.flatParameters(names)
            let vectors = randomMatrix(theta.count, 3, using: &generator)
            let products = try HessianLinearOperator(
                model: problem.model, loss: problem.loss, parameters: names, data: problem.data).apply(vectors)

            for j in 0..<vectors.columns {
                let v = vectors.column(j)
                let plus = zip(theta, v).map { $0 + step * $1 }
                let minus = zip(theta, v).map { $0 - step * $1 }
                let gradientPlus = try problem.withFlatParameters(names, plus).lossAndGradient(names).gradient
                let gradientMinus = try problem.withFlatParameters(names, minus).lossAndGradient(names).gradient
                let differences = zip(gradientPlus, gradientMinus).map { ($0 - $1) / (2 * step) }
                assertClose(products.column(j), differences, rtol: 1e-6, atol: 1e-9, "\(problem.name): H·v column \(j)")
            }
        }
    }

    func testJacobianVectorProductsMatchFiniteDifferencesOfOutputs() throws {
        var generator = SeededGenerator(seed: 12)
        for problem in try NetworkTestProblems.all() {
            let names = problem.model.parameterNames
            let theta = try problem.flatParameters(names)
            let k = 2
            let vectors = randomMatrix(theta.count, k, using: &generator)
            let tangents = try blockTangents(problem, names: names, vectors: vectors)

            var products: [[Double]] = Array(repeating: [], count: k)
            for batch in problem.data {
                let pass = try problem.model.forwardPass(batch.input)
                let output = try problem.model.outputTangents(pass, parameterTangents: tangents, count: k)
                let size = pass.output.count
                for j in 0..<k {
                    products[j] += Array(output.elements[(j * size)..<((j + 1) * size)])
                }
            }

            for j in 0..<k {
                let v = vectors.column(j)
                let plus = try problem.withFlatParameters(names, zip(theta, v).map { $0 + step * $1 }).outputs()
                let minus = try problem.withFlatParameters(names, zip(theta, v).map { $0 - step * $1 }).outputs()
                let differences = zip(plus, minus).map { ($0 - $1) / (2 * step) }
                assertClose(products[j], differences, rtol: 1e-6, atol: 1e-9, "\(problem.name): J·v column \(j)")
            }
        }
    }

    /// ⟨u, J·v⟩ = ⟨Jᵀ·u, v⟩ for k stacked vectors on both sides.
    func testVectorJacobianProductIsAdjoint() throws {
        var generator = SeededGenerator(seed: 13)
        for problem in try NetworkTestProblems.all() {
            let names = problem.model.parameterNames
            let positions = Set(names.indices)
            let k = 3
            let vectors = randomMatrix(try problem.flatParameters(names).count, k, using: &generator)
            let tangents = try blockTangents(problem, names: names, vectors: vectors)

            for batch in problem.data {
                let pass = try problem.model.forwardPass(batch.input)
                let forward = try problem.model.outputTangents(pass, parameterTangents: tangents, count: k)
                let cotangents = randomTensor(stackedShape(pass.output.shape, count: k), using: &generator)
                let backward = try problem.model.vectorJacobianProducts(
                    pass, outputCotangents: cotangents, count: k, parameters: positions)

                let size = pass.output.count
                for j in 0..<k {
                    var left = 0.0
                    for i in 0..<size { left += cotangents.elements[j * size + i] * forward.elements[j * size + i] }
                    var right = 0.0
                    for (position, tangent) in tangents {
                        let block = backward.parameters[position]!
                        let blockSize = tangent.count / k
                        for i in 0..<blockSize {
                            right += block.elements[j * blockSize + i] * tangent.elements[j * blockSize + i]
                        }
                    }
                    XCTAssertEqual(left, right, accuracy: 1e-12 * max(1, abs(left)), "\(problem.name): vector \(j)")
                }
            }
        }
    }

    /// Returns the columns of `vectors` as stacked parameter tangents keyed by parameter position.
    private func blockTangents(
        _ problem: NetworkProblem<Double>, names: [String], vectors: Matrix<Double>
    ) throws -> [Int: Tensor<Double>] {
        var tangents: [Int: Tensor<Double>] = [:]
        var offset = 0
        for (position, name) in names.enumerated() {
            let shape = try problem.model.parameter(named: name).shape
            let size = shape.reduce(1, *)
            var values: [Double] = []
            for j in 0..<vectors.columns {
                values += vectors.column(j)[offset..<(offset + size)]
            }
            tangents[position] = try Tensor(shape: [vectors.columns] + shape, elements: values)
            offset += size
        }
        return tangents
    }
}
