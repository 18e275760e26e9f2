import Curvlinops
import Foundation

/// The MLP problem of the KFAC workloads:
/// `Sequential(Linear(784 → 256), ReLU, Linear(256 → 128), ReLU, Linear(128 → 10))`,
/// 2,048 standard-normal inputs with labels uniform in 0..<10, batches of
/// 256, cross-entropy (mean).
///
/// The inputs and labels are drawn in double precision from fixed seeds and
/// rounded for `Float`, so both precisions time the same problem.
final class MLPProblem<Scalar: LapackScalar> {
    static var sampleCount: Int { 2048 }
    static var batchSize: Int { 256 }

    let model: Sequential<Scalar>
    let data: [Batch<Scalar>]
    let loss = CrossEntropyLoss(reduction: .mean)

    /// The layer sizes (d_out, d_in) of the three `Linear` layers.
    let layerSizes = [(256, 784), (128, 256), (10, 128)]

    private var typeTwoKFAC: KFACLinearOperator<Scalar>?

    init() throws {
        let layers: [any Layer] = [
            try Linear(inFeatures: 784, outFeatures: 256), ReLU(),
            try Linear(inFeatures: 256, outFeatures: 128), ReLU(),
            try Linear(inFeatures: 128, outFeatures: 10),
        ]
        model = try Sequential<Scalar>(layers, seed: 0)

        var generator = BenchRandom(seed: 1)
        let inputs = generator.standardNormals(Self.sampleCount * 784)
        let labels = (0..<Self.sampleCount).map { _ in Int.random(in: 0..<10, using: &generator) }
        data = try stride(from: 0, to: Self.sampleCount, by: Self.batchSize).map { start in
            let input = try Tensor(
                shape: [Self.batchSize, 784],
                elements: inputs[(start * 784)..<((start + Self.batchSize) * 784)].map { Scalar($0) })
            return Batch(input: input, classLabels: Array(labels[start..<(start + Self.batchSize)]))
        }
    }

    /// Type-2 KFAC on all samples, factors computed on first use and kept.
    func kfac() throws -> KFACLinearOperator<Scalar> {
        if let typeTwoKFAC {
            return typeTwoKFAC
        }
        let kfac = try CurvatureFactory.kfac(model: model, loss: loss, data: data, fisherType: .type2)
        typeTwoKFAC = kfac
        return kfac
    }

    /// Returns the flops of applying KFAC's inverse to k columns.
    ///
    /// Per layer, the weight block costs 2·k·(d_out²·d_in + d_out·d_in²) for
    /// the products with the d_out × d_out and d_in × d_in factors, and the
    /// bias block 2·k·d_out². The Cholesky modes multiply by each factor once
    /// (`multiplier` 1). The eigenbasis modes multiply by its eigenvectors
    /// twice (`multiplier` 2).
    func inverseApplyFlops(columns k: Int, multiplier: Double) -> Double {
        let perColumn = layerSizes.reduce(0.0) { sum, size in
            let (dOut, dIn) = (Double(size.0), Double(size.1))
            return sum + 2 * (dOut * dOut * dIn + dOut * dIn * dIn) + 2 * dOut * dOut
        }
        return multiplier * Double(k) * perColumn
    }

    /// The flops of damping and inverting every factor by `potrf` and `potri`: about d³ per factor of size d.
    var factorInversionFlops: Double {
        layerSizes.reduce(0.0) { sum, size in
            sum + pow(Double(size.0), 3) + pow(Double(size.1), 3)
        }
    }

    /// Draws a k-column matrix of standard normal entries from `seed`, rounded to `Scalar`.
    func randomColumns(_ k: Int, seed: UInt64) -> Matrix<Scalar> {
        var generator = BenchRandom(seed: seed)
        return convert(generator.gaussianMatrix(model.parameterCount, k, as: Double.self))
    }
}

/// The dense problem of the solver workloads: A = Q·diag(logspace(0, 3, n))·Qᵀ
/// with Q from the QR factorisation of a seeded Gaussian n × n matrix, and a
/// seeded Gaussian n × 4 right-hand side B; n = 1,000.
///
/// A has condition number 10³ and eigenvalues 10^(3i/(n−1)), i = 0 … n−1. It is
/// built in double precision and rounded for `Float`.
final class DenseProblem<Scalar: LapackScalar> {
    static var size: Int { 1000 }
    static var rightHandSides: Int { 4 }

    let matrix: Matrix<Scalar>
    let rightHandSide: Matrix<Scalar>

    init() throws {
        let n = Self.size
        var generator = BenchRandom(seed: 2)
        let q = try LAPACK.orthonormalFactor(ofQR: generator.gaussianMatrix(n, n, as: Double.self))
        let b = generator.gaussianMatrix(n, Self.rightHandSides, as: Double.self)

        var scaledQ = q
        scaledQ.withUnsafeMutableBufferPointer { entries in
            for j in 0..<n {
                let eigenvalue = pow(10, 3 * Double(j) / Double(n - 1))
                for i in 0..<n {
                    entries[i + j * n] *= eigenvalue
                }
            }
        }
        var a = Matrix<Double>(zeros: n, n)
        try BLAS.gemm(scaledQ, q, transposeB: true, into: &a)
        a.symmetrize()

        matrix = convert(a)
        rightHandSide = convert(b)
    }
}

/// The digits problem of the CG workloads: the main job's network at its
/// initial weights on all images in batches of 256, and GGN + 10⁻²·I.
final class DigitsGGNProblem {
    let damped: SumLinearOperator<Double>

    init(digits: DigitsDataSet) throws {
        let model = try DigitsTraining.makeModel(hiddenUnits: MainJobConfiguration.standard.hiddenUnits,
                                                 seed: MainJobConfiguration.standard.seed)
        let ggn = try GGNLinearOperator(model: model, loss: DigitsTraining.loss, parameters: model.parameterNames,
                                        data: digits.batches(of: 256))
        damped = try ggn + 1e-2 * IdentityLinearOperator<Double>(shapes: ggn.inputShapes)
    }

    /// Draws a k-column matrix of standard normal entries from `seed`.
    func randomColumns(_ k: Int, seed: UInt64) -> Matrix<Double> {
        var generator = BenchRandom(seed: seed)
        return generator.gaussianMatrix(damped.inputSize, k)
    }
}

/// Rounds a double-precision matrix to `Scalar`.
func convert<Scalar: LapackScalar>(_ matrix: Matrix<Double>) -> Matrix<Scalar> {
    // The entry count matches the shape by construction.
    try! Matrix(rows: matrix.rows, columns: matrix.columns, columnMajor: matrix.elements.map { Scalar($0) })
}
