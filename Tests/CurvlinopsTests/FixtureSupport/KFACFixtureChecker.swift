import Foundation
import XCTest
@testable import Curvlinops

/// The checkers of the `kfac_mlp`, `kfac_weight_sharing` and `ekfac`
/// families: every case's operator is built from its network, loss and data
/// and compared with the stored factors, dense matrix and matrix functions
/// (and, for EKFAC, eigenvalues and corrected eigenvalues).
enum KFACFixtureChecker {
    /// README tolerances.
    static let factorTolerance = (rtol: 1e-9, atol: 1e-13)
    static let correctedEigenvalueTolerance = (rtol: 1e-8, atol: 1e-13)
    static let normTolerance = (rtol: 1e-10, atol: 0.0)
    static let logDeterminantTolerance = (rtol: 1e-9, atol: 1e-8)
    static let determinantTolerance = (rtol: 1e-8, atol: 0.0)

    /// Checks a `kfac_mlp` or `kfac_weight_sharing` file.
    static func checkKFAC(_ file: FixtureFile) throws {
        try forEachCase(of: file) { object, label in
            try checkKFACCase(object, label: label)
        }
    }

    /// Checks an `ekfac` file.
    static func checkEKFAC(_ file: FixtureFile) throws {
        try forEachCase(of: file) { object, label in
            try checkEKFACCase(object, label: label)
        }
    }

    /// Runs `body` on every case; a case that throws is a failure.
    private static func forEachCase(
        of file: FixtureFile, _ body: ([String: Any], String) throws -> Void
    ) throws {
        let cases = try fixtureArray(file.root["cases"], "cases")
        XCTAssertFalse(cases.isEmpty, "\(file.name): no cases")
        for (index, entry) in cases.enumerated() {
            let object = try fixtureObject(entry, "cases[\(index)]")
            let label = "\(file.name) case \(object["id"] as? String ?? "cases[\(index)]")"
            do {
                try body(object, label)
            } catch {
                XCTFail("\(label): could not be run: \(error)")
            }
        }
    }

    /// The settings a case's operator was built with.
    struct Settings {
        let problem: FixtureProblem<Double>
        let parameters: [String]
        let fisherType: FisherType
        let approximation: KFACApproximation
        let separateWeightAndBias: Bool
        let numPerExampleLossTerms: Int?
        let layers: [KFACLayer]
    }

    /// Reads the problem and the constructor and default arguments of a case's `record`.
    static func settings(_ object: [String: Any], record: [String: Any]) throws -> Settings {
        let arguments = try fixtureObject(record["constructor_arguments"], "constructor_arguments")
        let defaults = try fixtureObject(record["default_arguments"], "default_arguments")
        let terms = defaults["num_per_example_loss_terms"].flatMap { $0 is NSNull ? nil : $0 }
        return Settings(
            problem: try FixtureProblem<Double>(object["problem"], "problem"),
            parameters: try fixtureArray(object["operator_params"], "operator_params").map { try fixtureString($0, "operator_params[]") },
            fisherType: try fisherType(arguments, defaults: defaults),
            approximation: try KroneckerFixtureCase.approximation(arguments),
            separateWeightAndBias: try KroneckerFixtureCase.separateWeightAndBias(arguments),
            numPerExampleLossTerms: try terms.map { try fixtureInt($0, "num_per_example_loss_terms") },
            layers: try KroneckerFixtureCase.layers(record["mapping"]))
    }

    /// The recorded `fisher_type`; Monte Carlo takes `mc_samples` and `seed` from the defaults.
    static func fisherType(_ arguments: [String: Any], defaults: [String: Any]) throws -> FisherType {
        let name = try fixtureString(arguments["fisher_type"], "fisher_type")
        switch name {
        case "type-2": return .type2
        case "empirical": return .empirical
        case "forward-only": return .forwardOnly
        case "mc":
            let samples = try fixtureInt(arguments["mc_samples"] ?? defaults["mc_samples"], "mc_samples")
            let seed = try fixtureInt(arguments["seed"] ?? defaults["seed"], "seed")
            return .monteCarlo(samples: samples, seed: UInt64(seed))
        default: throw FixtureError("unknown fisher_type \(name)")
        }
    }

    private static func checkKFACCase(_ object: [String: Any], label: String) throws {
        let record = try fixtureObject(object["kfac"], "kfac")
        let settings = try settings(object, record: record)
        let problem = settings.problem
        let kfac = try KFACLinearOperator(
            model: problem.model, loss: problem.loss, parameters: settings.parameters, data: problem.data,
            fisherType: settings.fisherType, kfacApproximation: settings.approximation,
            separateWeightAndBias: settings.separateWeightAndBias,
            numPerExampleLossTerms: settings.numPerExampleLossTerms)
        XCTAssertEqual(Set(kfac.layers), Set(settings.layers), "\(label): layers and parameter positions")

        // The inferred T is accepted when given explicitly, which checks the inference.
        let inferred = try fixtureObject(record["inferred"], "inferred")
        XCTAssertEqual(problem.data.reduce(0) { $0 + $1.size }, try fixtureInt(inferred["num_data"], "num_data"), "\(label): num_data")
        XCTAssertNoThrow(try KFACLinearOperator(
            model: problem.model, loss: problem.loss, parameters: settings.parameters, data: problem.data,
            fisherType: settings.fisherType,
            numPerExampleLossTerms: fixtureInt(inferred["num_per_example_loss_terms"], "num_per_example_loss_terms")),
            "\(label): the inferred num_per_example_loss_terms")

        try compareFactors(input: kfac.inputCovariances, gradient: kfac.gradientCovariances, record: record, label: label)
        try compare(kfac.dense().rowMajorElements, record["dense"], "dense", factorTolerance, label: label)
        try compareMatrixFunctions(
            trace: kfac.trace(), frobeniusNorm: kfac.frobeniusNorm(), logDeterminant: kfac.logDeterminant(),
            determinant: kfac.determinant(), record: record, singularKey: "factors_singular", label: label)
    }

    private static func checkEKFACCase(_ object: [String: Any], label: String) throws {
        let record = try fixtureObject(object["ekfac"], "ekfac")
        let settings = try settings(object, record: record)
        let problem = settings.problem
        let ekfac = try EKFACLinearOperator(
            model: problem.model, loss: problem.loss, parameters: settings.parameters, data: problem.data,
            fisherType: settings.fisherType, kfacApproximation: settings.approximation,
            separateWeightAndBias: settings.separateWeightAndBias,
            numPerExampleLossTerms: settings.numPerExampleLossTerms)
        XCTAssertEqual(Set(ekfac.layers), Set(settings.layers), "\(label): layers and parameter positions")

        try compareFactors(input: ekfac.inputCovariances, gradient: ekfac.gradientCovariances, record: record, label: label)
        let eigendecompositions = try ekfac.dataStore.value().eigendecompositions
        for (key, part) in [("input_covariance_eigenvalues", true), ("gradient_covariance_eigenvalues", false)] {
            let expected = try fixtureObject(record[key], key)
            for (name, values) in expected {
                guard let layer = eigendecompositions[name], let decomposition = part ? layer.input : layer.gradient else {
                    XCTFail("\(label): \(key).\(name) has no counterpart")
                    continue
                }
                try compare(decomposition.eigenvalues, values, "\(key).\(name)", factorTolerance, label: label)
            }
        }
        try compareCorrectedEigenvalues(ekfac.correctedEigenvalues, record: record, label: label)
        try compare(ekfac.dense().rowMajorElements, record["dense"], "dense", factorTolerance, label: label)
        try compareMatrixFunctions(
            trace: ekfac.trace(), frobeniusNorm: ekfac.frobeniusNorm(), logDeterminant: ekfac.logDeterminant(),
            determinant: ekfac.determinant(), record: record, singularKey: "corrected_eigenvalues_singular", label: label)
    }

    /// Compares both factor dictionaries with `input_covariances` and `gradient_covariances`, key by key.
    static func compareFactors(
        input: [String: Matrix<Double>], gradient: [String: Matrix<Double>], record: [String: Any], label: String
    ) throws {
        for (key, actual) in [("input_covariances", input), ("gradient_covariances", gradient)] {
            let expected = try fixtureObject(record[key], key)
            XCTAssertEqual(Set(actual.keys), Set(expected.keys), "\(label): layers of \(key)")
            for (name, value) in expected {
                guard let factor = actual[name] else { continue }
                try compare(factor.rowMajorElements, value, "\(key).\(name)", factorTolerance, label: label)
            }
        }
    }

    private static func compareCorrectedEigenvalues(
        _ actual: [String: EKFACCorrectedEigenvalues<Double>], record: [String: Any], label: String
    ) throws {
        let expected = try fixtureObject(record["corrected_eigenvalues"], "corrected_eigenvalues")
        XCTAssertEqual(Set(actual.keys), Set(expected.keys), "\(label): layers of corrected_eigenvalues")
        for (name, value) in expected {
            let parts = try fixtureObject(value, "corrected_eigenvalues.\(name)")
            let key = "corrected_eigenvalues.\(name)"
            switch actual[name] {
            case let .joint(values)?:
                XCTAssertEqual(Set(parts.keys), ["joint"], "\(label): \(key) is joint here")
                try compare(values.rowMajorElements, parts["joint"], "\(key).joint", correctedEigenvalueTolerance, label: label)
            case let .separate(weight, bias)?:
                XCTAssertEqual(Set(parts.keys), Set((weight == nil ? [] : ["weight"]) + (bias == nil ? [] : ["bias"])),
                               "\(label): \(key) parts")
                if let weight, parts["weight"] != nil {
                    try compare(weight.rowMajorElements, parts["weight"], "\(key).weight", correctedEigenvalueTolerance, label: label)
                }
                if let bias, parts["bias"] != nil {
                    try compare(bias, parts["bias"], "\(key).bias", correctedEigenvalueTolerance, label: label)
                }
            case nil:
                XCTFail("\(label): no corrected eigenvalues for layer \(name)")
            }
        }
    }

    /// Compares trace, Frobenius norm, log-determinant and determinant; for a
    /// singular case, the last two only against `logdet_upper_bound`.
    static func compareMatrixFunctions(
        trace: Double, frobeniusNorm: Double, logDeterminant: Double, determinant: Double,
        record: [String: Any], singularKey: String, label: String
    ) throws {
        try compare([trace], record["trace"], "trace", normTolerance, label: label)
        try compare([frobeniusNorm], record["frobenius_norm"], "frobenius_norm", normTolerance, label: label)

        guard try fixtureBool(record[singularKey], singularKey) else {
            try compare([logDeterminant], record["logdet"], "logdet", logDeterminantTolerance, label: label)
            try compare([determinant], record["det"], "det", determinantTolerance, label: label)
            return
        }
        // Rounding noise: the README allows NaN, −∞ or anything up to the upper bound.
        let bound = try fixtureDouble(record["logdet_upper_bound"], "logdet_upper_bound")
        let slack = logDeterminantTolerance.atol + logDeterminantTolerance.rtol * abs(bound)
        XCTAssertTrue(logDeterminant.isNaN || logDeterminant == -.infinity || logDeterminant <= bound + slack,
                      "\(label): singular logdet \(logDeterminant) exceeds logdet_upper_bound \(bound)")
        XCTAssertTrue(determinant == 0 || Foundation.log(abs(determinant)) <= bound + slack,
                      "\(label): singular det \(determinant) exceeds exp(logdet_upper_bound = \(bound))")
    }

    /// Compares values with a stored tensor or number by the README's rule.
    static func compare(
        _ actual: [Double], _ expected: Any?, _ key: String, _ tolerance: (rtol: Double, atol: Double), label: String
    ) throws {
        let reference: [Double]
        if let number = expected as? NSNumber {
            reference = [number.doubleValue]
        } else if let text = expected as? String {
            reference = [try fixtureDouble(text, key)]
        } else {
            reference = try FixtureTensor(expected, key).data
        }
        if let mismatch = fixtureMismatch(actual, reference, rtol: tolerance.rtol, atol: tolerance.atol) {
            XCTFail("\(label): \(key): \(mismatch)")
        }
    }
}
