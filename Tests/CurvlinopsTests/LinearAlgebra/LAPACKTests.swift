import XCTest
@testable import Curvlinops

/// The LAPACK wrappers checked through the identities their results satisfy,
/// for Float and Double, plus their failures and guards.
final class LAPACKTests: XCTestCase {
    private let orders = [1, 2, 5, 12]

    func testPotrfReconstructsMatrixFloat() throws {
        try checkPotrf(Float.self)
    }

    func testPotrfReconstructsMatrixDouble() throws {
        try checkPotrf(Double.self)
    }

    func testPotrsSolvesFromFactorFloat() throws {
        try checkPotrs(Float.self)
    }

    func testPotrsSolvesFromFactorDouble() throws {
        try checkPotrs(Double.self)
    }

    func testPotriGivesInverseFloat() throws {
        try checkPotri(Float.self)
    }

    func testPotriGivesInverseDouble() throws {
        try checkPotri(Double.self)
    }

    func testSyevdDecomposesSymmetricMatrixFloat() throws {
        try checkSyevd(Float.self)
    }

    func testSyevdDecomposesSymmetricMatrixDouble() throws {
        try checkSyevd(Double.self)
    }

    func testGesvSolvesGeneralSystemFloat() throws {
        try checkGesv(Float.self)
    }

    func testGesvSolvesGeneralSystemDouble() throws {
        try checkGesv(Double.self)
    }

    func testOrthonormalFactorSpansColumnsFloat() throws {
        try checkOrthonormalFactor(Float.self)
    }

    func testOrthonormalFactorSpansColumnsDouble() throws {
        try checkOrthonormalFactor(Double.self)
    }

    func testFloatEigenvaluesAgreeWithDouble() throws {
        var generator = SeededGenerator(seed: 21)
        let a = Matrix<Double>.randomSPD(10, using: &generator)
        let single = try LAPACK.syevd(a.converted(to: Float.self)).eigenvalues
        let double = try LAPACK.syevd(a).eigenvalues
        // Eigenvalues of a symmetric matrix are perfectly conditioned, so the
        // Float error is a small multiple of 2⁻²⁴ · ‖A‖.
        let scale = double.map(abs).max()!
        for (index, (s, d)) in zip(single, double).enumerated() {
            XCTAssertEqual(Double(s), d, accuracy: 1e-5 * scale, "eigenvalue \(index)")
        }
    }

    // MARK: - Failures reported by LAPACK

    func testPotrfOnIndefiniteMatrixNamesMinorOrder() {
        let a = Matrix<Double>.diagonal([1, 2, -1, 4])
        assertThrows(.notPositiveDefinite, containing: ["potrf", "leading minor of order 3", "info = 3"]) {
            var copy = a
            try LAPACK.potrf(&copy)
        }
        assertThrows(.notPositiveDefinite, containing: ["order 3"]) {
            var copy = a.converted(to: Float.self)
            try LAPACK.potrf(&copy, lower: false)
        }
    }

    func testPotrfOnSingularMatrixNamesMinorOrder() {
        // Rank one: the leading minor of order 2 is singular.
        let a = try! Matrix<Double>(rows: 2, columns: 2, rowMajor: [1, 1, 1, 1])
        assertThrows(.notPositiveDefinite, containing: ["order 2"]) {
            var copy = a
            try LAPACK.potrf(&copy)
        }
    }

    func testPotriOnSingularFactorReportsInfo() {
        var factor = Matrix<Double>.identity(3)
        factor[1, 1] = 0
        do {
            try LAPACK.potri(&factor)
            XCTFail("potri accepted a singular factor")
        } catch let error as CurvlinopsError {
            XCTAssertEqual(error.kind, .lapackFailure(routine: "potri", info: 2))
            XCTAssertTrue(error.message.contains("diagonal entry 2"), error.message)
            XCTAssertTrue(error.message.contains("singular"), error.message)
        } catch {
            XCTFail("unexpected error \(error)")
        }
    }

    func testGesvOnSingularMatrixReportsInfo() {
        let a = try! Matrix<Double>(rows: 3, columns: 3, rowMajor: [1, 2, 3, 2, 4, 6, 1, 0, 1])
        do {
            _ = try LAPACK.gesv(a, Matrix.identity(3))
            XCTFail("gesv accepted a singular matrix")
        } catch let error as CurvlinopsError {
            guard case .lapackFailure(routine: "gesv", info: let info) = error.kind else {
                return XCTFail("wrong kind \(error.kind)")
            }
            XCTAssertGreaterThan(info, 0)
            XCTAssertTrue(error.message.contains("singular"), error.message)
            XCTAssertTrue(error.message.contains("info = \(info)"), error.message)
        } catch {
            XCTFail("unexpected error \(error)")
        }
    }

    func testPotrsRejectsFactorWithZeroDiagonal() {
        var factor = Matrix<Double>.identity(3)
        factor[2, 2] = 0
        var b = Matrix<Double>(zeros: 3, 1)
        assertThrows(.invalidArgument, containing: ["potrs", "factor[2, 2] = 0", "singular"]) {
            try LAPACK.potrs(factor: factor, solving: &b)
        }
    }

    // MARK: - Shape errors

    func testShapeMismatchesNameRoutine() {
        let wide = Matrix<Double>(zeros: 2, 3)
        assertThrows(.shapeMismatch, containing: ["potrf", "A is 2 × 3", "square"]) {
            var copy = wide
            try LAPACK.potrf(&copy)
        }
        assertThrows(.shapeMismatch, containing: ["potri", "the factor is 2 × 3", "square"]) {
            var copy = wide
            try LAPACK.potri(&copy)
        }
        assertThrows(.shapeMismatch, containing: ["syevd", "A is 2 × 3", "square"]) {
            try LAPACK.syevd(wide)
        }
        assertThrows(.shapeMismatch, containing: ["gesv", "A is 2 × 3", "square"]) {
            try LAPACK.gesv(wide, Matrix(zeros: 2, 1))
        }
        assertThrows(.shapeMismatch, containing: ["gesv", "B has 4 rows", "expected 3"]) {
            try LAPACK.gesv(Matrix<Double>.identity(3), Matrix(zeros: 4, 1))
        }
        assertThrows(.shapeMismatch, containing: ["potrs", "factor is 2 × 3", "square"]) {
            var b = Matrix<Double>(zeros: 2, 1)
            try LAPACK.potrs(factor: wide, solving: &b)
        }
        assertThrows(.shapeMismatch, containing: ["potrs", "B has 4 rows", "expected 3"]) {
            var b = Matrix<Double>(zeros: 4, 1)
            try LAPACK.potrs(factor: Matrix<Double>.identity(3), solving: &b)
        }
        assertThrows(.shapeMismatch, containing: ["geqrf", "A is 2 × 3", "at least as many rows"]) {
            try LAPACK.orthonormalFactor(ofQR: wide)
        }
    }

    // MARK: - Non-finite input

    func testNonFiniteInputIsRejected() {
        var withNaN = Matrix<Double>.identity(3)
        withNaN[2, 0] = .nan
        var withInfinity = Matrix<Float>.identity(3)
        withInfinity[1, 1] = .infinity

        assertThrows(.nonFiniteValue, containing: ["potrf", "A contains NaN"]) {
            var copy = withNaN
            try LAPACK.potrf(&copy)
        }
        assertThrows(.nonFiniteValue, containing: ["potrf"]) {
            var copy = withInfinity
            try LAPACK.potrf(&copy)
        }
        assertThrows(.nonFiniteValue, containing: ["potri", "the factor contains NaN"]) {
            var copy = withNaN
            try LAPACK.potri(&copy)
        }
        assertThrows(.nonFiniteValue, containing: ["syevd", "A contains NaN"]) {
            try LAPACK.syevd(withNaN)
        }
        assertThrows(.nonFiniteValue, containing: ["gesv", "A contains NaN"]) {
            try LAPACK.gesv(withNaN, Matrix.identity(3))
        }
        assertThrows(.nonFiniteValue, containing: ["gesv", "B contains NaN"]) {
            try LAPACK.gesv(Matrix.identity(3), withNaN)
        }
        assertThrows(.nonFiniteValue, containing: ["potrs", "factor contains NaN"]) {
            var b = Matrix<Double>.identity(3)
            try LAPACK.potrs(factor: withNaN, solving: &b)
        }
        assertThrows(.nonFiniteValue, containing: ["potrs", "B contains NaN"]) {
            var b = withNaN
            try LAPACK.potrs(factor: Matrix.identity(3), solving: &b)
        }
        assertThrows(.nonFiniteValue, containing: ["geqrf", "NaN"]) {
            try LAPACK.orthonormalFactor(ofQR: withNaN)
        }
    }

    // MARK: - Empty input

    func testEmptyInputReturnsEmptyResults() throws {
        var empty = Matrix<Double>(zeros: 0, 0)
        try LAPACK.potrf(&empty)
        try LAPACK.potri(&empty)
        XCTAssertEqual(empty.elements, [])

        var noRows = Matrix<Double>(zeros: 0, 2)
        try LAPACK.potrs(factor: empty, solving: &noRows)
        XCTAssertEqual(noRows.columns, 2)

        var noColumns = Matrix<Double>(zeros: 3, 0)
        try LAPACK.potrs(factor: Matrix.identity(3), solving: &noColumns)
        XCTAssertEqual(noColumns.rows, 3)

        let decomposition = try LAPACK.syevd(empty)
        XCTAssertEqual(decomposition.eigenvalues, [])
        XCTAssertEqual(decomposition.eigenvectors.rows, 0)

        let solution = try LAPACK.gesv(Matrix<Float>(zeros: 0, 0), Matrix(zeros: 0, 4))
        XCTAssertEqual(solution.columns, 4)
        XCTAssertEqual(try LAPACK.gesv(Matrix<Float>.identity(2), Matrix(zeros: 2, 0)).columns, 0)

        let q = try LAPACK.orthonormalFactor(ofQR: Matrix<Double>(zeros: 5, 0))
        XCTAssertEqual(q.rows, 5)
        XCTAssertEqual(q.columns, 0)
    }

    // MARK: - Generic checks

    private func checkPotrf<Scalar: LapackScalar>(_: Scalar.Type) throws {
        var generator = SeededGenerator(seed: 5)
        for n in orders {
            let a = Matrix<Scalar>.randomSPD(n, using: &generator)
            for lower in [true, false] {
                var factor = a
                try LAPACK.potrf(&factor, lower: lower)
                factor.zeroOppositeTriangle(keepLower: lower)
                // A = L·Lᵀ for the lower factor, A = Uᵀ·U for the upper one.
                let product = lower
                    ? naiveProduct(factor, factor, transposeB: true)
                    : naiveProduct(factor, factor, transposeA: true)
                assertClose(a, product, tolerance: tolerance(for: Scalar.self), "\(Scalar.self) potrf n=\(n) lower=\(lower)")
                for i in 0..<n {
                    XCTAssertGreaterThan(factor[i, i], 0, "\(Scalar.self) potrf n=\(n): diagonal entry \(i)")
                }
            }
        }
    }

    private func checkPotrs<Scalar: LapackScalar>(_: Scalar.Type) throws {
        var generator = SeededGenerator(seed: 6)
        for n in orders {
            for lower in [true, false] {
                let a = Matrix<Scalar>.randomSPD(n, using: &generator)
                let b = Matrix<Scalar>.random(n, 3, using: &generator)
                var factor = a
                try LAPACK.potrf(&factor, lower: lower)
                var x = b
                try LAPACK.potrs(factor: factor, lower: lower, solving: &x)
                assertClose(naiveProduct(a, x), b.converted(), tolerance: tolerance(for: Scalar.self),
                            "\(Scalar.self) potrs n=\(n) lower=\(lower): A·X against B")
            }
        }
    }

    private func checkPotri<Scalar: LapackScalar>(_: Scalar.Type) throws {
        var generator = SeededGenerator(seed: 7)
        for n in orders {
            for lower in [true, false] {
                let a = Matrix<Scalar>.randomSPD(n, using: &generator)
                var inverse = a
                try LAPACK.potrf(&inverse, lower: lower)
                try LAPACK.potri(&inverse, lower: lower)
                XCTAssertEqual(inverse, inverse.transposed, "\(Scalar.self) potri n=\(n): result is not symmetric")
                assertClose(naiveProduct(a, inverse), Matrix<Double>.identity(n), tolerance: tolerance(for: Scalar.self),
                            "\(Scalar.self) potri n=\(n) lower=\(lower): A·A⁻¹ against I")
            }
        }
    }

    private func checkSyevd<Scalar: LapackScalar>(_: Scalar.Type) throws {
        var generator = SeededGenerator(seed: 8)
        for n in orders {
            for lower in [true, false] {
                // A symmetric matrix with eigenvalues of both signs.
                let b = Matrix<Scalar>.random(n, n, using: &generator)
                let a: Matrix<Scalar> = try b + b.transposed
                // The triangle not read gets garbage, which must not matter.
                var stored = a
                for j in 0..<n {
                    for i in 0..<n where lower ? i < j : i > j {
                        stored[i, j] = 99
                    }
                }
                let (eigenvalues, q) = try LAPACK.syevd(stored, lower: lower)
                let label = "\(Scalar.self) syevd n=\(n) lower=\(lower)"

                XCTAssertEqual(eigenvalues, eigenvalues.sorted(), "\(label): eigenvalues not ascending")
                assertClose(naiveProduct(q, q, transposeA: true), Matrix<Double>.identity(n),
                            tolerance: tolerance(for: Scalar.self), "\(label): QᵀQ against I")
                var scaled = q
                for j in 0..<n {
                    for i in 0..<n {
                        scaled[i, j] *= eigenvalues[j]
                    }
                }
                assertClose(a, naiveProduct(scaled, q, transposeB: true), tolerance: tolerance(for: Scalar.self),
                            "\(label): QΛQᵀ against A")
            }
        }
    }

    private func checkGesv<Scalar: LapackScalar>(_: Scalar.Type) throws {
        var generator = SeededGenerator(seed: 9)
        for n in orders {
            var a = Matrix<Scalar>.random(n, n, using: &generator)
            for i in 0..<n {
                a[i, i] += Scalar(n)
            }
            let b = Matrix<Scalar>.random(n, 4, using: &generator)
            let x = try LAPACK.gesv(a, b)
            assertClose(naiveProduct(a, x), b.converted(), tolerance: tolerance(for: Scalar.self),
                        "\(Scalar.self) gesv n=\(n): A·X against B")
        }
    }

    private func checkOrthonormalFactor<Scalar: LapackScalar>(_: Scalar.Type) throws {
        var generator = SeededGenerator(seed: 10)
        for (m, n) in [(5, 5), (8, 3), (4, 1)] {
            let a = Matrix<Scalar>.random(m, n, using: &generator)
            let q = try LAPACK.orthonormalFactor(ofQR: a)
            let label = "\(Scalar.self) orthonormalFactor \(m) × \(n)"
            XCTAssertEqual(q.rows, m, label)
            XCTAssertEqual(q.columns, n, label)
            assertClose(naiveProduct(q, q, transposeA: true), Matrix<Double>.identity(n),
                        tolerance: tolerance(for: Scalar.self), "\(label): QᵀQ against I")
            // Q·Qᵀ projects onto the column space of A, which leaves A unchanged.
            let coefficients = naiveProduct(q, a, transposeA: true)
            assertClose(naiveProduct(q.converted(to: Double.self), coefficients), a.converted(),
                        tolerance: tolerance(for: Scalar.self), "\(label): Q·Qᵀ·A against A")
        }
    }
}
