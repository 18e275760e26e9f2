/// Eigenvalue-corrected KFAC (EKFAC, George et al. 2018): KFAC's eigenbasis
/// with eigenvalues refitted to the curvature.
///
/// With Q_A and Q_G the eigenvectors of a layer's Kronecker factors (columns,
/// ascending eigenvalues, from `syevd`) and Λ its corrected eigenvalues, the
/// layer's block is
///
/// ```
/// weight or joint block:  kron(Q_G, Q_A)·diag(vec(Λ))·kron(Q_G, Q_A)ᵀ,  M ↦ Q_G·(Λ ∘ (Q_Gᵀ·M·Q_A))·Q_Aᵀ
/// bias block:             Q_G·diag(λ)·Q_Gᵀ
/// ```
///
/// laid out in the flat vector exactly like ``KFACLinearOperator``'s blocks.
/// The eigenvectors' signs cancel. When a factor has repeated eigenvalues its
/// eigenbasis is not unique, and corrected eigenvalues computed in another
/// library's basis then describe a different operator unless the result is
/// basis-independent.
///
/// The data are stored once and filled lazily like KFAC's factors: exactly
/// once, on first use or by ``computeEigenvalueCorrection()``, also when
/// several threads ask at the same time.
public struct EKFACLinearOperator<Scalar: LapackScalar>: LinearOperator {
    /// The shapes of the parameter blocks, in the caller's order.
    public var inputShapes: [[Int]] { layout.parameterShapes }

    /// The same as ``inputShapes``: the operator is square.
    public var outputShapes: [[Int]] { layout.parameterShapes }

    /// The layers, each with the positions of its weight and bias.
    public var layers: [KFACLayer] { layout.layerDescriptions }

    /// The Fisher type of the gradient factors and corrected eigenvalues, computed or to be computed.
    public let fisherType: FisherType

    /// The treatment of layers with weight sharing in the factors, computed or to be computed.
    public let kfacApproximation: KFACApproximation

    /// Whether weight and bias of a layer form separate blocks.
    public var separateWeightAndBias: Bool { layout.separateWeightAndBias }

    let layout: KroneckerLayout
    let dataStore: LazyValue<EKFACData<Scalar>>

    /// Creates EKFAC from given Kronecker factors and corrected eigenvalues.
    ///
    /// The eigenvectors are computed here with `syevd`; the corrected
    /// eigenvalues must belong to that basis (ascending eigenvalues).
    ///
    /// - Parameters:
    ///   - parameterShapes: The shape of every parameter block, as for ``KFACLinearOperator``.
    ///   - layers: Every layer with the positions of its weight and bias.
    ///   - inputCovariances: The input factor A of every layer with a weight.
    ///   - gradientCovariances: The gradient factor G of every layer.
    ///   - correctedEigenvalues: The corrected eigenvalues of every layer:
    ///     `.joint` for a joint layer, `.separate` otherwise; all ≥ 0.
    ///   - fisherType: Recorded only; Monte-Carlo samples must be at least 1. Default `.type2`.
    ///   - kfacApproximation: Recorded only. Default `.expand`.
    ///   - separateWeightAndBias: Whether weight and bias form separate blocks. Default true.
    /// - Throws: As ``KFACLinearOperator`` for the layers, factors and Fisher type;
    ///   ``CurvlinopsError/Kind/invalidArgument``,
    ///   ``CurvlinopsError/Kind/shapeMismatch`` or
    ///   ``CurvlinopsError/Kind/nonFiniteValue`` for corrected eigenvalues of
    ///   the wrong form, size or value; a LAPACK failure of `syevd`.
    /// - Complexity: One eigendecomposition per factor, O(d³).
    public init(
        parameterShapes: [[Int]],
        layers: [KFACLayer],
        inputCovariances: [String: Matrix<Scalar>],
        gradientCovariances: [String: Matrix<Scalar>],
        correctedEigenvalues: [String: EKFACCorrectedEigenvalues<Scalar>],
        fisherType: FisherType = .type2,
        kfacApproximation: KFACApproximation = .expand,
        separateWeightAndBias: Bool = true
    ) throws {
        try fisherType.validate(owner: "EKFACLinearOperator")
        let layout = try KroneckerLayout(
            parameterShapes: parameterShapes, layers: layers,
            separateWeightAndBias: separateWeightAndBias, owner: "EKFACLinearOperator")
        let data = try EKFACData(
            factors: KFACFactors(inputCovariances: inputCovariances, gradientCovariances: gradientCovariances),
            eigendecompositions: nil, correctedEigenvalues: correctedEigenvalues,
            layout: layout, owner: "EKFACLinearOperator")
        self.init(layout: layout, fisherType: fisherType, kfacApproximation: kfacApproximation,
                  dataStore: LazyValue(value: data))
    }

    /// Creates EKFAC whose data a closure computes on first use.
    ///
    /// This is the entry point for the constructor that runs EKFAC's passes
    /// over the data: the closure computes the factors, their
    /// eigendecompositions (``KFACFactors/eigendecompositions(layout:)``, or
    /// `nil` to have them computed here) and the corrected eigenvalues in that
    /// basis. It runs once, while concurrent callers wait; its result is
    /// checked like given data, and when the closure or the check throws,
    /// nothing is stored and the next use tries again.
    ///
    /// - Throws: As the public initializer, for the layer description only.
    init(
        parameterShapes: [[Int]],
        layers: [KFACLayer],
        fisherType: FisherType,
        kfacApproximation: KFACApproximation,
        separateWeightAndBias: Bool,
        computeData: @escaping @Sendable () throws -> (
            factors: KFACFactors<Scalar>,
            eigendecompositions: [String: KFACLayerEigendecomposition<Scalar>]?,
            correctedEigenvalues: [String: EKFACCorrectedEigenvalues<Scalar>]
        )
    ) throws {
        let layout = try KroneckerLayout(
            parameterShapes: parameterShapes, layers: layers,
            separateWeightAndBias: separateWeightAndBias, owner: "EKFACLinearOperator")
        let store = LazyValue {
            let computed = try computeData()
            return try EKFACData(
                factors: computed.factors, eigendecompositions: computed.eigendecompositions,
                correctedEigenvalues: computed.correctedEigenvalues, layout: layout, owner: "EKFACLinearOperator")
        }
        self.init(layout: layout, fisherType: fisherType, kfacApproximation: kfacApproximation, dataStore: store)
    }

    init(
        layout: KroneckerLayout, fisherType: FisherType, kfacApproximation: KFACApproximation,
        dataStore: LazyValue<EKFACData<Scalar>>
    ) {
        self.layout = layout
        self.fisherType = fisherType
        self.kfacApproximation = kfacApproximation
        self.dataStore = dataStore
    }

    /// Computes the factors, eigenvectors and corrected eigenvalues now, if they are not stored yet.
    ///
    /// - Throws: Whatever the computation throws.
    public func computeEigenvalueCorrection() throws {
        _ = try dataStore.value()
    }

    /// The input factor A of every layer with a weight, keyed by layer name.
    public var inputCovariances: [String: Matrix<Scalar>] {
        get throws { try dataStore.value().factors.inputCovariances }
    }

    /// The gradient factor G of every layer, keyed by layer name.
    public var gradientCovariances: [String: Matrix<Scalar>] {
        get throws { try dataStore.value().factors.gradientCovariances }
    }

    /// The eigenvectors Q_A (columns, ascending eigenvalues) of every input factor, keyed by layer name.
    public var inputCovarianceEigenvectors: [String: Matrix<Scalar>] {
        get throws { try dataStore.value().eigendecompositions.compactMapValues { $0.input?.eigenvectors } }
    }

    /// The eigenvectors Q_G (columns, ascending eigenvalues) of every gradient factor, keyed by layer name.
    public var gradientCovarianceEigenvectors: [String: Matrix<Scalar>] {
        get throws { try dataStore.value().eigendecompositions.mapValues { $0.gradient.eigenvectors } }
    }

    /// The corrected eigenvalues of every layer, keyed by layer name.
    public var correctedEigenvalues: [String: EKFACCorrectedEigenvalues<Scalar>] {
        get throws { try dataStore.value().correctedEigenvalues }
    }

    /// Multiplies the columns of `x` by EKFAC.
    ///
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` or
    ///   ``CurvlinopsError/Kind/nonFiniteValue`` for a bad `x`, and whatever
    ///   computing the data throws.
    /// - Complexity: Four gemms per block: 4·k·d_out·c·(d_out + c) flops for
    ///   a block of d_out × c matrices and k columns.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply(_ x: Matrix<Scalar>) throws -> Matrix<Scalar> {
        try validateInput(x)
        let data = try dataStore.value()
        let actions = layout.blocks.map { block in
            (block: block, action: data.action(for: block) { $0 })
        }
        return try applyKroneckerBlocks(actions, to: x, size: inputSize)
    }

    /// Returns the operator itself, because the matrix is symmetric.
    public func adjoint() -> any LinearOperator<Scalar> { self }
}

/// The checked data of EKFAC: factors, their eigendecompositions and the corrected eigenvalues.
struct EKFACData<Scalar: LapackScalar>: Sendable {
    let factors: KFACFactors<Scalar>
    let eigendecompositions: [String: KFACLayerEigendecomposition<Scalar>]
    let correctedEigenvalues: [String: EKFACCorrectedEigenvalues<Scalar>]
    /// The corrected eigenvalues of every block as a d_out × c matrix, keyed by layer and block kind.
    let scalings: [String: [KroneckerBlock.Kind: Matrix<Scalar>]]

    /// Checks all parts against the layout; computes the eigendecompositions when `nil`.
    init(
        factors: KFACFactors<Scalar>,
        eigendecompositions: [String: KFACLayerEigendecomposition<Scalar>]?,
        correctedEigenvalues: [String: EKFACCorrectedEigenvalues<Scalar>],
        layout: KroneckerLayout, owner: String
    ) throws {
        let factors = try factors.checked(against: layout, owner: owner)
        let eigendecompositions = try eigendecompositions.map {
            try Self.checked($0, layout: layout, owner: owner)
        } ?? factors.eigendecompositions(layout: layout)

        for name in correctedEigenvalues.keys.sorted() where layout.layer(named: name) == nil {
            throw CurvlinopsError.invalidArgument(
                "\(owner): correctedEigenvalues has an entry for \"\(name)\", which is not a layer of the operator; the layers are \(layout.layers.map(\.name)).")
        }
        var scalings: [String: [KroneckerBlock.Kind: Matrix<Scalar>]] = [:]
        for layer in layout.layers {
            guard let values = correctedEigenvalues[layer.name] else {
                throw CurvlinopsError.invalidArgument(
                    "\(owner): correctedEigenvalues has no entry for layer \"\(layer.name)\"; expected one per layer.")
            }
            scalings[layer.name] = try values.scalings(for: layer, owner: owner)
        }

        self.factors = factors
        self.eigendecompositions = eigendecompositions
        self.correctedEigenvalues = correctedEigenvalues
        self.scalings = scalings
    }

    /// Returns the block's action with its corrected eigenvalues mapped through
    /// `transform` (the identity for EKFAC, 1/(Λ + δ) for its damped inverse).
    func action(
        for block: KroneckerBlock, transform: (Matrix<Scalar>) -> Matrix<Scalar>
    ) -> KroneckerBlockAction<Scalar> {
        let layer = eigendecompositions[block.layer]!
        let right = block.hasInputFactor ? layer.input!.eigenvectors : nil
        let scaling = scalings[block.layer]![block.kind]!
        return .eigenbasis(left: layer.gradient.eigenvectors, right: right, scaling: transform(scaling))
    }

    private static func checked(
        _ eigendecompositions: [String: KFACLayerEigendecomposition<Scalar>],
        layout: KroneckerLayout, owner: String
    ) throws -> [String: KFACLayerEigendecomposition<Scalar>] {
        for layer in layout.layers {
            guard let entry = eigendecompositions[layer.name] else {
                throw CurvlinopsError.invalidArgument(
                    "\(owner): the eigendecompositions have no entry for layer \"\(layer.name)\"; expected one per layer.")
            }
            let parts: [(String, SymmetricEigendecomposition<Scalar>?, Int?)] = [
                ("input", entry.input, layer.inputFactorDimension),
                ("gradient", entry.gradient, layer.outputDimension),
            ]
            for (role, part, dimension) in parts {
                guard part?.dimension == dimension else {
                    throw CurvlinopsError.shapeMismatch(
                        "\(owner): the \(role) eigendecomposition of layer \"\(layer.name)\" has dimension \(part.map { "\($0.dimension)" } ?? "none"); expected \(dimension.map { "\($0)" } ?? "none").")
                }
                guard let part else { continue }
                guard part.eigenvectors.isFinite, part.eigenvalues.allSatisfy(\.isFinite) else {
                    throw CurvlinopsError.nonFinite(
                        "\(owner): the \(role) eigendecomposition of layer \"\(layer.name)\" contains NaN or infinite entries; expected finite values.")
                }
            }
        }
        return eigendecompositions
    }
}
