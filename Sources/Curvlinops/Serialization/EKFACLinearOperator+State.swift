import Foundation

extension EKFACLinearOperator {
    static var stateKind: String { "EKFACLinearOperator" }

    var stateConfiguration: KFACStateConfiguration {
        KFACStateConfiguration(
            fisherType: fisherType, kfacApproximation: kfacApproximation,
            separateWeightAndBias: separateWeightAndBias)
    }

    /// Returns the operator's state: configuration, parameter shapes, layers, Kronecker
    /// factors, their eigendecompositions and the corrected eigenvalues, in the
    /// versioned container described in `docs/kfac-state.md`.
    ///
    /// The eigenvectors are saved, so a loaded operator applies bit for bit
    /// like this one even where the eigenbasis is not unique.
    ///
    /// - Throws: Whatever computing the data throws.
    /// - Complexity: O(Σ d²) over all factors, plus the corrected eigenvalues.
    public func stateData() throws -> Data {
        let data = try dataStore.value()
        var writer = StateWriter<Scalar>()
        addFactors(data.factors, layout: layout, to: &writer)
        addEigendecompositions(data.eigendecompositions, layout: layout, to: &writer)
        for block in layout.blocks {
            writer.add(data.scalings[block.layer]![block.kind]!, role: StateRole.correctedEigenvalues,
                       layer: block.layer, part: block.kind.rawValue)
        }
        return try writer.data(kind: Self.stateKind, layout: layout, configuration: stateConfiguration)
    }

    /// Writes ``stateData()`` to a file, replacing any file at `url`.
    ///
    /// - Throws: As ``stateData()``; ``CurvlinopsError/Kind/invalidState`` when the file cannot be written.
    public func save(to url: URL) throws {
        try writeState(stateData(), to: url, owner: "EKFACLinearOperator.save(to:)")
    }

    /// Creates EKFAC from a saved state alone, without a model.
    ///
    /// - Parameter stateData: Data written by ``stateData()``.
    /// - Throws: ``CurvlinopsError/Kind/invalidState`` for data that is not an
    ///   EKFAC state, is truncated or corrupt, or contains inconsistent layers or values.
    public init(stateData: Data) throws {
        let owner = "EKFACLinearOperator(stateData:)"
        let (reader, configuration) = try openKroneckerState(stateData, kind: Self.stateKind, owner: owner)
        let layout = try stateLayout(reader, separateWeightAndBias: configuration.separateWeightAndBias, owner: owner)
        let data: EKFACData<Scalar> = try Self.stateEKFACData(reader, layout: layout, owner: owner)
        self.init(
            layout: layout, fisherType: try configuration.decodedFisherType(owner: owner),
            kfacApproximation: try configuration.decodedApproximation(owner: owner),
            dataStore: LazyValue(value: data))
    }

    /// Creates EKFAC from a state file written by ``save(to:)``.
    ///
    /// - Throws: As ``init(stateData:)``, and ``CurvlinopsError/Kind/invalidState``
    ///   when the file cannot be read.
    public init(contentsOf url: URL) throws {
        try self.init(stateData: readState(from: url, owner: "EKFACLinearOperator(contentsOf:)"))
    }

    /// Returns this operator with the data of a saved state.
    ///
    /// The state must describe this operator: the same layers (names and
    /// parameter positions), parameter shapes and configuration.
    ///
    /// - Parameter stateData: Data written by ``stateData()``.
    /// - Returns: An operator with this one's layers and configuration and the saved data.
    /// - Throws: ``CurvlinopsError/Kind/invalidState`` when the state is
    ///   truncated or corrupt, or its layer names, shapes or configuration
    ///   differ from this operator's.
    public func loadingState(_ stateData: Data) throws -> EKFACLinearOperator {
        let owner = "EKFACLinearOperator.loadingState(_:)"
        let (reader, configuration) = try openKroneckerState(stateData, kind: Self.stateKind, owner: owner)
        try reader.expectLayout(layout, separateWeightAndBias: configuration.separateWeightAndBias)
        try configuration.expect(stateConfiguration, owner: owner)
        let data: EKFACData<Scalar> = try Self.stateEKFACData(reader, layout: layout, owner: owner)
        return EKFACLinearOperator(
            layout: layout, fisherType: fisherType, kfacApproximation: kfacApproximation,
            dataStore: LazyValue(value: data))
    }

    /// Returns this operator with the data of a state file; see ``loadingState(_:)``.
    ///
    /// - Throws: As ``loadingState(_:)``, and ``CurvlinopsError/Kind/invalidState``
    ///   when the file cannot be read.
    public func loadingState(contentsOf url: URL) throws -> EKFACLinearOperator {
        try loadingState(readState(from: url, owner: "EKFACLinearOperator.loadingState(contentsOf:)"))
    }

    private static func stateEKFACData(
        _ reader: StateReader, layout: KroneckerLayout, owner: String
    ) throws -> EKFACData<Scalar> {
        let factors: KFACFactors<Scalar> = try stateFactors(reader, layout: layout, owner: owner)
        let eigendecompositions: [String: KFACLayerEigendecomposition<Scalar>] =
            try stateEigendecompositions(reader, layout: layout)

        var corrected: [String: EKFACCorrectedEigenvalues<Scalar>] = [:]
        for layer in layout.layers {
            func read(_ kind: KroneckerBlock.Kind, columns: Int) throws -> Matrix<Scalar> {
                try reader.matrix(role: StateRole.correctedEigenvalues, layer: layer.name, part: kind.rawValue,
                                  rows: layer.outputDimension, columns: columns)
            }
            if layer.joint {
                corrected[layer.name] = .joint(try read(.joint, columns: layer.inputDimension + 1))
            } else {
                let weight = layer.hasWeight ? try read(.weight, columns: layer.inputDimension) : nil
                let bias = layer.biasPosition != nil ? try read(.bias, columns: 1).elements : nil
                corrected[layer.name] = .separate(weight: weight, bias: bias)
            }
        }

        let factorCount = factors.inputCovariances.count + factors.gradientCovariances.count
        try expectTensorCount(reader, 3 * factorCount + layout.blocks.count, owner: owner)
        do {
            return try EKFACData(
                factors: factors, eigendecompositions: eigendecompositions, correctedEigenvalues: corrected,
                layout: layout, owner: owner)
        } catch let error as CurvlinopsError {
            throw StateReader.error(owner, "the values in the state are invalid (\(error.message(without: owner))); the file is corrupt.")
        }
    }
}
