import Foundation
import XCTest
@testable import Curvlinops

final class EKFACLinearOperatorTests: XCTestCase {
    /// Corrected eigenvalues drawn at random, in the layout the problem's layers need.
    static func correctedEigenvalues(
        for problem: KroneckerTestSupport.Problem, seed: UInt64 = 21
    ) -> [String: EKFACCorrectedEigenvalues<Double>] {
        var generator = SeededGenerator(seed: seed)
        func values(_ rows: Int, _ columns: Int) -> Matrix<Double> {
            var matrix = KroneckerTestSupport.randomMatrix(rows, columns, &generator)
            for index in matrix.elements.indices {
                matrix.elements[index] = abs(matrix.elements[index]) + 0.05
            }
            return matrix
        }
        var result: [String: EKFACCorrectedEigenvalues<Double>] = [:]
        for layer in problem.layers {
            let rows = problem.gradient[layer.name]!.rows
            let joint = !problem.separateWeightAndBias && layer.weightPosition != nil && layer.biasPosition != nil
            if joint {
                result[layer.name] = .joint(values(rows, problem.input[layer.name]!.rows))
            } else {
                let weight = layer.weightPosition.map { _ in values(rows, problem.input[layer.name]!.rows) }
                let bias = layer.biasPosition.map { _ in values(rows, 1).elements }
                result[layer.name] = .separate(weight: weight, bias: bias)
            }
        }
        return result
    }

    static func ekfac(
        _ problem: KroneckerTestSupport.Problem, _ corrected: [String: EKFACCorrectedEigenvalues<Double>]
    ) throws -> EKFACLinearOperator<Double> {
        try EKFACLinearOperator(
            parameterShapes: problem.parameterShapes, layers: problem.layers, inputCovariances: problem.input,
            gradientCovariances: problem.gradient, correctedEigenvalues: corrected,
            separateWeightAndBias: problem.separateWeightAndBias)
    }

    /// Returns the scaling matrix of one block from the corrected eigenvalues.
    static func scaling(_ corrected: EKFACCorrectedEigenvalues<Double>, _ part: KroneckerBlock.Kind) -> Matrix<Double> {
        switch (corrected, part) {
        case let (.joint(values), _): return values
        case let (.separate(weight, _), .weight): return weight!
        case let (.separate(_, bias), _): return try! Matrix(rows: bias!.count, columns: 1, columnMajor: bias!)
        }
    }

    /// kron(Q_G, Q_A)·diag(vec Λ)·kron(Q_G, Q_A)ᵀ, built densely.
    static func referenceBlock(
        _ problem: KroneckerTestSupport.Problem, _ corrected: [String: EKFACCorrectedEigenvalues<Double>],
        layer: String, part: KroneckerBlock.Kind, transform: (Double) -> Double = { $0 }
    ) throws -> Matrix<Double> {
        let qG = try LAPACK.syevd(problem.gradient[layer]!).eigenvectors
        let qA = part == .bias ? Matrix<Double>.identity(1) : try LAPACK.syevd(problem.input[layer]!).eigenvectors
        let q = KroneckerTestSupport.kron(qG, qA)
        let lambda = scaling(corrected[layer]!, part).rowMajorElements.map(transform)
        return try q * Matrix.diagonal(lambda) * q.transposed
    }

    func testApplyMatchesDenseEigenbasisBlocks() throws {
        for separate in [true, false] {
            let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: separate, seed: 4)
            let corrected = Self.correctedEigenvalues(for: problem)
            let ekfac = try Self.ekfac(problem, corrected)
            let reference = problem.dense { layer, part in
                try! Self.referenceBlock(problem, corrected, layer: layer, part: part)
            }
            var generator = SeededGenerator(seed: 9)
            let x = KroneckerTestSupport.randomMatrix(problem.size, 4, &generator)
            XCTAssertLessThan(KroneckerTestSupport.relativeError(try ekfac.apply(x), try reference * x), 1e-13,
                              "separateWeightAndBias = \(separate)")
        }
    }

    func testKroneckerEigenvaluesReproduceKFAC() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: false, seed: 8)
        var corrected: [String: EKFACCorrectedEigenvalues<Double>] = [:]
        for layer in problem.layers {
            let gradient = try LAPACK.syevd(problem.gradient[layer.name]!).eigenvalues
            guard let input = try problem.input[layer.name].map({ try LAPACK.syevd($0).eigenvalues }) else {
                corrected[layer.name] = .separate(weight: nil, bias: gradient)
                continue
            }
            var product = Matrix<Double>(zeros: gradient.count, input.count)
            for i in gradient.indices {
                for j in input.indices {
                    product[i, j] = gradient[i] * input[j]
                }
            }
            corrected[layer.name] = layer.biasPosition == nil ? .separate(weight: product, bias: nil) : .joint(product)
        }
        let ekfac = try Self.ekfac(problem, corrected)
        XCTAssertLessThan(KroneckerTestSupport.relativeError(try ekfac.dense(), try problem.kfac().dense()), 1e-13)
        XCTAssertEqual(try ekfac.trace(), try problem.kfac().trace(), accuracy: 1e-12)
    }

    func testMatrixFunctionsMatchDenseComputations() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: true, seed: 12)
        let ekfac = try Self.ekfac(problem, Self.correctedEigenvalues(for: problem))
        let dense = try ekfac.dense()
        let eigenvalues = try LAPACK.syevd(dense).eigenvalues
        let trace = (0..<dense.rows).reduce(0.0) { $0 + dense[$1, $1] }
        XCTAssertEqual(try ekfac.trace(), trace, accuracy: 1e-12 * trace)
        XCTAssertEqual(try ekfac.frobeniusNorm(), dense.frobeniusNorm, accuracy: 1e-12 * dense.frobeniusNorm)
        let logDeterminant = eigenvalues.reduce(0.0) { $0 + log($1) }
        XCTAssertEqual(try ekfac.logDeterminant(), logDeterminant, accuracy: 1e-10 * abs(logDeterminant))
        XCTAssertEqual(try ekfac.determinant(), exp(logDeterminant), accuracy: 1e-9 * exp(logDeterminant))
    }

    func testZeroCorrectedEigenvalueGivesZeroDeterminant() throws {
        let ekfac = try EKFACLinearOperator<Double>(
            parameterShapes: [[2]], layers: [KFACLayer(name: "b", biasPosition: 0)], inputCovariances: [:],
            gradientCovariances: ["b": .identity(2)], correctedEigenvalues: ["b": .separate(weight: nil, bias: [0, 3])])
        XCTAssertEqual(try ekfac.logDeterminant(), -.infinity)
        XCTAssertEqual(try ekfac.determinant(), 0)
        XCTAssertEqual(try ekfac.trace(), 3)
    }

    func testInvalidCorrectedEigenvaluesThrow() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: false)
        var corrected = Self.correctedEigenvalues(for: problem)
        func check(_ values: [String: EKFACCorrectedEigenvalues<Double>], _ kind: CurvlinopsError.Kind, _ phrases: [String]) {
            assertThrowsCurvlinopsError(try Self.ekfac(problem, values), kind: kind, containing: phrases)
        }

        corrected["linear"] = .separate(weight: Matrix(zeros: 4, 6), bias: [1, 1, 1, 1])
        check(corrected, .invalidArgument, ["is .separate", "layer \"linear\" is joint"])
        corrected["linear"] = .joint(Matrix(zeros: 4, 6))
        check(corrected, .shapeMismatch, ["correctedEigenvalues[\"linear\"] is 4 × 6", "expected 4 × 7"])
        corrected["linear"] = .joint(Matrix(zeros: 4, 7))

        corrected["conv"] = .joint(Matrix(zeros: 3, 9))
        check(corrected, .invalidArgument, ["is .joint", "\"conv\" is not joint"])
        corrected["conv"] = .separate(weight: nil, bias: nil)
        check(corrected, .invalidArgument, ["no weight eigenvalues"])
        corrected["conv"] = .separate(weight: Matrix(zeros: 3, 8), bias: [1, 1, 1])
        check(corrected, .invalidArgument, ["has bias eigenvalues", "does not cover the bias"])
        var negative = Matrix<Double>(zeros: 3, 8)
        negative[1, 2] = -1
        corrected["conv"] = .separate(weight: negative, bias: nil)
        check(corrected, .invalidArgument, ["negative value -1.0", "≥ 0"])
        var nonFinite = Matrix<Double>(zeros: 3, 8)
        nonFinite[0, 0] = .nan
        corrected["conv"] = .separate(weight: nonFinite, bias: nil)
        check(corrected, .nonFiniteValue, ["correctedEigenvalues[\"conv\"].weight"])
        corrected["conv"] = .separate(weight: Matrix(zeros: 3, 8), bias: nil)

        corrected["head"] = .separate(weight: nil, bias: [1, 2])
        check(corrected, .shapeMismatch, ["correctedEigenvalues[\"head\"].bias is 2 × 1", "expected 5 × 1"])
        corrected["head"] = nil
        check(corrected, .invalidArgument, ["no entry for layer \"head\""])
        corrected["head"] = .separate(weight: nil, bias: [1, 1, 1, 1, 1])
        corrected["extra"] = .separate(weight: nil, bias: [1])
        check(corrected, .invalidArgument, ["\"extra\", which is not a layer"])
    }

    func testEigenvectorsAndEigenvaluesAreReadable() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: true)
        let corrected = Self.correctedEigenvalues(for: problem)
        let ekfac = try Self.ekfac(problem, corrected)
        XCTAssertEqual(Set(try ekfac.inputCovarianceEigenvectors.keys), ["linear", "conv"])
        XCTAssertEqual(Set(try ekfac.gradientCovarianceEigenvectors.keys), ["linear", "conv", "head"])
        XCTAssertEqual(try ekfac.correctedEigenvalues, corrected)
        XCTAssertEqual(try ekfac.inputCovariances["conv"], problem.input["conv"])
        let q = try ekfac.gradientCovarianceEigenvectors["head"]!
        XCTAssertLessThan(KroneckerTestSupport.relativeError(try q.transposed * q, .identity(5)), 1e-14)
    }

    func testLazyDataIsComputedOnceAndChecked() throws {
        let problem = KroneckerTestSupport.Problem.make(separateWeightAndBias: true)
        let corrected = Self.correctedEigenvalues(for: problem)
        let calls = LockedValue(0)
        let ekfac = try EKFACLinearOperator<Double>(
            parameterShapes: problem.parameterShapes, layers: problem.layers, fisherType: .type2,
            kfacApproximation: .expand, separateWeightAndBias: true
        ) {
            calls.withLock { $0 += 1 }
            return (KFACFactors(inputCovariances: problem.input, gradientCovariances: problem.gradient), nil, corrected)
        }
        XCTAssertEqual(calls.value, 0)
        let results = LockedValue<[Matrix<Double>]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            let result = try! ekfac.dense()
            results.withLock { $0.append(result) }
        }
        XCTAssertEqual(calls.value, 1)
        for result in results.value {
            XCTAssertEqual(result, results.value[0])
        }
        XCTAssertEqual(results.value[0], try Self.ekfac(problem, corrected).dense())
    }

    /// EKFAC's dense matrix and matrix functions for every case of the EKFAC fixture, from the stored factors
    /// and corrected eigenvalues.
    func testFixtureCorrectedEigenvaluesGiveFixtureDenseMatrix() throws {
        var checked = 0
        for file in try FixtureFile.files(ofFamily: "ekfac") {
            for entry in try fixtureArray(file.root["cases"], "cases") {
                let object = try fixtureObject(entry, "cases[]")
                let id = "\(file.name) case \(object["id"] as? String ?? "?")"
                let record = try fixtureObject(object["ekfac"], "ekfac")
                let arguments = try fixtureObject(record["constructor_arguments"], "constructor_arguments")
                let ekfac = try KroneckerFixtureCase.ekfac(
                    factorsIn: record, eigenvaluesKey: "corrected_eigenvalues", layout: object["layout"], arguments: arguments)
                let dense = try FixtureTensor(record["dense"], "dense")
                if let mismatch = fixtureMismatch(try ekfac.dense().rowMajorElements, dense.data, rtol: 1e-9, atol: 1e-13) {
                    XCTFail("\(id): dense: \(mismatch)")
                }
                let trace = try fixtureDouble(record["trace"], "trace")
                XCTAssertNil(fixtureMismatch([try ekfac.trace()], [trace], rtol: 1e-10, atol: 0), "\(id): trace")
                let norm = try fixtureDouble(record["frobenius_norm"], "frobenius_norm")
                XCTAssertNil(fixtureMismatch([try ekfac.frobeniusNorm()], [norm], rtol: 1e-10, atol: 0), "\(id): norm")
                let bound = try fixtureDouble(record["logdet_upper_bound"], "logdet_upper_bound")
                let logDeterminant = try ekfac.logDeterminant()
                if record["corrected_eigenvalues_singular"] as? Bool ?? true {
                    XCTAssertTrue(logDeterminant == -.infinity || logDeterminant <= bound + 1e-8 * abs(bound),
                                  "\(id): logdet \(logDeterminant) above \(bound)")
                } else {
                    let expected = try fixtureDouble(record["logdet"], "logdet")
                    XCTAssertNil(fixtureMismatch([logDeterminant], [expected], rtol: 1e-9, atol: 1e-8), "\(id): logdet")
                    let determinant = try fixtureDouble(record["det"], "det")
                    XCTAssertNil(fixtureMismatch([try ekfac.determinant()], [determinant], rtol: 1e-8, atol: 0), "\(id): det")
                }
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 0)
    }
}
