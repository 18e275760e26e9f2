/// The Kronecker factors of every layer of a KFAC approximation, keyed by layer name.
///
/// A layer with a weight has an input factor A (d_in × d_in, or
/// (d_in + 1) × (d_in + 1) when weight and bias are joint); every layer has a
/// gradient factor G (d_out × d_out). A layer with a bias only has no A.
struct KFACFactors<Scalar: LapackScalar>: Sendable {
    var inputCovariances: [String: Matrix<Scalar>]
    var gradientCovariances: [String: Matrix<Scalar>]

    /// Checks the factors against the layout and returns them with each factor
    /// made exactly symmetric, (F + Fᵀ)/2.
    ///
    /// A factor counts as symmetric when max |F − Fᵀ| ≤ √ε · max |F|, with ε the
    /// scalar's machine epsilon: covariances accumulated in another order or
    /// another library differ from symmetry by rounding only.
    ///
    /// - Throws: ``CurvlinopsError/Kind/invalidArgument`` for a missing factor,
    ///   a factor of an unknown layer, or an input factor of a layer without
    ///   weight; ``CurvlinopsError/Kind/shapeMismatch`` for a factor of the
    ///   wrong size; ``CurvlinopsError/Kind/nonFiniteValue`` for NaN or
    ///   infinite entries; ``CurvlinopsError/Kind/invalidArgument`` for a
    ///   factor that is not symmetric or fails a cheap positive-semidefiniteness
    ///   condition (a negative diagonal entry or 2 × 2 principal minor).
    func checked(against layout: KroneckerLayout, owner: String) throws -> KFACFactors {
        try Self.checkKeys(inputCovariances, argument: "inputCovariances", expected: layout.layers.filter(\.hasWeight),
                           layout: layout, owner: owner)
        try Self.checkKeys(gradientCovariances, argument: "gradientCovariances", expected: layout.layers,
                           layout: layout, owner: owner)

        var result = KFACFactors(inputCovariances: [:], gradientCovariances: [:])
        for layer in layout.layers {
            if let dimension = layer.inputFactorDimension {
                let detail = layer.joint ? "d_in + 1 = \(dimension), because weight and bias are joint" : "d_in = \(dimension)"
                result.inputCovariances[layer.name] = try checkedSymmetricFactor(
                    inputCovariances[layer.name]!, dimension: dimension, dimensionDetail: detail,
                    argument: "inputCovariances[\"\(layer.name)\"]", owner: owner)
            }
            result.gradientCovariances[layer.name] = try checkedSymmetricFactor(
                gradientCovariances[layer.name]!, dimension: layer.outputDimension,
                dimensionDetail: "d_out = \(layer.outputDimension)",
                argument: "gradientCovariances[\"\(layer.name)\"]", owner: owner)
        }
        return result
    }

    private static func checkKeys(
        _ factors: [String: Matrix<Scalar>], argument: String, expected: [KroneckerLayout.Layer],
        layout: KroneckerLayout, owner: String
    ) throws {
        let expectedNames = Set(expected.map(\.name))
        for name in factors.keys.sorted() where !expectedNames.contains(name) {
            if layout.layer(named: name) != nil {
                throw CurvlinopsError.invalidArgument(
                    "\(owner): \(argument) has a factor for layer \"\(name)\", whose weight is not among the parameters; expected input factors only for layers with a weight.")
            }
            throw CurvlinopsError.invalidArgument(
                "\(owner): \(argument) has a factor for \"\(name)\", which is not a layer of the operator; the layers are \(layout.layers.map(\.name)).")
        }
        for layer in expected where factors[layer.name] == nil {
            throw CurvlinopsError.invalidArgument(
                "\(owner): \(argument) has no factor for layer \"\(layer.name)\"; expected one for each of \(expected.map(\.name)).")
        }
    }
}

/// Checks that a Kronecker factor is a finite, symmetric `dimension` × `dimension`
/// matrix without a negative diagonal entry or 2 × 2 principal minor, and
/// returns its symmetric part.
///
/// - Throws: ``CurvlinopsError/Kind/shapeMismatch``,
///   ``CurvlinopsError/Kind/nonFiniteValue`` or
///   ``CurvlinopsError/Kind/invalidArgument`` (not symmetric, or not positive
///   semidefinite by those conditions), each naming `argument`.
func checkedSymmetricFactor<Scalar: LapackScalar>(
    _ factor: Matrix<Scalar>, dimension: Int, dimensionDetail: String, argument: String, owner: String
) throws -> Matrix<Scalar> {
    guard factor.rows == dimension, factor.columns == dimension else {
        throw CurvlinopsError.shapeMismatch(
            "\(owner): \(argument) is \(factor.rows) × \(factor.columns); expected \(dimension) × \(dimension) (\(dimensionDetail)).")
    }
    guard factor.isFinite else {
        throw CurvlinopsError.nonFinite("\(owner): \(argument) contains NaN or infinite entries; expected finite values.")
    }
    let n = dimension
    let largest = factor.maxAbsoluteValue
    let tolerance = Scalar.ulpOfOne.squareRoot() * largest
    var symmetric = factor
    var worst: (row: Int, column: Int, difference: Scalar) = (0, 0, 0)
    symmetric.withUnsafeMutableBufferPointer { a in
        for j in 0..<n {
            for i in (j + 1)..<max(j + 1, n) {
                let lower = a[i + j * n]
                let upper = a[j + i * n]
                let difference = abs(lower - upper)
                if difference > worst.difference {
                    worst = (i, j, difference)
                }
                let mean = (lower + upper) / 2
                a[i + j * n] = mean
                a[j + i * n] = mean
            }
        }
    }
    guard worst.difference <= tolerance else {
        throw CurvlinopsError.invalidArgument(
            "\(owner): \(argument) is not symmetric: entries (\(worst.row), \(worst.column)) and (\(worst.column), \(worst.row)) differ by \(worst.difference), more than \(tolerance) = √ε · max |entry|; expected a symmetric Kronecker factor.")
    }
    try checkSemidefiniteConditions(symmetric, tolerance: tolerance, argument: argument, owner: owner)
    return symmetric
}

/// Checks two necessary conditions for a symmetric matrix F to be positive
/// semidefinite, each up to `tolerance`: F_ii ≥ 0, and |F_ij| ≤ √(F_ii·F_jj),
/// which means that every 2 × 2 principal minor is ≥ 0.
///
/// They cost O(n²) and catch the usual mistakes (a sign error, a factor that
/// is not a covariance); an indefinite matrix can pass them, which only an
/// eigendecomposition reveals.
///
/// - Throws: ``CurvlinopsError/Kind/invalidArgument`` naming `argument` and the offending entry.
private func checkSemidefiniteConditions<Scalar: LapackScalar>(
    _ factor: Matrix<Scalar>, tolerance: Scalar, argument: String, owner: String
) throws {
    let n = factor.rows
    let diagonal = (0..<n).map { factor[$0, $0] }
    if let index = diagonal.firstIndex(where: { $0 < -tolerance }) {
        throw CurvlinopsError.invalidArgument(
            "\(owner): \(argument) is not positive semidefinite: diagonal entry (\(index), \(index)) is \(diagonal[index]); expected a covariance-like Kronecker factor, whose diagonal entries are ≥ 0.")
    }
    let roots = diagonal.map { max($0, 0).squareRoot() }
    let violation: (row: Int, column: Int)? = factor.withUnsafeBufferPointer { a in
        for j in 0..<n {
            for i in (j + 1)..<max(j + 1, n) where abs(a[i + j * n]) > roots[i] * roots[j] + tolerance {
                return (i, j)
            }
        }
        return nil
    }
    if let (i, j) = violation {
        throw CurvlinopsError.invalidArgument(
            "\(owner): \(argument) is not positive semidefinite: entry (\(i), \(j)) = \(factor[i, j]) exceeds √(F[\(i), \(i)]·F[\(j), \(j)]) = \(roots[i] * roots[j]) by more than the tolerance \(tolerance), so the 2 × 2 principal minor of rows \(j) and \(i) is negative; expected a covariance-like Kronecker factor.")
    }
}
