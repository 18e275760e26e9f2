import Foundation

/// The damped and factorised Kronecker factors of every layer of a KFAC
/// inverse, with the block actions that apply them and the report of how
/// they were obtained.
struct PreparedKFACInverse<Scalar: LapackScalar>: Sendable {
    /// The factors that one layer's inverse is built from.
    enum LayerFactors: Sendable {
        /// (A + δ_A I)⁻¹ (nil for a layer without weight) and (G + δ_G I)⁻¹.
        case inverses(input: Matrix<Scalar>?, gradient: Matrix<Scalar>)

        /// The factors' eigendecompositions and, for EKFAC, the corrected
        /// eigenvalues of each block; KFAC's own eigenvalues are λ_G[i]·λ_A[j].
        case eigenbasis(KFACLayerEigendecomposition<Scalar>, correctedEigenvalues: [KroneckerBlock.Kind: Matrix<Scalar>]?)
    }

    /// The damping, fallback and retries behind a layer's factors, for the report.
    struct LayerNotes: Sendable {
        var damping: KFACInverseReport<Scalar>.AppliedDamping
        var fallbackReason: String? = nil
        var inputRetried = false
        var gradientRetried = false
    }

    let layerFactors: [String: LayerFactors]
    let actions: [(block: KroneckerBlock, action: KroneckerBlockAction<Scalar>)]
    let report: KFACInverseReport<Scalar>

    /// Builds the block actions from the layers' factors.
    ///
    /// - Parameter exactDamping: λ for the eigenbasis layers; ignored for the others.
    /// - Throws: ``CurvlinopsError/Kind/notPositiveDefinite`` when a damped
    ///   eigenvalue is numerically zero, so that its inverse is meaningless.
    init(
        layout: KroneckerLayout, layerFactors: [String: LayerFactors],
        notes: [String: LayerNotes], exactDamping: Scalar
    ) throws {
        var actions: [(block: KroneckerBlock, action: KroneckerBlockAction<Scalar>)] = []
        var smallest: [String: Scalar] = [:]
        for block in layout.blocks {
            switch layerFactors[block.layer]! {
            case let .inverses(input, gradient):
                actions.append((block, .product(left: gradient, right: block.hasInputFactor ? input! : nil)))
            case let .eigenbasis(eigendecomposition, corrected):
                let eigenvalues = corrected?[block.kind]
                    ?? kroneckerEigenvalues(eigendecomposition, block: block)
                let (scaling, minimum) = try invertedDampedEigenvalues(
                    eigenvalues, damping: exactDamping, block: block)
                smallest[block.layer] = min(smallest[block.layer] ?? minimum, minimum)
                let right = block.hasInputFactor ? eigendecomposition.input!.eigenvectors : nil
                actions.append((block, .eigenbasis(
                    left: eigendecomposition.gradient.eigenvectors, right: right, scaling: scaling)))
            }
        }

        self.layerFactors = layerFactors
        self.actions = actions
        self.report = KFACInverseReport(layers: layout.layers.map { layer in
            let note = notes[layer.name]!
            return KFACInverseReport.Layer(
                name: layer.name, damping: note.damping, fallbackReason: note.fallbackReason,
                inputRetriedInDoublePrecision: note.inputRetried,
                gradientRetriedInDoublePrecision: note.gradientRetried,
                smallestDampedEigenvalue: smallest[layer.name])
        })
    }
}

/// KFAC's eigenvalues of one block as a d_out × c matrix: λ_G[i]·λ_A[j], or λ_G[i] for a bias block.
private func kroneckerEigenvalues<Scalar: LapackScalar>(
    _ eigendecomposition: KFACLayerEigendecomposition<Scalar>, block: KroneckerBlock
) -> Matrix<Scalar> {
    let gradient = eigendecomposition.gradient.eigenvalues
    guard block.hasInputFactor else {
        return try! Matrix(rows: gradient.count, columns: 1, columnMajor: gradient)
    }
    let input = eigendecomposition.input!.eigenvalues
    var result = Matrix<Scalar>(zeros: gradient.count, input.count)
    result.withUnsafeMutableBufferPointer { r in
        for j in input.indices {
            for i in gradient.indices {
                r[i + j * gradient.count] = gradient[i] * input[j]
            }
        }
    }
    return result
}

/// 1/(s + λ) for every eigenvalue s of a block, and the smallest s + λ.
///
/// A damped eigenvalue with |s + λ| ≤ (d_out + c)·ε·max |s| is rounding noise
/// around zero (typically damping 0 on a singular factor); inverting it would
/// return a meaningless huge or infinite value, so it throws instead.
private func invertedDampedEigenvalues<Scalar: LapackScalar>(
    _ eigenvalues: Matrix<Scalar>, damping: Scalar, block: KroneckerBlock
) throws -> (scaling: Matrix<Scalar>, smallest: Scalar) {
    let largest = eigenvalues.maxAbsoluteValue
    let threshold = Scalar(block.rows + block.columns) * Scalar.ulpOfOne * largest
    var scaling = eigenvalues
    var smallest = Scalar.infinity
    var singular: (index: Int, value: Scalar)?
    scaling.withUnsafeMutableBufferPointer { s in
        for index in s.indices {
            let damped = s[index] + damping
            smallest = min(smallest, damped)
            if abs(damped) <= threshold, singular == nil {
                singular = (index, damped)
            }
            s[index] = 1 / damped
        }
    }
    if let singular {
        let (row, column) = (singular.index % block.rows, singular.index / block.rows)
        throw CurvlinopsError(
            .notPositiveDefinite,
            "KFACInverseLinearOperator: the \(block.kind.rawValue) block of layer \"\(block.layer)\" has the damped eigenvalue \(singular.value) at (\(row), \(column)) with damping \(damping), which is zero up to rounding (threshold \(threshold)); the damped matrix is singular. Use a damping > 0.")
    }
    return (scaling, smallest)
}

/// The input or gradient factor of a layer, for messages.
enum KroneckerFactorRole: String, Sendable {
    case input, gradient

    var symbol: String { self == .input ? "A" : "G" }
}

/// The reason a damped Cholesky factorisation was rejected.
private enum DampedCholeskyFailure: Error {
    /// `potrf` stopped at a leading minor that is not positive definite.
    case notPositiveDefinite(info: Int32)
    /// `potrf` succeeded, but pivot `index` (1-based) is zero up to rounding.
    case numericallySingular(index: Int, squaredPivot: Double, threshold: Double)
    /// The inverse overflowed.
    case nonFiniteInverse

    var explanation: String {
        switch self {
        case let .notPositiveDefinite(info):
            "potrf returned info = \(info): the leading minor of order \(info) is not positive definite"
        case let .numericallySingular(index, squaredPivot, threshold):
            "potrf returned info = 0, but the squared pivot \(index) is \(squaredPivot), at most n·ε·max diagonal = \(threshold): the matrix is singular up to rounding"
        case .nonFiniteInverse:
            "potrf returned info = 0, but the inverse from potri overflowed"
        }
    }
}

/// (F + δI)⁻¹ through the Cholesky factorisation F + δI = L·Lᵀ (`potrf`, then `potri`).
///
/// Pivots with L_kk² ≤ n·ε·max_i (F_ii + δ) are rejected as well: the
/// factorisation then only succeeded by rounding, and the inverse would be noise.
private func dampedCholeskyInverse<T: LapackScalar>(_ factor: Matrix<T>, damping: T) throws -> Matrix<T> {
    let n = factor.rows
    var damped = factor
    damped.withUnsafeMutableBufferPointer { a in
        for i in 0..<n {
            a[i + i * n] += damping
        }
    }
    let largestDiagonal = (0..<n).map { damped[$0, $0] }.max() ?? 0
    guard n > 0 else { return damped }

    // The raw routine, because its `info` goes into the caller's message.
    let n32 = try lapackInteger(n, "n", routine: "potrf")
    let info = damped.withUnsafeMutableBufferPointer { a in
        T.potrf(lower: true, n: n32, a: a.baseAddress!, lda: n32)
    }
    if info > 0 {
        throw DampedCholeskyFailure.notPositiveDefinite(info: info)
    }
    try LAPACK.checkInfo(info, routine: "potrf")

    let threshold = T(n) * T.ulpOfOne * largestDiagonal
    for k in 0..<n {
        let squaredPivot = damped[k, k] * damped[k, k]
        if squaredPivot <= threshold {
            throw DampedCholeskyFailure.numericallySingular(
                index: k + 1, squaredPivot: Double(squaredPivot), threshold: Double(threshold))
        }
    }
    try LAPACK.potri(&damped)
    guard damped.isFinite else {
        throw DampedCholeskyFailure.nonFiniteInverse
    }
    return damped
}

extension KFACInverseLinearOperator {
    /// Damps and inverts every layer's Kronecker factors by Cholesky (scalar,
    /// per-factor and heuristic damping).
    static func prepareCholesky(
        _ kfac: KFACLinearOperator<Scalar>, damping: KFACDamping<Scalar>, retryInDoublePrecision: Bool
    ) throws -> PreparedKFACInverse<Scalar> {
        let factors = try kfac.factorStore.value()
        var layerFactors: [String: PreparedKFACInverse<Scalar>.LayerFactors] = [:]
        var notes: [String: PreparedKFACInverse<Scalar>.LayerNotes] = [:]
        for layer in kfac.layout.layers {
            let input = factors.inputCovariances[layer.name]
            let gradient = factors.gradientCovariances[layer.name]!
            let factorDamping = damping.factorDamping(input: input, gradient: gradient)
            var note = PreparedKFACInverse<Scalar>.LayerNotes(
                damping: .perFactor(input: factorDamping.input, gradient: factorDamping.gradient),
                fallbackReason: factorDamping.fallbackReason)

            var inputInverse: Matrix<Scalar>?
            if let input {
                let result = try invertDampedFactor(
                    input, damping: factorDamping.input, layer: layer.name, role: .input,
                    retryInDoublePrecision: retryInDoublePrecision)
                inputInverse = result.inverse
                note.inputRetried = result.retried
            }
            let gradientResult = try invertDampedFactor(
                gradient, damping: factorDamping.gradient, layer: layer.name, role: .gradient,
                retryInDoublePrecision: retryInDoublePrecision)
            note.gradientRetried = gradientResult.retried

            layerFactors[layer.name] = .inverses(input: inputInverse, gradient: gradientResult.inverse)
            notes[layer.name] = note
        }
        return try PreparedKFACInverse(layout: kfac.layout, layerFactors: layerFactors, notes: notes, exactDamping: 0)
    }

    /// Builds exact damping from KFAC's eigendecompositions, which the KFAC
    /// operator computes once and shares with every inverse built on it.
    static func prepareExact(_ kfac: KFACLinearOperator<Scalar>, damping: Scalar) throws -> PreparedKFACInverse<Scalar> {
        let eigendecompositions = try kfac.eigendecompositionStore.value()
        return try prepareExact(layout: kfac.layout, eigendecompositions: eigendecompositions, damping: damping)
    }

    /// Builds exact damping from given eigendecompositions of KFAC's factors.
    ///
    /// - Throws: ``CurvlinopsError/Kind/notPositiveDefinite`` when a factor
    ///   has an eigenvalue below −√ε·max |λ| (an indefinite factor, which a
    ///   damping would only hide), or when a damped eigenvalue is zero up to rounding.
    static func prepareExact(
        layout: KroneckerLayout, eigendecompositions: [String: KFACLayerEigendecomposition<Scalar>], damping: Scalar
    ) throws -> PreparedKFACInverse<Scalar> {
        for layer in layout.layers {
            let entry = eigendecompositions[layer.name]!
            let factors: [(KroneckerFactorRole, SymmetricEigendecomposition<Scalar>?)] = [
                (.input, entry.input), (.gradient, entry.gradient),
            ]
            for case let (role, eigendecomposition?) in factors {
                if let finding = IndefiniteKroneckerFactor(eigenvalues: eigendecomposition.eigenvalues) {
                    throw CurvlinopsError(
                        .notPositiveDefinite,
                        "KFACInverseLinearOperator: \(finding.description(role: role, layer: layer.name)). \(IndefiniteKroneckerFactor<Scalar>.advice)")
                }
            }
        }
        let layerFactors = eigendecompositions.mapValues {
            PreparedKFACInverse<Scalar>.LayerFactors.eigenbasis($0, correctedEigenvalues: nil)
        }
        let notes = Dictionary(uniqueKeysWithValues: layout.layers.map {
            ($0.name, PreparedKFACInverse<Scalar>.LayerNotes(damping: .exact(damping)))
        })
        return try PreparedKFACInverse(layout: layout, layerFactors: layerFactors, notes: notes, exactDamping: damping)
    }

    /// Builds the damped inverse of EKFAC, 1/(Λ + λ) in its eigenbasis.
    static func prepareEKFAC(_ ekfac: EKFACLinearOperator<Scalar>, damping: Scalar) throws -> PreparedKFACInverse<Scalar> {
        let data = try ekfac.dataStore.value()
        var layerFactors: [String: PreparedKFACInverse<Scalar>.LayerFactors] = [:]
        var notes: [String: PreparedKFACInverse<Scalar>.LayerNotes] = [:]
        for layer in ekfac.layout.layers {
            layerFactors[layer.name] = .eigenbasis(
                data.eigendecompositions[layer.name]!, correctedEigenvalues: data.scalings[layer.name]!)
            notes[layer.name] = PreparedKFACInverse<Scalar>.LayerNotes(damping: .exact(damping))
        }
        return try PreparedKFACInverse(layout: ekfac.layout, layerFactors: layerFactors, notes: notes, exactDamping: damping)
    }

    /// (F + δI)⁻¹ of one factor by Cholesky; for `Float`, a failure is retried
    /// in `Double` when `retryInDoublePrecision` is on.
    ///
    /// The retry converts the undamped factor to `Double`, adds δ there (where
    /// a small δ is not lost to rounding), factorises and inverts, and rounds
    /// the inverse back to `Float`.
    ///
    /// - Throws: ``CurvlinopsError/Kind/notPositiveDefinite`` naming the layer,
    ///   the factor, the damping, the precision and the LAPACK `info`; when the
    ///   undamped factor has an eigenvalue below −√ε·max |λ|, the message names
    ///   that eigenvalue as the cause, and no retry is made.
    static func invertDampedFactor(
        _ factor: Matrix<Scalar>, damping: Scalar, layer: String, role: KroneckerFactorRole,
        retryInDoublePrecision: Bool
    ) throws -> (inverse: Matrix<Scalar>, retried: Bool) {
        let description = "the damped \(role.rawValue) factor \(role.symbol) + δ·I (δ = \(damping)) of layer \"\(layer)\""
        let firstFailure: DampedCholeskyFailure
        do {
            return (try dampedCholeskyInverse(factor, damping: damping), false)
        } catch let failure as DampedCholeskyFailure {
            firstFailure = failure
        }

        if let finding = IndefiniteKroneckerFactor(factor: factor) {
            throw CurvlinopsError(
                .notPositiveDefinite,
                "KFACInverseLinearOperator: \(finding.description(role: role, layer: layer)), so the Cholesky factorisation of \(description) failed in \(Scalar.precisionName): \(firstFailure.explanation). \(IndefiniteKroneckerFactor<Scalar>.advice)")
        }
        let isDouble = Scalar.self == Double.self
        guard retryInDoublePrecision, !isDouble else {
            let advice = isDouble
                ? "Increase the damping."
                : "Increase the damping, or turn on retryInDoublePrecision to redo the factorisation in Double."
            throw CurvlinopsError(
                .notPositiveDefinite,
                "KFACInverseLinearOperator: the Cholesky factorisation of \(description) failed in \(Scalar.precisionName): \(firstFailure.explanation). \(advice)")
        }

        let wide = try Matrix<Double>(rows: factor.rows, columns: factor.columns,
                                      columnMajor: factor.elements.map { Double($0) })
        do {
            let inverse = try dampedCholeskyInverse(wide, damping: Double(damping))
            let narrow = try Matrix<Scalar>(rows: inverse.rows, columns: inverse.columns,
                                            columnMajor: inverse.elements.map { Scalar($0) })
            guard narrow.isFinite else {
                throw DampedCholeskyFailure.nonFiniteInverse
            }
            return (narrow, true)
        } catch let failure as DampedCholeskyFailure {
            throw CurvlinopsError(
                .notPositiveDefinite,
                "KFACInverseLinearOperator: the Cholesky factorisation of \(description) failed in \(Scalar.precisionName) (\(firstFailure.explanation)) and again when retried in float64 (\(failure.explanation)). Increase the damping.")
        }
    }
}
