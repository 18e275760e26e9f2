import XCTest
@testable import Curvlinops

// The checker of the `dense_lsmr` family (fixtures README §1 and §7.2).
//
// `cases[]` run through LSMRInverseLinearOperator and `rectangular_cases[]`
// through LSMR.solve. Each run passes its damp, atol, btol, conlim
// (as conditionLimit) and maxiter (as maxIterations, where null means the
// default min(m, n)). Every run checks a finite result and each column's relative
// residual ≤ residual_bound. The README's further rules, with two
// refinements measured on this machine (SciPy 1.17.1 itself breaks both
// rules here on one run each):
//
// * x against the fixture when float64_reproducible, with
//   max(suggested_rtol, 10·s), where s is the float64 sensitivity of our own
//   run measured as the README measures it, on the renumbered system. The
//   README's suggested_rtol comes from two variants on the generator's
//   machine; on spd_n60_cond1e6 (maxiter 10) SciPy here is 2.0e-9 away from
//   the stored x, above its suggested_rtol of 7.1e-10.
// * istop and itn when istop_itn_robust and the run ends within min(m, n)
//   iterations. Beyond min(m, n) steps exact-arithmetic LSMR would have
//   terminated; progress there comes from rounding and the stopping step
//   moves: SciPy here stops spd_n30_cond1e3 (damp 2) at itn 97, the fixture
//   at 100, both flagged robust.
// * The five norms when both flags hold and the run ends within min(m, n)
//   iterations (norma and conda accumulate the rounding-level α, β of the
//   later steps). norma, conda, normx: relative 1e-8 + 10·suggested_rtol,
//   because they come from the same recurrences as x. normr, normar: the same
//   plus an absolute allowance for the rounding noise they carry near
//   convergence (the fixture's second matrix-vector kernel moves normr by a
//   factor of 4 in converged runs): an iterate within suggested_rtol of the
//   reference moves ‖b − Ax‖ by at most δ = √n·suggested_rtol·norma·normx and
//   ‖Aᵀ(b − Ax)‖ by norma·δ.

/// Checks every case of a `dense_lsmr` file.
@Sendable func checkDenseLSMRFixture(_ file: FixtureFile) throws {
    for key in ["cases", "rectangular_cases"] {
        for (index, value) in try fixtureArray(file.root[key] ?? [Any](), key).enumerated() {
            let entry = try fixtureObject(value, "\(key)[\(index)]")
            let context = "\(file.name) \(key) \((entry["id"] as? String) ?? "[\(index)]")"
            do {
                try checkLSMRCase(entry, square: key == "cases", context: context)
            } catch {
                XCTFail("\(context): could not be run: \(error)")
            }
        }
    }
}

private func checkLSMRCase(_ entry: [String: Any], square: Bool, context: String) throws {
    let a = try FixtureTensor(entry["A"], "A").matrix(Double.self)
    let b = try FixtureTensor(entry["X"], "X").matrix(Double.self)

    for (index, value) in try fixtureArray(entry["runs"], "runs").enumerated() {
        let run = try fixtureObject(value, "runs[\(index)]")
        let hyperparameters = try fixtureObject(run["hyperparameters"], "hyperparameters")
        let damp = try fixtureDouble(hyperparameters["damp"], "damp")
        let atol = try fixtureDouble(hyperparameters["atol"], "atol")
        let btol = try fixtureDouble(hyperparameters["btol"], "btol")
        let conditionLimit = try fixtureDouble(hyperparameters["conlim"], "conlim")
        let maxIterations = hyperparameters["maxiter"] is NSNull ? nil : try fixtureInt(hyperparameters["maxiter"], "maxiter")
        let runContext = "\(context) runs[\(index)] (damp \(damp), atol \(atol), btol \(btol), conlim \(conditionLimit), maxiter \(maxIterations.map(String.init) ?? "default"))"

        func solveRun(_ a: Matrix<Double>, _ b: Matrix<Double>) throws -> SolverResult<Double> {
            if square {
                return try LSMRInverseLinearOperator(
                    DenseLinearOperator(a), damp: damp, atol: atol, btol: btol, conditionLimit: conditionLimit,
                    maxIterations: maxIterations
                ).solve(b)
            }
            return try LSMR.solve(
                DenseLinearOperator(a), b, damp: damp, atol: atol, btol: btol, conditionLimit: conditionLimit,
                maxIterations: maxIterations)
        }
        let result = try solveRun(a, b)
        let sensitivity = relativeDifference(result.solution, try solvePermuted(a, b) { pa, pb, _ in try solveRun(pa, pb) }.solution)
        let exhausted = min(a.rows, a.columns)

        XCTAssertTrue(result.solution.isFinite, "\(runContext): the result is not finite")
        let residuals = relativeResiduals(a, result.solution, b)
        let bounds = try fixtureArray(run["residual_bound"], "residual_bound").map { try fixtureDouble($0, "residual_bound") }
        for j in residuals.indices {
            XCTAssertLessThanOrEqual(residuals[j], bounds[j], "\(runContext): column \(j) relative residual")
            XCTAssertEqual(result.report.columns[j].relativeResidualNorm, residuals[j], accuracy: 1e-12 + 1e-6 * residuals[j],
                           "\(runContext): column \(j): the report's relative residual differs from the recomputed one")
        }

        let reproducible = try fixtureBool(run["float64_reproducible"], "float64_reproducible")
        let robust = try fixtureBool(run["istop_itn_robust"], "istop_itn_robust")
        let suggestedRtol = try fixtureDouble(run["suggested_rtol"], "suggested_rtol")
        if reproducible {
            let expected = try FixtureTensor(run["x"], "x").matrix(Double.self)
            let rtol = max(suggestedRtol, 10 * sensitivity)
            if let mismatch = fixtureMismatch(result.solution.elements, expected.elements, rtol: rtol, atol: 0) {
                XCTFail("\(runContext): x: \(mismatch)")
            }
        }

        let infos = try fixtureArray(run["info"], "info")
        for (j, infoValue) in infos.enumerated() {
            let info = try fixtureObject(infoValue, "info[\(j)]")
            guard let statistics = result.report.columns[j].lsmr else {
                XCTFail("\(runContext): column \(j) has no LSMR statistics")
                continue
            }
            let columnContext = "\(runContext): column \(j)"
            let withinExactRegime = try fixtureInt(info["itn"], "itn") <= exhausted
            if robust && withinExactRegime {
                XCTAssertEqual(statistics.istop.rawValue, try fixtureInt(info["istop"], "istop"), "\(columnContext): istop")
                XCTAssertEqual(statistics.itn, try fixtureInt(info["itn"], "itn"), "\(columnContext): itn")
            }
            if robust && reproducible && withinExactRegime {
                let rtol = 1e-8 + 10 * suggestedRtol
                let norma = try fixtureDouble(info["norma"], "norma")
                let normx = try fixtureDouble(info["normx"], "normx")
                let residualScale = Double(a.columns).squareRoot() * suggestedRtol * norma * normx
                let comparisons: [(String, Double, Double, Double)] = [
                    ("norma", statistics.norma, norma, 0),
                    ("conda", statistics.conda, try fixtureDouble(info["conda"], "conda"), 0),
                    ("normx", statistics.normx, normx, 0),
                    ("normr", statistics.normr, try fixtureDouble(info["normr"], "normr"), residualScale),
                    ("normar", statistics.normar, try fixtureDouble(info["normar"], "normar"), norma * residualScale),
                ]
                for (name, actual, expected, atol) in comparisons {
                    if let mismatch = fixtureMismatch([actual], [expected], rtol: rtol, atol: atol) {
                        XCTFail("\(columnContext): \(name): \(mismatch)")
                    }
                }
            }
        }
    }
}
