/// The Kronecker-factored approximate curvature (KFAC) of a network: a
/// block-diagonal matrix with one Kronecker product per layer.
///
/// Each layer has an input factor A and a gradient factor G. For a weight
/// viewed as a d_out × d_in matrix M and flattened row-major, the block is
/// kron(G, A), so
///
/// ```
/// weight block:  M ↦ G·M·A           kron(G, A),  A: d_in × d_in
/// bias block:    b ↦ G·b             G,           G: d_out × d_out
/// joint block:   [W | b] ↦ G·[W | b]·Ã   kron(G, Ã), Ã: (d_in + 1) × (d_in + 1)
/// ```
///
/// A layer is *joint* when it has both a weight and a bias and
/// `separateWeightAndBias` is false; its input factor then carries the extra
/// row and column of the appended constant input 1. Blocks of different
/// layers, and the weight–bias block of a separate layer, are zero.
///
/// The factors are stored once and filled lazily: exactly once, on first use
/// or by ``computeKroneckerFactors()``, also when several threads ask at the
/// same time. An operator built from given factors (the public initializer)
/// has them from the start. Copies of an operator share the factors and the
/// eigendecompositions that exact damping and the matrix functions compute.
///
/// The operator does not support weight matrices without an output axis or
/// layers whose weight and bias sit in different operators.
public struct KFACLinearOperator<Scalar: LapackScalar>: LinearOperator {
    /// The shapes of the parameter blocks, in the caller's order.
    public var inputShapes: [[Int]] { layout.parameterShapes }

    /// The same as ``inputShapes``: the operator is square.
    public var outputShapes: [[Int]] { layout.parameterShapes }

    /// The layers, each with the positions of its weight and bias.
    public var layers: [KFACLayer] { layout.layerDescriptions }

    /// The Fisher type of the gradient factors, computed or to be computed.
    public let fisherType: FisherType

    /// The treatment of layers with weight sharing in the factors, computed or to be computed.
    public let kfacApproximation: KFACApproximation

    /// Whether weight and bias of a layer form separate blocks (true) or one
    /// joint block with an input factor of size d_in + 1 (false).
    public var separateWeightAndBias: Bool { layout.separateWeightAndBias }

    let layout: KroneckerLayout
    let factorStore: LazyValue<KFACFactors<Scalar>>
    let eigendecompositionStore: LazyValue<[String: KFACLayerEigendecomposition<Scalar>]>

    /// Creates KFAC from given Kronecker factors, for factors computed elsewhere
    /// (for example exported from PyTorch).
    ///
    /// Factors equal to their transpose up to rounding are accepted and stored
    /// as their exact symmetric part (F + Fᵀ)/2.
    ///
    /// Every factor must be symmetric positive semidefinite, as a covariance
    /// is. Construction checks the conditions that cost O(d²): no diagonal
    /// entry below zero and |F_ij| ≤ √(F_ii·F_jj) for every entry, each up to
    /// a rounding tolerance of √ε · max |F|. A factor that passes them but
    /// still has a negative eigenvalue is only detected where an
    /// eigendecomposition or a Cholesky factorisation is computed: the
    /// inverse (``KFACInverseLinearOperator``) then reports it as indefinite,
    /// and ``logDeterminant()`` may return NaN.
    ///
    /// - Parameters:
    ///   - parameterShapes: The shape of every parameter block, in the order of
    ///     the flat vector: `[d_out, d_in]` (or `[C_out, C_in, kh, kw]`) for a
    ///     weight, `[d_out]` for a bias.
    ///   - layers: Every layer with the positions of its weight and bias in
    ///     `parameterShapes`; each parameter belongs to exactly one layer.
    ///   - inputCovariances: The input factor A of every layer with a weight,
    ///     keyed by layer name: d_in × d_in, or (d_in + 1) × (d_in + 1) for a
    ///     joint layer. Layers without weight have none.
    ///   - gradientCovariances: The gradient factor G (d_out × d_out) of every layer.
    ///   - fisherType: The Fisher type the factors come from. Default `.type2`.
    ///     Only recorded: the given factors define the operator. Monte-Carlo
    ///     samples must still be at least 1.
    ///   - kfacApproximation: The weight-sharing treatment the factors come
    ///     from. Default `.expand`. Only recorded.
    ///   - separateWeightAndBias: Whether weight and bias of a layer form
    ///     separate blocks. Default true, as in curvlinops.
    /// - Throws: ``CurvlinopsError/Kind/invalidArgument`` for an inconsistent
    ///   layer description, a missing or surplus factor, a factor that is
    ///   not symmetric or fails the semidefiniteness conditions above, or
    ///   Monte-Carlo samples below 1; ``CurvlinopsError/Kind/shapeMismatch``
    ///   for a parameter shape or factor size that does not fit, or parameter
    ///   shapes or factors with more entries than `Int` can count;
    ///   ``CurvlinopsError/Kind/nonFiniteValue`` for NaN or infinite factor entries.
    /// - Complexity: O(d²) per factor of size d.
    public init(
        parameterShapes: [[Int]],
        layers: [KFACLayer],
        inputCovariances: [String: Matrix<Scalar>],
        gradientCovariances: [String: Matrix<Scalar>],
        fisherType: FisherType = .type2,
        kfacApproximation: KFACApproximation = .expand,
        separateWeightAndBias: Bool = true
    ) throws {
        try fisherType.validate(owner: "KFACLinearOperator")
        let layout = try KroneckerLayout(
            parameterShapes: parameterShapes, layers: layers,
            separateWeightAndBias: separateWeightAndBias, owner: "KFACLinearOperator")
        let factors = try KFACFactors(inputCovariances: inputCovariances, gradientCovariances: gradientCovariances)
            .checked(against: layout, owner: "KFACLinearOperator")
        self.init(layout: layout, fisherType: fisherType, kfacApproximation: kfacApproximation,
                  factorStore: LazyValue(value: factors))
    }

    /// Creates KFAC whose factors a closure computes on first use.
    ///
    /// This is the entry point for constructors that compute the factors from
    /// a model and data: the closure runs once, on the first apply, matrix
    /// function or ``computeKroneckerFactors()``, while concurrent callers
    /// wait. Its result is checked like given factors; when the closure or
    /// the check throws, nothing is stored and the next use tries again.
    ///
    /// - Parameters:
    ///   - computeFactors: Returns the input factors (layers with a weight)
    ///     and gradient factors (every layer), keyed by layer name. It must not
    ///     use this operator's factors itself, which would deadlock.
    /// - Throws: As the public initializer, for the layer description only.
    init(
        parameterShapes: [[Int]],
        layers: [KFACLayer],
        fisherType: FisherType,
        kfacApproximation: KFACApproximation,
        separateWeightAndBias: Bool,
        computeFactors: @escaping @Sendable () throws -> KFACFactors<Scalar>
    ) throws {
        let layout = try KroneckerLayout(
            parameterShapes: parameterShapes, layers: layers,
            separateWeightAndBias: separateWeightAndBias, owner: "KFACLinearOperator")
        let store = LazyValue {
            try computeFactors().checked(against: layout, owner: "KFACLinearOperator")
        }
        self.init(layout: layout, fisherType: fisherType, kfacApproximation: kfacApproximation, factorStore: store)
    }

    init(
        layout: KroneckerLayout, fisherType: FisherType, kfacApproximation: KFACApproximation,
        factorStore: LazyValue<KFACFactors<Scalar>>
    ) {
        self.layout = layout
        self.fisherType = fisherType
        self.kfacApproximation = kfacApproximation
        self.factorStore = factorStore
        self.eigendecompositionStore = LazyValue { [factorStore] in
            try factorStore.value().eigendecompositions(layout: layout)
        }
    }

    /// Computes the Kronecker factors now, if they are not stored yet.
    ///
    /// Apply and the matrix functions compute them on first use anyway; call
    /// this to choose when the cost is paid.
    ///
    /// - Throws: Whatever the factor computation throws.
    public func computeKroneckerFactors() throws {
        _ = try factorStore.value()
    }

    /// Whether the Kronecker factors are stored.
    public var areKroneckerFactorsComputed: Bool {
        factorStore.valueIfPresent != nil
    }

    /// The input factor A of every layer with a weight, keyed by layer name.
    ///
    /// Reading this computes the factors if they are not stored yet.
    public var inputCovariances: [String: Matrix<Scalar>] {
        get throws { try factorStore.value().inputCovariances }
    }

    /// The gradient factor G of every layer, keyed by layer name.
    ///
    /// Reading this computes the factors if they are not stored yet.
    public var gradientCovariances: [String: Matrix<Scalar>] {
        get throws { try factorStore.value().gradientCovariances }
    }

    /// Multiplies the columns of `x` by KFAC.
    ///
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` or
    ///   ``CurvlinopsError/Kind/nonFiniteValue`` for a bad `x`, and whatever
    ///   computing the factors throws.
    /// - Complexity: Two gemms per block: 2·k·d_out·c·(d_out + c) flops for a
    ///   block of d_out × c matrices and k columns.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Matrix<Scalar>) throws -> Matrix<Scalar> {
        try validateInput(x)
        let factors = try factorStore.value()
        let actions = layout.blocks.map { block in
            let right = block.hasInputFactor ? factors.inputCovariances[block.layer]! : nil
            let action = KroneckerBlockAction.product(left: factors.gradientCovariances[block.layer]!, right: right)
            return (block: block, action: action)
        }
        return try applyKroneckerBlocks(actions, to: x, size: inputSize)
    }

    /// Returns the operator itself, because the matrix is symmetric.
    public func adjoint() -> any LinearOperator<Scalar> { self }

    /// How many times the eigendecompositions of the factors were computed; 0 or 1.
    ///
    /// Tests use it to check that inverses with exact damping share them.
    var eigendecompositionComputationCount: Int {
        eigendecompositionStore.computationCount
    }
}
