import Foundation
import XCTest
import Curvlinops

/// Runs every example of the user guide, `docs/guide.md`, so that none can
/// stop compiling or change its results unnoticed.
///
/// The code between a `// Guide example` line and the next
/// `// End of guide example.` line is one code block of the guide, character
/// for character once the indentation is removed. `testGuideBlocksMatchExamples`
/// checks that. The assertions after each block are not part of the guide.
final class GuideExamplesTests: XCTestCase {
    func testOperatorsExample() throws {
        // Guide example: operators
        // A 3 × 3 symmetric positive-definite matrix as an operator.
        let a = try Matrix<Double>(rows: 3, columns: 3, rowMajor: [4, 1, 0, 1, 3, 1, 0, 1, 2])
        let dense = try DenseLinearOperator(a)
        let identity = try IdentityLinearOperator<Double>(size: 3)
        let diagonal = try DiagonalLinearOperator<Double>([1, 2, 3])

        // Sums, scalar multiples and compositions are operators too, applied lazily.
        let damped = try dense + 0.5 * identity
        let product = try diagonal * damped

        let y = try damped.apply([1, 0, 0])                // one vector
        let x = Matrix<Double>.identity(3)                 // k = 3 vectors as columns
        let images = try product.apply(x)                  // 3 × 3
        let matrix = try product.dense()                   // the same, materialised
        let transposed = try product.adjoint().dense()     // (D·(A + 0.5·I))ᵀ
        // End of guide example.

        XCTAssertEqual(y, [4.5, 1, 0])
        XCTAssertEqual(images, matrix)
        XCTAssertEqual(matrix[1, 0], 2 * 1)
        XCTAssertEqual(matrix[2, 2], 3 * 2.5)
        XCTAssertEqual(transposed, matrix.transposed)
    }

    func testNetworkExample() throws {
        // Guide example: network
        // Two batches of 4-feature inputs with class labels in 0..<3.
        let input0 = try Tensor<Double>(shape: [5, 4], elements: (0..<20).map { Double($0 % 7) / 7 })
        let input1 = try Tensor<Double>(shape: [3, 4], elements: (0..<12).map { Double($0 % 5) / 5 })
        let data = [
            Batch(input: input0, classLabels: [0, 2, 1, 1, 0]),
            Batch(input: input1, classLabels: [2, 0, 1]),
        ]

        // Linear(4 → 6), Tanh, Linear(6 → 3) with a seeded default initialisation.
        let model = try Sequential<Double>([
            try Linear(inFeatures: 4, outFeatures: 6), Tanh(),
            try Linear(inFeatures: 6, outFeatures: 3),
        ], seed: 0)
        let loss = CrossEntropyLoss(reduction: .mean)

        let logits = try model(input0)                     // [5, 3]
        let batchLoss = try loss(logits, data[0].target)
        print(model.parameterNames)                        // ["0.weight", "0.bias", "2.weight", "2.bias"]
        // End of guide example.

        XCTAssertEqual(logits.shape, [5, 3])
        XCTAssertGreaterThan(batchLoss, 0)
        XCTAssertTrue(batchLoss.isFinite)
        XCTAssertEqual(model.parameterNames, ["0.weight", "0.bias", "2.weight", "2.bias"])
        XCTAssertEqual(model.parameterCount, 4 * 6 + 6 + 6 * 3 + 3)
    }

    func testCurvatureExample() throws {
        let (model, data) = try Self.problem()

        // Guide example: curvature
        let parameters = model.parameterNames              // all of them, in this order
        let ggn = try GGNLinearOperator(model: model, loss: CrossEntropyLoss(), parameters: parameters, data: data)
        let hessian = try HessianLinearOperator(model: model, loss: CrossEntropyLoss(), parameters: parameters, data: data)
        let fisher = try EFLinearOperator(model: model, loss: CrossEntropyLoss(), parameters: parameters, data: data)
        let monteCarlo = try FisherMCLinearOperator(
            model: model, loss: CrossEntropyLoss(), parameters: parameters, data: data, samples: 4, seed: 1)

        let (gradient, loss) = try ggn.gradientAndLoss()   // ∇L and L over all batches
        let curvatureTimesGradient = try ggn.apply(gradient)
        let vectors = Matrix<Double>.identity(ggn.inputSize)
        let columns = try hessian.apply(vectors)           // P × P, all columns in one call

        // Only the last layer's weight: a 3·6 = 18-dimensional operator.
        let lastLayer = try GGNLinearOperator(model: model, loss: CrossEntropyLoss(), parameters: ["2.weight"], data: data)
        // End of guide example.

        XCTAssertEqual(gradient.count, 51)
        XCTAssertTrue(loss > 0)
        XCTAssertEqual(curvatureTimesGradient.count, 51)
        XCTAssertEqual(columns, try hessian.dense())
        XCTAssertEqual(try fisher.dense().rows, 51)
        XCTAssertEqual(try monteCarlo.dense().rows, 51)
        XCTAssertEqual(lastLayer.inputShapes, [[3, 6]])
        // The GGN's block of the last weight is the operator on that weight alone.
        let full = try ggn.dense()
        let block = try lastLayer.dense()
        for i in 0..<18 {
            for j in 0..<18 {
                XCTAssertEqual(block[i, j], full[30 + i, 30 + j], accuracy: 1e-13)
            }
        }
    }

    func testKFACExample() throws {
        let (model, data) = try Self.problem()
        let vectors = Matrix<Double>.identity(model.parameterCount)

        // Guide example: kfac
        let kfac = try KFACLinearOperator(
            model: model, loss: CrossEntropyLoss(), parameters: model.parameterNames, data: data,
            fisherType: .type2, progress: { done, total in print("KFAC: batch \(done) of \(total)") })
        let approximation = try kfac.apply(vectors)        // two gemms per block
        let inputFactor = try kfac.inputCovariances["0"]!  // A of layer 0: 4 × 4
        let trace = try kfac.trace()                       // from the factors, never densified

        let ekfac = try EKFACLinearOperator(
            model: model, loss: CrossEntropyLoss(), parameters: model.parameterNames, data: data,
            fisherType: .type2)
        try ekfac.computeEigenvalueCorrection()            // choose when the two passes run
        // End of guide example.

        XCTAssertEqual(approximation, try kfac.dense())
        XCTAssertEqual([inputFactor.rows, inputFactor.columns], [4, 4])
        let dense = try kfac.dense()
        XCTAssertEqual(trace, (0..<dense.rows).reduce(0) { $0 + dense[$1, $1] }, accuracy: 1e-12)
        XCTAssertEqual(try ekfac.dense().rows, model.parameterCount)
    }

    func testIterativeInversesExample() throws {
        let (model, data) = try Self.problem()

        // Guide example: iterative inverses
        let ggn = try GGNLinearOperator(model: model, loss: CrossEntropyLoss(), parameters: model.parameterNames, data: data)
        let damped = try ggn + 1e-2 * IdentityLinearOperator<Double>(shapes: ggn.inputShapes)
        let (gradient, _) = try ggn.gradientAndLoss()
        let g = try Matrix(rows: gradient.count, columns: 1, columnMajor: gradient)

        let cg = try CGInverseLinearOperator(damped, maxIterations: 500, tolerance: 1e-10)
        let result = try cg.solve(g)                       // solution and report
        print(result.report.columns[0].iterations, result.report.columns[0].relativeResidualNorm)

        let lsmr = try LSMRInverseLinearOperator(damped, atol: 1e-10, btol: 1e-10)
        let neumann = try NeumannInverseLinearOperator(damped, terms: 200, estimatingScale: NeumannScaleEstimation())
        let viaLSMR = try lsmr.apply(g)
        let viaNeumann = try neumann.apply(g)
        // End of guide example.

        var matrix = try ggn.dense()
        for i in 0..<matrix.rows {
            matrix[i, i] += 1e-2
        }
        let exact = try LAPACK.gesv(matrix, g)
        XCTAssertTrue(result.report.allConverged)
        XCTAssertLessThan(relativeDifference(result.solution, exact), 1e-7)
        XCTAssertLessThan(relativeDifference(viaLSMR, exact), 1e-5)
        XCTAssertTrue(viaNeumann.isFinite)
        XCTAssertEqual(neumann.lastReport?.columns[0].iterations, 200)
    }

    func testKFACInverseExample() throws {
        let (model, data) = try Self.problem()
        let ggn = try GGNLinearOperator(model: model, loss: CrossEntropyLoss(), parameters: model.parameterNames, data: data)
        let damped = try ggn + 1e-2 * IdentityLinearOperator<Double>(shapes: ggn.inputShapes)
        let g = try Matrix(rows: ggn.inputSize, columns: 1, columnMajor: try ggn.gradientAndLoss().gradient)
        let kfac = try KFACLinearOperator(
            model: model, loss: CrossEntropyLoss(), parameters: model.parameterNames, data: data, fisherType: .type2)

        // Guide example: kfac inverse
        let exact = try KFACInverseLinearOperator(kfac, damping: .exact(1e-2))          // (KFAC + λI)⁻¹
        let cholesky = try KFACInverseLinearOperator(kfac, damping: .scalar(1e-2))      // (G + λI)⁻¹ ⊗ (A + λI)⁻¹
        let heuristic = try KFACInverseLinearOperator(kfac, damping: .heuristic(1e-2))  // Martens and Grosse
        let step = try exact.apply(g)
        print(exact.report!.layers.map(\.smallestDampedEigenvalue))

        // KFAC's inverse as a preconditioner for CG on the damped GGN.
        let preconditioned = try CGInverseLinearOperator(damped, tolerance: 1e-10, preconditioner: exact)
        let solution = try preconditioned.solve(g)
        // End of guide example.

        var matrix = try kfac.dense()
        for i in 0..<matrix.rows {
            matrix[i, i] += 1e-2
        }
        XCTAssertLessThan(relativeDifference(step, try LAPACK.gesv(matrix, g)), 1e-9)
        XCTAssertTrue(try cholesky.apply(g).isFinite)
        XCTAssertTrue(try heuristic.apply(g).isFinite)
        var dampedMatrix = try ggn.dense()
        for i in 0..<dampedMatrix.rows {
            dampedMatrix[i, i] += 1e-2
        }
        XCTAssertTrue(solution.report.allConverged)
        XCTAssertLessThan(relativeDifference(solution.solution, try LAPACK.gesv(dampedMatrix, g)), 1e-7)
    }

    func testErrorsExample() throws {
        let dense = try DenseLinearOperator(Matrix<Double>.identity(3))
        var printed: [String] = []
        func print(_ items: Any...) {
            printed.append(items.map { "\($0)" }.joined(separator: " "))
        }

        // Guide example: errors
        do {
            _ = try dense.apply([1, 2])
        } catch let error as CurvlinopsError {
            print(error.kind, error.message)   // shapeMismatch, "… x has 2 entries; expected inputSize = 3 …"
        }
        // End of guide example.

        XCTAssertEqual(printed.count, 1)
        XCTAssertTrue(printed[0].hasPrefix("shapeMismatch"), printed[0])
        XCTAssertTrue(printed[0].contains("x has 2 entries; expected inputSize = 3"), printed[0])
    }

    func testGuideBlocksMatchExamples() throws {
        let thisFile = URL(fileURLWithPath: #filePath)
        let root = thisFile.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let guide = try String(contentsOf: root.appendingPathComponent("docs/guide.md"), encoding: .utf8)
        let source = try String(contentsOf: thisFile, encoding: .utf8)

        let guideBlocks = guide.components(separatedBy: "```swift\n").dropFirst().map {
            $0.components(separatedBy: "```")[0].trimmingCharacters(in: .newlines)
        }
        var exampleBlocks: [String] = []
        var current: [String]?
        for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
            let code = line.drop { $0 == " " }
            if code.hasPrefix("// Guide example") {
                current = []
            } else if code == "// End of guide example." {
                exampleBlocks.append(current!.joined(separator: "\n"))
                current = nil
            } else if current != nil {
                current!.append(line.count >= 8 ? String(line.dropFirst(8)) : String(code))
            }
        }
        XCTAssertEqual(guideBlocks.count, exampleBlocks.count, "code blocks in docs/guide.md vs examples here")
        for (index, (documented, tested)) in zip(guideBlocks, exampleBlocks).enumerated() {
            XCTAssertEqual(documented, tested, "guide block \(index) differs from its example")
        }
    }

    /// Returns the network and data of the guide's examples.
    static func problem() throws -> (Sequential<Double>, [Batch<Double>]) {
        let input0 = try Tensor<Double>(shape: [5, 4], elements: (0..<20).map { Double($0 % 7) / 7 })
        let input1 = try Tensor<Double>(shape: [3, 4], elements: (0..<12).map { Double($0 % 5) / 5 })
        let data = [
            Batch(input: input0, classLabels: [0, 2, 1, 1, 0]),
            Batch(input: input1, classLabels: [2, 0, 1]),
        ]
        let model = try Sequential<Double>([
            try Linear(inFeatures: 4, outFeatures: 6), Tanh(),
            try Linear(inFeatures: 6, outFeatures: 3),
        ], seed: 0)
        return (model, data)
    }
}
