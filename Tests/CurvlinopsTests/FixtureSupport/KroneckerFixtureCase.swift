import Foundation
@testable import Curvlinops

/// Builds KFAC and EKFAC operators from the factors stored in a fixture case,
/// with the layer mapping, parameter layout and constructor arguments it records.
enum KroneckerFixtureCase {
    /// Reads the parameter shapes from a case's `layout`, in flat order.
    static func parameterShapes(_ layout: Any?) throws -> [[Int]] {
        try fixtureArray(layout, "layout").map { entry in
            let object = try fixtureObject(entry, "layout[]")
            return try fixtureArray(object["shape"], "layout[].shape").map { try fixtureInt($0, "layout[].shape") }
        }
    }

    /// Reads the layers from a `mapping` object, ordered by their first parameter position.
    static func layers(_ mapping: Any?) throws -> [KFACLayer] {
        let object = try fixtureObject(mapping, "mapping")
        let layers = try object.map { name, value in
            let positions = try fixtureObject(value, "mapping.\(name)")
            return KFACLayer(
                name: name,
                weightPosition: try positions["weight"].map { try fixtureInt($0, "mapping.\(name).weight") },
                biasPosition: try positions["bias"].map { try fixtureInt($0, "mapping.\(name).bias") })
        }
        return layers.sorted {
            min($0.weightPosition ?? .max, $0.biasPosition ?? .max) < min($1.weightPosition ?? .max, $1.biasPosition ?? .max)
        }
    }

    /// Reads a `{layer: tensor}` object as matrices.
    static func matrices<Scalar: LapackScalar>(_ value: Any?, _ key: String, as type: Scalar.Type = Double.self) throws -> [String: Matrix<Scalar>] {
        var result: [String: Matrix<Scalar>] = [:]
        for (name, tensor) in try fixtureObject(value, key) {
            result[name] = try FixtureTensor(tensor, "\(key).\(name)").matrix(Scalar.self)
        }
        return result
    }

    /// Reads the recorded `fisher_type`.
    static func fisherType(_ arguments: [String: Any]) throws -> FisherType {
        switch arguments["fisher_type"] as? String {
        case "type-2": return .type2
        case "empirical": return .empirical
        case "forward-only": return .forwardOnly
        case "mc": return .monteCarlo(samples: 1, seed: 2_147_483_647)
        case let other: throw FixtureError("unknown fisher_type \(String(describing: other))")
        }
    }

    /// Reads the recorded `kfac_approx`.
    static func approximation(_ arguments: [String: Any]) throws -> KFACApproximation {
        guard let text = arguments["kfac_approx"] as? String, let value = KFACApproximation(rawValue: text) else {
            throw FixtureError("unknown kfac_approx \(String(describing: arguments["kfac_approx"]))")
        }
        return value
    }

    /// Reads the recorded `separate_weight_and_bias`.
    static func separateWeightAndBias(_ arguments: [String: Any]) throws -> Bool {
        guard let value = arguments["separate_weight_and_bias"] as? Bool else {
            throw FixtureError("`separate_weight_and_bias` is missing or not a boolean")
        }
        return value
    }

    /// KFAC from the factors of an object holding `mapping`, `input_covariances`
    /// and `gradient_covariances`, with the parameter `layout` of its case.
    static func kfac<Scalar: LapackScalar>(
        factorsIn object: [String: Any], layout: Any?, arguments: [String: Any], as type: Scalar.Type = Double.self
    ) throws -> KFACLinearOperator<Scalar> {
        try KFACLinearOperator<Scalar>(
            parameterShapes: parameterShapes(layout),
            layers: layers(object["mapping"]),
            inputCovariances: matrices(object["input_covariances"], "input_covariances", as: Scalar.self),
            gradientCovariances: matrices(object["gradient_covariances"], "gradient_covariances", as: Scalar.self),
            fisherType: fisherType(arguments),
            kfacApproximation: approximation(arguments),
            separateWeightAndBias: separateWeightAndBias(arguments))
    }

    /// EKFAC from the factors and the corrected eigenvalues stored under `eigenvaluesKey`.
    static func ekfac(
        factorsIn object: [String: Any], eigenvaluesKey: String, layout: Any?, arguments: [String: Any]
    ) throws -> EKFACLinearOperator<Double> {
        var corrected: [String: EKFACCorrectedEigenvalues<Double>] = [:]
        for (name, value) in try fixtureObject(object[eigenvaluesKey], eigenvaluesKey) {
            let parts = try fixtureObject(value, "\(eigenvaluesKey).\(name)")
            if let joint = parts["joint"] {
                corrected[name] = .joint(try FixtureTensor(joint, "\(name).joint").matrix())
            } else {
                let weight = try parts["weight"].map { try FixtureTensor($0, "\(name).weight").matrix(Double.self) }
                let bias = try parts["bias"].map { try FixtureTensor($0, "\(name).bias").data }
                corrected[name] = .separate(weight: weight, bias: bias)
            }
        }
        return try EKFACLinearOperator(
            parameterShapes: parameterShapes(layout),
            layers: layers(object["mapping"]),
            inputCovariances: matrices(object["input_covariances"], "input_covariances"),
            gradientCovariances: matrices(object["gradient_covariances"], "gradient_covariances"),
            correctedEigenvalues: corrected,
            fisherType: fisherType(arguments),
            kfacApproximation: approximation(arguments),
            separateWeightAndBias: separateWeightAndBias(arguments))
    }
}
