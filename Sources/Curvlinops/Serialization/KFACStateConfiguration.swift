import Foundation

/// The configuration of a KFAC or EKFAC operator as the state header stores it.
struct KFACStateConfiguration: Codable, Equatable {
    /// `type-2`, `mc`, `empirical` or `forward-only`, curvlinops' spelling.
    let fisherType: String
    let monteCarloSamples: Int?
    let monteCarloSeed: UInt64?
    /// `expand` or `reduce`.
    let kfacApproximation: String
    let separateWeightAndBias: Bool

    init(fisherType: FisherType, kfacApproximation: KFACApproximation, separateWeightAndBias: Bool) {
        switch fisherType {
        case .type2:
            (self.fisherType, monteCarloSamples, monteCarloSeed) = ("type-2", nil, nil)
        case let .monteCarlo(samples, seed):
            (self.fisherType, monteCarloSamples, monteCarloSeed) = ("mc", samples, seed)
        case .empirical:
            (self.fisherType, monteCarloSamples, monteCarloSeed) = ("empirical", nil, nil)
        case .forwardOnly:
            (self.fisherType, monteCarloSamples, monteCarloSeed) = ("forward-only", nil, nil)
        }
        self.kfacApproximation = kfacApproximation.rawValue
        self.separateWeightAndBias = separateWeightAndBias
    }

    /// Returns the Fisher type, or throws for a value this library does not know.
    func decodedFisherType(owner: String) throws -> FisherType {
        switch fisherType {
        case "type-2": return .type2
        case "empirical": return .empirical
        case "forward-only": return .forwardOnly
        case "mc":
            guard let samples = monteCarloSamples, let seed = monteCarloSeed else {
                throw StateReader.error(owner, "the Fisher type \"mc\" comes without monteCarloSamples and monteCarloSeed; the file is corrupt.")
            }
            guard samples >= 1 else {
                throw StateReader.error(owner, "the Fisher type \"mc\" has monteCarloSamples = \(samples); expected at least 1. The file is corrupt.")
            }
            return .monteCarlo(samples: samples, seed: seed)
        default:
            throw StateReader.error(owner, "the Fisher type \"\(fisherType)\" is unknown; expected type-2, mc, empirical or forward-only.")
        }
    }

    /// Returns the weight-sharing treatment, or throws for a value this library does not know.
    func decodedApproximation(owner: String) throws -> KFACApproximation {
        guard let approximation = KFACApproximation(rawValue: kfacApproximation) else {
            throw StateReader.error(owner, "the KFAC approximation \"\(kfacApproximation)\" is unknown; expected expand or reduce.")
        }
        return approximation
    }

    /// Checks every value, as loading uses them: a known Fisher type with at
    /// least one Monte-Carlo sample, and a known KFAC approximation.
    ///
    /// - Throws: ``CurvlinopsError/Kind/invalidState`` naming the value.
    func validate(owner: String) throws {
        _ = try decodedFisherType(owner: owner)
        _ = try decodedApproximation(owner: owner)
    }

    /// Checks that the state describes an operator configured like this one.
    func expect(_ other: KFACStateConfiguration, owner: String) throws {
        guard self == other else {
            throw StateReader.error(owner, "the state was saved with \(summary); the operator has \(other.summary).")
        }
    }

    private var summary: String {
        let fisher = fisherType == "mc" ? "mc (samples \(monteCarloSamples ?? 0), seed \(monteCarloSeed ?? 0))" : fisherType
        return "fisherType \(fisher), kfacApproximation \(kfacApproximation), separateWeightAndBias \(separateWeightAndBias)"
    }
}

/// Returns the layout a state header describes, checked like a constructor's arguments.
func stateLayout(_ reader: StateReader, separateWeightAndBias: Bool, owner: String) throws -> KroneckerLayout {
    do {
        return try KroneckerLayout(
            parameterShapes: reader.header.parameterShapes, layers: reader.header.layers,
            separateWeightAndBias: separateWeightAndBias, owner: owner)
    } catch let error as CurvlinopsError {
        throw StateReader.error(owner, "the layers in the state are inconsistent (\(error.message(without: owner))); the file is corrupt.")
    }
}

/// Reads the Kronecker factors of every layer.
func stateFactors<Scalar: LapackScalar>(
    _ reader: StateReader, layout: KroneckerLayout, owner: String
) throws -> KFACFactors<Scalar> {
    var factors = KFACFactors<Scalar>(inputCovariances: [:], gradientCovariances: [:])
    for layer in layout.layers {
        if let dimension = layer.inputFactorDimension {
            factors.inputCovariances[layer.name] = try reader.matrix(
                role: StateRole.inputCovariance, layer: layer.name, rows: dimension, columns: dimension)
        }
        factors.gradientCovariances[layer.name] = try reader.matrix(
            role: StateRole.gradientCovariance, layer: layer.name,
            rows: layer.outputDimension, columns: layer.outputDimension)
    }
    do {
        return try factors.checked(against: layout, owner: owner)
    } catch let error as CurvlinopsError {
        throw StateReader.error(owner, "the factors in the state are invalid (\(error.message(without: owner))); the file is corrupt.")
    }
}

/// Writes the Kronecker factors of every layer.
func addFactors<Scalar: LapackScalar>(_ factors: KFACFactors<Scalar>, layout: KroneckerLayout, to writer: inout StateWriter<Scalar>) {
    for layer in layout.layers {
        if let input = factors.inputCovariances[layer.name] {
            writer.add(input, role: StateRole.inputCovariance, layer: layer.name)
        }
        writer.add(factors.gradientCovariances[layer.name]!, role: StateRole.gradientCovariance, layer: layer.name)
    }
}

/// Writes the eigendecompositions of every layer's factors.
func addEigendecompositions<Scalar: LapackScalar>(
    _ eigendecompositions: [String: KFACLayerEigendecomposition<Scalar>], layout: KroneckerLayout,
    to writer: inout StateWriter<Scalar>
) {
    for layer in layout.layers {
        addEigendecomposition(eigendecompositions[layer.name]!, layer: layer.name, to: &writer)
    }
}

/// Writes the eigendecompositions of one layer's factors.
func addEigendecomposition<Scalar: LapackScalar>(
    _ entry: KFACLayerEigendecomposition<Scalar>, layer: String, to writer: inout StateWriter<Scalar>
) {
    if let input = entry.input {
        writer.add(input.eigenvalues, role: StateRole.inputEigenvalues, layer: layer)
        writer.add(input.eigenvectors, role: StateRole.inputEigenvectors, layer: layer)
    }
    writer.add(entry.gradient.eigenvalues, role: StateRole.gradientEigenvalues, layer: layer)
    writer.add(entry.gradient.eigenvectors, role: StateRole.gradientEigenvectors, layer: layer)
}

/// Reads the eigendecompositions of every layer's factors.
func stateEigendecompositions<Scalar: LapackScalar>(
    _ reader: StateReader, layout: KroneckerLayout
) throws -> [String: KFACLayerEigendecomposition<Scalar>] {
    var result: [String: KFACLayerEigendecomposition<Scalar>] = [:]
    for layer in layout.layers {
        var input: SymmetricEigendecomposition<Scalar>?
        if let dimension = layer.inputFactorDimension {
            input = SymmetricEigendecomposition(
                eigenvalues: try reader.vector(role: StateRole.inputEigenvalues, layer: layer.name, count: dimension),
                eigenvectors: try reader.matrix(
                    role: StateRole.inputEigenvectors, layer: layer.name, rows: dimension, columns: dimension))
        }
        let dimension = layer.outputDimension
        let gradient = SymmetricEigendecomposition<Scalar>(
            eigenvalues: try reader.vector(role: StateRole.gradientEigenvalues, layer: layer.name, count: dimension),
            eigenvectors: try reader.matrix(
                role: StateRole.gradientEigenvectors, layer: layer.name, rows: dimension, columns: dimension))
        result[layer.name] = KFACLayerEigendecomposition(input: input, gradient: gradient)
    }
    return result
}

/// Opens a saved KFAC or EKFAC state: checks the container, its kind and its
/// configuration, and returns the reader with the validated configuration.
func openKroneckerState(
    _ stateData: Data, kind: String, owner: String
) throws -> (reader: StateReader, configuration: KFACStateConfiguration) {
    let reader = try StateReader(stateData, owner: owner)
    try reader.expectKind(kind)
    let configuration = try reader.configuration(KFACStateConfiguration.self)
    try configuration.validate(owner: owner)
    return (reader, configuration)
}

/// Rejects tensors that the reader of a kind does not consume, which would
/// mean the file belongs to another operator.
func expectTensorCount(_ reader: StateReader, _ expected: Int, owner: String) throws {
    let count = reader.header.tensors.count
    guard count == expected else {
        throw StateReader.error(owner, "the state contains \(count) tensors; an operator with these layers stores \(expected). The file is corrupt or belongs to another operator.")
    }
}

/// The `role` names of the tensors in a state container.
enum StateRole {
    static let inputCovariance = "inputCovariance"
    static let gradientCovariance = "gradientCovariance"
    static let inputEigenvalues = "inputEigenvalues"
    static let inputEigenvectors = "inputEigenvectors"
    static let gradientEigenvalues = "gradientEigenvalues"
    static let gradientEigenvectors = "gradientEigenvectors"
    static let correctedEigenvalues = "correctedEigenvalues"
    static let inverseInputCovariance = "inverseInputCovariance"
    static let inverseGradientCovariance = "inverseGradientCovariance"
}

extension CurvlinopsError {
    /// Returns the message without a leading "`owner`: ", to quote it inside a message of the same owner.
    func message(without owner: String) -> String {
        let prefix = owner + ": "
        return message.hasPrefix(prefix) ? String(message.dropFirst(prefix.count)) : message
    }
}
