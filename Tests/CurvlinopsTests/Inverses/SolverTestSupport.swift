import XCTest
@testable import Curvlinops

// Helpers shared by the solver tests and the solver fixture checkers.

/// Returns the relative residuals ‖b_j − A·x_j‖ / ‖b_j‖ of every column,
/// computed in Double by a plain loop independent of the library's BLAS paths
/// (0 for a zero column solved by 0).
func relativeResiduals(_ a: Matrix<Double>, _ x: Matrix<Double>, _ b: Matrix<Double>) -> [Double] {
    (0..<b.columns).map { j in
        var residualSquares = 0.0
        var rightHandSideSquares = 0.0
        for i in 0..<a.rows {
            var product = 0.0
            for l in 0..<a.columns {
                product += a[i, l] * x[l, j]
            }
            let residual = b[i, j] - product
            residualSquares += residual * residual
            rightHandSideSquares += b[i, j] * b[i, j]
        }
        if rightHandSideSquares == 0 {
            return residualSquares == 0 ? 0 : .infinity
        }
        return (residualSquares / rightHandSideSquares).squareRoot()
    }
}

/// Returns the Euclidean norm of a vector.
func euclideanNorm(_ values: [Double]) -> Double {
    values.reduce(0) { $0 + $1 * $1 }.squareRoot()
}

/// Returns the largest entry-wise relative difference max|a − b| / max|b| of two matrices.
func relativeDifference(_ a: Matrix<Double>, _ b: Matrix<Double>) -> Double {
    let scale = b.elements.reduce(0) { max($0, abs($1)) }
    let error = zip(a.elements, b.elements).reduce(0) { max($0, abs($1.0 - $1.1)) }
    return scale == 0 ? error : error / scale
}

/// Returns the matrix converted to Double.
func toDouble<Scalar: LapackScalar>(_ m: Matrix<Scalar>) -> Matrix<Double> {
    try! Matrix(rows: m.rows, columns: m.columns, columnMajor: m.elements.map { Double($0) })
}

/// Returns a Double matrix converted to another scalar type.
func converted<Scalar: LapackScalar>(_ m: Matrix<Double>, to type: Scalar.Type) -> Matrix<Scalar> {
    try! Matrix(rows: m.rows, columns: m.columns, columnMajor: m.elements.map { Scalar($0) })
}

/// Returns the condition number λmax / λmin of a symmetric positive-definite matrix, by `syevd`.
func conditionNumber(ofSymmetric a: Matrix<Double>) throws -> Double {
    let eigenvalues = try LAPACK.syevd(a).eigenvalues
    return eigenvalues.last! / eigenvalues.first!
}

/// Returns a deterministic symmetric positive-definite matrix Q·diag(λ)·Qᵀ
/// with eigenvalues spaced geometrically from 1 to `condition`, where Q comes
/// from the QR factorisation of a pseudo-random matrix.
func makeSPDMatrix(size n: Int, condition: Double, seed: UInt64) throws -> Matrix<Double> {
    let q = try LAPACK.orthonormalFactor(ofQR: makeRandomMatrix(rows: n, columns: n, seed: seed))
    let eigenvalues = (0..<n).map { i in n == 1 ? 1 : pow(condition, Double(i) / Double(n - 1)) }
    var scaled = q
    scaled.scaleColumns(by: eigenvalues)
    var a = try scaled * q.transposed
    a.symmetrize()
    return a
}

/// Returns a deterministic pseudo-random matrix with entries uniform in [−1, 1).
func makeRandomMatrix(rows: Int, columns: Int, seed: UInt64) -> Matrix<Double> {
    var generator = SplitMix64(seed: seed)
    return try! Matrix(rows: rows, columns: columns, columnMajor: (0..<(rows * columns)).map { _ in generator.nextUniform() })
}

/// Textbook (preconditioned) conjugate gradients in plain Double loops, one
/// column at a time, as the fixtures' README defines it:
///
///     x = 0; r = b; z = M⁻¹r; p = z
///     repeat: α = (r·z)/(p·Ap); x += αp; r −= αAp; z' = M⁻¹r; β = (r·z')/(r_old·z_old); p = z' + βp
///
/// with CGInverseLinearOperator's stopping rule, written independently. A
/// column stops after `maxIterations` steps, or when its residual meets
/// ‖r‖ ≤ tolerance·‖b‖: either the recursive residual is exactly 0, or both
/// the recursive and the true residual b − Ax pass. When only the recursive
/// one passes, r is replaced by the true residual and CG restarts from x
/// (the next direction is M⁻¹r). With tolerance 0 this is
/// plain textbook CG. `inverseDiagonal` is the Jacobi preconditioner's reciprocal diagonal,
/// or `nil` for none.
func textbookCG(
    _ a: Matrix<Double>, _ b: Matrix<Double>, maxIterations: Int, tolerance: Double = 0, inverseDiagonal: [Double]? = nil
) -> (x: Matrix<Double>, iterations: [Int]) {
    let n = a.rows
    var solution = Matrix<Double>(zeros: n, b.columns)
    var iterations: [Int] = []
    func precondition(_ r: [Double]) -> [Double] {
        guard let inverseDiagonal else { return r }
        return zip(r, inverseDiagonal).map { $0 * $1 }
    }
    func dot(_ u: [Double], _ v: [Double]) -> Double { zip(u, v).reduce(0) { $0 + $1.0 * $1.1 } }
    // A·v by a plain loop over the column-major entries, written out because
    // this reference must not share the library's BLAS path.
    func product(_ v: [Double]) -> [Double] {
        var result = [Double](repeating: 0, count: n)
        a.elements.withUnsafeBufferPointer { entries in
            result.withUnsafeMutableBufferPointer { output in
                for l in 0..<n {
                    let factor = v[l]
                    for i in 0..<n {
                        output[i] += entries[i + l * n] * factor
                    }
                }
            }
        }
        return result
    }
    for j in 0..<b.columns {
        let rhs = b.column(j)
        let threshold = tolerance * euclideanNorm(rhs)
        var x = [Double](repeating: 0, count: n)
        var r = rhs
        var steps = 0
        if euclideanNorm(r) > threshold && maxIterations > 0 {
            var z = precondition(r)
            var p = z
            var rz = dot(r, z)
            var restart = false
            while steps < maxIterations {
                let ap = product(p)
                let alpha = rz / dot(p, ap)
                for i in 0..<n {
                    x[i] += alpha * p[i]
                    r[i] -= alpha * ap[i]
                }
                steps += 1
                let residualNorm = euclideanNorm(r)
                if residualNorm <= threshold {
                    if residualNorm == 0 { break }
                    let trueResidual = zip(rhs, product(x)).map { $0 - $1 }
                    if euclideanNorm(trueResidual) <= threshold { break }
                    r = trueResidual
                    restart = true
                }
                if steps == maxIterations { break }
                z = precondition(r)
                let rzNext = dot(r, z)
                let beta = restart ? 0 : rzNext / rz
                restart = false
                rz = rzNext
                p = (0..<n).map { z[$0] + beta * p[$0] }
            }
        }
        solution.setColumn(j, to: x)
        iterations.append(steps)
    }
    return (solution, iterations)
}

/// Returns a fixed pseudo-random permutation of 0 ..< n (Fisher–Yates).
func makePermutation(_ n: Int, seed: UInt64) -> [Int] {
    var generator = SplitMix64(seed: seed)
    var permutation = Array(0..<n)
    for i in stride(from: n - 1, to: 0, by: -1) {
        let j = Int(generator.next() % UInt64(i + 1))
        permutation.swapAt(i, j)
    }
    return permutation
}

/// Solves the same problem with rows and columns renumbered and maps the
/// solution back: (ΠᵣAΠ꜀ᵀ)·y = Πᵣb, x = Π꜀ᵀy. In exact arithmetic the
/// Krylov solvers return the same x. The difference from an unpermuted run
/// therefore measures their float64 rounding sensitivity, as the fixtures'
/// README does.
/// A symmetric problem keeps its symmetry because the same permutation is
/// used for rows and columns when A is square.
func solvePermuted(
    _ a: Matrix<Double>, _ b: Matrix<Double>, seed: UInt64 = 7,
    _ solve: (Matrix<Double>, Matrix<Double>, _ columnPermutation: [Int]) throws -> SolverResult<Double>
) throws -> SolverResult<Double> {
    let rowPermutation = makePermutation(a.rows, seed: seed)
    let columnPermutation = a.rows == a.columns ? rowPermutation : makePermutation(a.columns, seed: seed + 1)
    var permutedA = Matrix<Double>(zeros: a.rows, a.columns)
    for i in 0..<a.rows {
        for l in 0..<a.columns {
            permutedA[i, l] = a[rowPermutation[i], columnPermutation[l]]
        }
    }
    var permutedB = Matrix<Double>(zeros: b.rows, b.columns)
    for i in 0..<b.rows {
        for j in 0..<b.columns {
            permutedB[i, j] = b[rowPermutation[i], j]
        }
    }
    let result = try solve(permutedA, permutedB, columnPermutation)
    var solution = Matrix<Double>(zeros: a.columns, b.columns)
    for i in 0..<a.columns {
        for j in 0..<b.columns {
            solution[columnPermutation[i], j] = result.solution[i, j]
        }
    }
    return SolverResult(solution: solution, report: result.report)
}

/// Asserts that `body` throws a `CurvlinopsError` of `kind` whose message
/// contains every string of `fragments`.
func assertThrowsCurvlinopsError<T>(
    _ kind: CurvlinopsError.Kind, containing fragments: [String], _ body: () throws -> T,
    file: StaticString = #filePath, line: UInt = #line
) {
    do {
        _ = try body()
        XCTFail("expected a CurvlinopsError of kind \(kind), but nothing was thrown", file: file, line: line)
    } catch let error as CurvlinopsError {
        XCTAssertEqual(error.kind, kind, "wrong kind; message: \(error.message)", file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(error.message.contains(fragment), "message lacks \"\(fragment)\": \(error.message)", file: file, line: line)
        }
    } catch {
        XCTFail("expected a CurvlinopsError, got \(error)", file: file, line: line)
    }
}
