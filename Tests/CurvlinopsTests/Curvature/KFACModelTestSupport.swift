import Foundation
import XCTest
@testable import Curvlinops

/// Networks and helpers for the tests of KFAC and EKFAC built from a model.
enum KFACModelTestSupport {
    /// Linear(2 → 1) with weight [[0, 0]] and bias [0], one datum x = [1, 2],
    /// y = [0], MSE with `.sum`: the smallest case with known KFAC values.
    static func linearTwoToOne() throws -> (model: Sequential<Double>, data: [Batch<Double>]) {
        let model = try Sequential<Double>(
            [try Linear(inFeatures: 2, outFeatures: 1)],
            parameters: ["0.weight": try Tensor(shape: [1, 2], elements: [0, 0]),
                         "0.bias": try Tensor(shape: [1], elements: [0])])
        let batch = Batch(input: try Tensor(shape: [1, 2], elements: [1, 2]),
                          target: try Tensor(shape: [1, 1], elements: [0]))
        return (model, [batch])
    }

    /// Type-2 KFAC of ``linearTwoToOne()`` with weight and bias separate.
    static func linearTwoToOneKFAC(parameters: [String]) throws -> KFACLinearOperator<Double> {
        let (model, data) = try linearTwoToOne()
        return try KFACLinearOperator(
            model: model, loss: MSELoss(reduction: .sum), parameters: parameters, data: data,
            fisherType: .type2, separateWeightAndBias: true)
    }

    /// The problems of the `ekfac` fixtures, each with the parameters,
    /// weight-sharing treatment and weight–bias setting of its case.
    static func ekfacFixtureCases<Scalar: LapackScalar>(
        as type: Scalar.Type = Double.self
    ) throws -> [(id: String, problem: FixtureProblem<Scalar>, parameters: [String], approximation: KFACApproximation, separate: Bool)] {
        guard let file = try FixtureFile.files(ofFamily: "ekfac").first else {
            throw FixtureError("no ekfac fixture file")
        }
        return try fixtureArray(file.root["cases"], "cases").map { entry in
            let object = try fixtureObject(entry, "cases[]")
            let record = try fixtureObject(object["ekfac"], "ekfac")
            let arguments = try fixtureObject(record["constructor_arguments"], "constructor_arguments")
            return (id: try fixtureString(object["id"], "id"),
                    problem: try FixtureProblem<Scalar>(object["problem"], "problem"),
                    parameters: try fixtureArray(object["operator_params"], "operator_params").map { try fixtureString($0, "operator_params[]") },
                    approximation: try KroneckerFixtureCase.approximation(arguments),
                    separate: try KroneckerFixtureCase.separateWeightAndBias(arguments))
        }
    }

    /// Every corrected eigenvalue of a layer: the joint Λ, or the weight Λ followed by the bias λ.
    static func entries(of values: EKFACCorrectedEigenvalues<Double>) -> [Double] {
        switch values {
        case let .joint(matrix):
            return matrix.elements
        case let .separate(weight, bias):
            return (weight?.elements ?? []) + (bias ?? [])
        }
    }

    /// ‖a − b‖_F / ‖b‖_F.
    static func relativeDistance(_ a: Matrix<Double>, _ b: Matrix<Double>) throws -> Double {
        (try a - b).frobeniusNorm / b.frobeniusNorm
    }

    /// The entries of a Float matrix in double precision.
    static func double(_ matrix: Matrix<Float>) -> Matrix<Double> {
        try! Matrix(rows: matrix.rows, columns: matrix.columns, columnMajor: matrix.elements.map(Double.init))
    }
}

/// Records the reports of a progress handler, from any thread.
final class ProgressRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var reports: [[Int]] = []

    /// A handler that appends every report.
    var handler: KFACProgressHandler {
        { [self] completed, total in
            lock.lock()
            reports.append([completed, total])
            lock.unlock()
        }
    }

    /// The reports so far, each [completed batches, total batches].
    var recorded: [[Int]] {
        lock.lock()
        defer { lock.unlock() }
        return reports
    }
}

/// A parameterised layer that KFAC does not support: y = x ∘ w along the
/// last axis, with w of shape [features].
///
/// Only what building an operator needs is implemented (shapes and the
/// forward pass); the derivatives are never reached because KFAC rejects
/// the layer before any pass over the data.
struct ElementwiseScale: DifferentiableLayer {
    let features: Int

    var parameterShapes: [(name: String, shape: [Int])] { [(name: "weight", shape: [features])] }

    var description: String { "ElementwiseScale(features: \(features))" }

    func outputShape(forInput inputShape: [Int]) throws -> [Int] {
        guard inputShape.count >= 2, inputShape.last == features else {
            throw CurvlinopsError.shapeMismatch("\(self): got input shape \(inputShape); expected [batch, …, \(features)].")
        }
        return inputShape
    }

    func initialParameters<Scalar: LapackScalar, Generator: RandomNumberGenerator>(
        using generator: inout Generator
    ) -> [Tensor<Scalar>] {
        [Tensor(zeros: [features])]
    }

    func forward<Scalar: LapackScalar>(_ input: Tensor<Scalar>, parameters: [Tensor<Scalar>]) throws -> LayerRecord<Scalar> {
        var output = input
        output.withUnsafeMutableBufferPointer { y in
            for index in y.indices {
                y[index] *= parameters[0].elements[index % features]
            }
        }
        return LayerRecord(input: input, output: output, unfoldedInput: nil)
    }

    func jacobianVectorProduct<Scalar: LapackScalar>(
        _ record: LayerRecord<Scalar>, parameters: [Tensor<Scalar>],
        inputTangent: Tensor<Scalar>?, parameterTangents: [Tensor<Scalar>?], count: Int
    ) throws -> Tensor<Scalar>? {
        preconditionFailure("ElementwiseScale is only built, never differentiated")
    }

    func vectorJacobianProduct<Scalar: LapackScalar>(
        _ record: LayerRecord<Scalar>, parameters: [Tensor<Scalar>],
        outputCotangent: Tensor<Scalar>, count: Int, needsInput: Bool, needsParameters: [Bool]
    ) throws -> LayerCotangents<Scalar> {
        preconditionFailure("ElementwiseScale is only built, never differentiated")
    }

    func secondOrderTerms<Scalar: LapackScalar>(
        _ record: LayerRecord<Scalar>, parameters: [Tensor<Scalar>],
        outputGradient: Tensor<Scalar>, inputTangent: Tensor<Scalar>?,
        parameterTangents: [Tensor<Scalar>?], count: Int, needsInput: Bool, needsParameters: [Bool]
    ) throws -> LayerCotangents<Scalar> {
        preconditionFailure("ElementwiseScale is only built, never differentiated")
    }
}
