import Foundation
import XCTest
@testable import Curvlinops

/// The checker of the `kfac_inverse` family: every case's dense inverse and
/// effective damping, and every constructor error.
enum KFACInverseFixtureChecker {
    /// README tolerance for dense KFAC inverse matrices.
    static let inverseTolerance = (rtol: 1e-8, atol: 1e-12)

    /// The effective dampings are computed from traces, so they agree to rounding.
    static let dampingTolerance = (rtol: 1e-12, atol: 0.0)

    static func check(_ file: FixtureFile) throws {
        let cases = try fixtureArray(file.root["cases"], "cases")
        XCTAssertFalse(cases.isEmpty, "\(file.name): no cases")
        for entry in cases {
            let object = try fixtureObject(entry, "cases[]")
            let id = object["id"] as? String ?? "?"
            do {
                try checkCase(object, id: id, file: file.name)
            } catch {
                XCTFail("\(file.name) case \(id): could not run: \(error)")
            }
        }

        let errors = try fixtureArray(file.root["constructor_errors"], "constructor_errors")
        XCTAssertFalse(errors.isEmpty, "\(file.name): no constructor_errors")
        for entry in errors {
            let object = try fixtureObject(entry, "constructor_errors[]")
            let id = object["id"] as? String ?? "?"
            do {
                try checkConstructorError(object, cases: cases, id: id, file: file.name)
            } catch {
                XCTFail("\(file.name) constructor error \(id): could not run: \(error)")
            }
        }
    }

    /// Builds the base operator of a case: KFAC or EKFAC from its stored factors.
    static func baseOperator(_ object: [String: Any]) throws -> any LinearOperator<Double> {
        let arguments = try fixtureObject(object["base_constructor_arguments"], "base_constructor_arguments")
        switch object["base_operator"] as? String {
        case "KFACLinearOperator":
            return try KroneckerFixtureCase.kfac(factorsIn: object, layout: object["layout"], arguments: arguments)
        case "EKFACLinearOperator":
            return try KroneckerFixtureCase.ekfac(
                factorsIn: object, eigenvaluesKey: "ekfac_corrected_eigenvalues",
                layout: object["layout"], arguments: arguments)
        case let other:
            throw FixtureError("unknown base_operator \(String(describing: other))")
        }
    }

    /// Builds the inverse with the curvlinops-style initializer from `inverse_constructor_arguments`.
    static func inverse(
        of base: any LinearOperator<Double>, arguments: [String: Any]
    ) throws -> KFACInverseLinearOperator<Double> {
        let heuristic = arguments["use_heuristic_damping"] as? Bool ?? false
        let exact = arguments["use_exact_damping"] as? Bool ?? false
        let cache = arguments["cache"] as? Bool ?? true
        let retry = arguments["retry_double_precision"] as? Bool ?? true
        if let pair = arguments["damping"] as? [Any] {
            guard pair.count == 2 else { throw FixtureError("damping pair has \(pair.count) entries") }
            return try KFACInverseLinearOperator(
                base, damping: (input: fixtureDouble(pair[0], "damping[0]"), gradient: fixtureDouble(pair[1], "damping[1]")),
                useHeuristicDamping: heuristic, useExactDamping: exact, cache: cache, retryInDoublePrecision: retry)
        }
        let minimum = try arguments["min_damping"].map { try fixtureDouble($0, "min_damping") } ?? 1e-8
        return try KFACInverseLinearOperator(
            base, damping: fixtureDouble(arguments["damping"], "damping"), useHeuristicDamping: heuristic,
            minDamping: minimum, useExactDamping: exact, cache: cache, retryInDoublePrecision: retry)
    }

    private static func checkCase(_ object: [String: Any], id: String, file: String) throws {
        let base = try baseOperator(object)
        let arguments = try fixtureObject(object["inverse_constructor_arguments"], "inverse_constructor_arguments")
        let inverse = try inverse(of: base, arguments: arguments)

        let expected = try FixtureTensor(object["inverse_dense"], "inverse_dense")
        let dense = try inverse.dense()
        if let mismatch = fixtureMismatch(dense.rowMajorElements, expected.data,
                                          rtol: inverseTolerance.rtol, atol: inverseTolerance.atol) {
            XCTFail("\(file) case \(id): inverse_dense: \(mismatch)")
        }

        guard let report = inverse.report else {
            XCTFail("\(file) case \(id): no report after an apply")
            return
        }
        if object["effective_damping"] is NSNull {
            let damping = try fixtureDouble(arguments["damping"], "damping")
            for layer in report.layers {
                XCTAssertEqual(layer.damping, .exact(damping), "\(file) case \(id): layer \(layer.name)")
            }
            return
        }
        let effective = try fixtureObject(object["effective_damping"], "effective_damping")
        XCTAssertEqual(Set(effective.keys), Set(report.layers.map(\.name)), "\(file) case \(id): layers of effective_damping")
        for (name, value) in effective {
            let pair = try fixtureObject(value, "effective_damping.\(name)")
            let expectedPair = [try fixtureDouble(pair["input"], "input"), try fixtureDouble(pair["gradient"], "gradient")]
            guard case let .perFactor(input, gradient)? = report[layer: name]?.damping else {
                XCTFail("\(file) case \(id): layer \(name) has no per-factor damping in the report")
                continue
            }
            if let mismatch = fixtureMismatch([input, gradient], expectedPair,
                                              rtol: dampingTolerance.rtol, atol: dampingTolerance.atol) {
                XCTFail("\(file) case \(id): effective damping of layer \(name): \(mismatch)")
            }
        }
    }

    /// The part of our message that carries the meaning of each curvlinops message.
    static let messageMeanings: [String: [String]] = [
        "Either use heuristic damping or exact damping, not both.": ["either heuristic damping or exact damping, not both"],
        "Heuristic and exact damping require a single damping value.": ["heuristic and exact damping require a single damping value"],
        "Only exact damping is supported for EKFAC.": ["only exact damping is supported for ekfac"],
        "The input `A` must be an instance of `KFACLinearOperator`.": ["expected a kfaclinearoperator"],
    ]

    private static func checkConstructorError(
        _ object: [String: Any], cases: [Any], id: String, file: String
    ) throws {
        let operatorName = object["operator"] as? String ?? ""
        let base: any LinearOperator<Double>
        if operatorName == "KFACLinearOperator" || operatorName == "EKFACLinearOperator" {
            let source = try cases.map { try fixtureObject($0, "cases[]") }
                .first { $0["base_operator"] as? String == operatorName }
            guard let source else { throw FixtureError("no case with base_operator \(operatorName)") }
            base = try baseOperator(source)
        } else {
            // The fixture passes a GGNLinearOperator of the first case's problem.
            let first = try fixtureObject(cases.first, "cases[0]")
            let problem = try FixtureProblem<Double>(first["problem"], "cases[0].problem")
            let parameters = try fixtureArray(first["operator_params"], "cases[0].operator_params")
                .map { try fixtureString($0, "cases[0].operator_params") }
            base = try GGNLinearOperator(model: problem.model, loss: problem.loss, parameters: parameters, data: problem.data)
        }

        let arguments = try fixtureObject(object["inverse_constructor_arguments"], "inverse_constructor_arguments")
        let expectedMessage = object["error_message"] as? String ?? ""
        guard let phrases = messageMeanings[expectedMessage] else {
            XCTFail("\(file) constructor error \(id): no known meaning for the message \"\(expectedMessage)\"")
            return
        }
        do {
            _ = try inverse(of: base, arguments: arguments)
            XCTFail("\(file) constructor error \(id): the initializer did not throw; expected \"\(expectedMessage)\"")
        } catch let error as CurvlinopsError {
            XCTAssertEqual(error.kind, .invalidArgument, "\(file) constructor error \(id)")
            for phrase in phrases {
                XCTAssertTrue(error.message.lowercased().contains(phrase),
                              "\(file) constructor error \(id): message \"\(error.message)\" lacks \"\(phrase)\"")
            }
        }
    }
}
