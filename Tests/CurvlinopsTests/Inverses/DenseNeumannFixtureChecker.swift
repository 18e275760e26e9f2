import XCTest
@testable import Curvlinops

// The checker of the `dense_neumann` family (fixtures README §1 and §7.3).
//
// Each run of each case is NeumannInverseLinearOperator(A, terms:
// num_terms, scale:, checkNaN: check_nan) applied to X, compared with x at
// rtol 1e-11. A preconditioned run (`preconditioned: true`) is checked twice:
// as the plain series on the stored matrix D⁻¹A applied to D⁻¹X, as
// curvlinops builds it, and with this library's `preconditioner:` argument
// P = D⁻¹ on A applied to X.
//
// The divergent case must throw a numerical breakdown that suggests a smaller
// scale and names `term_index_in_message`. curvlinops names the 0-based loop
// index at which NaN appeared. NaN appears one step after the first infinity
// (∞ − ∞), so that index is the power k of the first term that overflowed,
// which is what our error names ("term k = …"). The checker verifies this
// relation on the fixture's own numpy reference indices.

/// Checks every case of a `dense_neumann` file.
@Sendable func checkDenseNeumannFixture(_ file: FixtureFile) throws {
    for (index, value) in try fixtureArray(file.root["cases"], "cases").enumerated() {
        let entry = try fixtureObject(value, "cases[\(index)]")
        let context = "\(file.name) case \((entry["id"] as? String) ?? "cases[\(index)]")"
        do {
            try checkNeumannCase(entry, context: context)
        } catch {
            XCTFail("\(context): could not be run: \(error)")
        }
    }
    if let value = file.root["divergent_case"] {
        let entry = try fixtureObject(value, "divergent_case")
        let context = "\(file.name) divergent case \((entry["id"] as? String) ?? "")"
        do {
            try checkDivergentNeumannCase(entry, context: context)
        } catch {
            XCTFail("\(context): could not be run: \(error)")
        }
    }
}

private func checkNeumannCase(_ entry: [String: Any], context: String) throws {
    let a = try FixtureTensor(entry["A"], "A").matrix(Double.self)
    let b = try FixtureTensor(entry["X"], "X").matrix(Double.self)
    for (index, value) in try fixtureArray(entry["runs"], "runs").enumerated() {
        let run = try fixtureObject(value, "runs[\(index)]")
        let terms = try fixtureInt(run["num_terms"], "num_terms")
        let scale = try fixtureDouble(run["scale"], "scale")
        let checkNaN = try fixtureBool(run["check_nan"], "check_nan")
        let expected = try FixtureTensor(run["x"], "x").matrix(Double.self).elements
        let runContext = "\(context) runs[\(index)] (K = \(terms), scale \(scale))"

        if try fixtureBool(run["preconditioned"], "preconditioned") {
            let jacobi = try fixtureObject(entry["jacobi"], "jacobi")
            let preconditionedMatrix = try FixtureTensor(jacobi["preconditioned_matrix"], "preconditioned_matrix").matrix(Double.self)
            let preconditionedRightHandSide = try FixtureTensor(jacobi["preconditioned_rhs"], "preconditioned_rhs").matrix(Double.self)
            let diagonal = try FixtureTensor(jacobi["diagonal"], "diagonal").data

            let composed = try NeumannInverseLinearOperator(
                DenseLinearOperator(preconditionedMatrix), terms: terms, scale: scale, checkNaN: checkNaN
            ).apply(preconditionedRightHandSide)
            if let mismatch = fixtureMismatch(composed.elements, expected, rtol: 1e-11, atol: 0) {
                XCTFail("\(runContext): series on D⁻¹A applied to D⁻¹X: \(mismatch)")
            }
            let withPreconditioner = try NeumannInverseLinearOperator(
                DenseLinearOperator(a), terms: terms, scale: scale, checkNaN: checkNaN,
                preconditioner: DiagonalLinearOperator(diagonal.map { 1 / $0 })
            ).apply(b)
            if let mismatch = fixtureMismatch(withPreconditioner.elements, expected, rtol: 1e-11, atol: 0) {
                XCTFail("\(runContext): series with preconditioner D⁻¹: \(mismatch)")
            }
        } else {
            let result = try NeumannInverseLinearOperator(
                DenseLinearOperator(a), terms: terms, scale: scale, checkNaN: checkNaN
            ).apply(b)
            if let mismatch = fixtureMismatch(result.elements, expected, rtol: 1e-11, atol: 0) {
                XCTFail("\(runContext): \(mismatch)")
            }
        }
    }
}

private func checkDivergentNeumannCase(_ entry: [String: Any], context: String) throws {
    let a = try FixtureTensor(entry["A"], "A").matrix(Double.self)
    let b = try FixtureTensor(entry["X"], "X").matrix(Double.self)
    let terms = try fixtureInt(entry["num_terms"], "num_terms")
    let scale = try fixtureDouble(entry["scale"], "scale")
    let checkNaN = try fixtureBool(entry["check_nan"], "check_nan")
    let termIndex = try fixtureInt(entry["term_index_in_message"], "term_index_in_message")
    let firstInfiniteIndex = try fixtureInt(entry["numpy_reference_first_inf_term_index"], "numpy_reference_first_inf_term_index")
    XCTAssertEqual(firstInfiniteIndex + 1, termIndex, "\(context): the NaN index is not one after the first infinite index")
    let inverse = try NeumannInverseLinearOperator(DenseLinearOperator(a), terms: terms, scale: scale, checkNaN: checkNaN)
    do {
        let result = try inverse.apply(b)
        XCTFail("\(context): expected a divergence error, got a result (finite: \(result.isFinite))")
    } catch let error as CurvlinopsError {
        XCTAssertEqual(error.kind, .numericalBreakdown, "\(context): \(error.message)")
        XCTAssertTrue(error.message.contains("term k = \(termIndex) "), "\(context): message does not name term k = \(termIndex): \(error.message)")
        XCTAssertTrue(error.message.contains("Decrease scale"), "\(context): message does not suggest a smaller scale: \(error.message)")
    }
}
