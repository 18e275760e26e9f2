import Foundation

extension KFACLinearOperator {
    static var stateKind: String { "KFACLinearOperator" }

    var stateConfiguration: KFACStateConfiguration {
        KFACStateConfiguration(
            fisherType: fisherType, kfacApproximation: kfacApproximation,
            separateWeightAndBias: separateWeightAndBias)
    }

    /// Returns the operator's state: its configuration, parameter shapes, layers and
    /// Kronecker factors, in the versioned container described in `docs/kfac-state.md`.
    ///
    /// Computes the factors first if they are not stored yet. The state contains
    /// no model and no data.
    ///
    /// - Throws: Whatever computing the factors throws.
    /// - Complexity: O(Σ d²) over all factors.
    public func stateData() throws -> Data {
        let factors = try factorStore.value()
        var writer = StateWriter<Scalar>()
        addFactors(factors, layout: layout, to: &writer)
        return try writer.data(kind: Self.stateKind, layout: layout, configuration: stateConfiguration)
    }

    /// Writes ``stateData()`` to a file, replacing any file at `url`.
    ///
    /// - Throws: As ``stateData()``; ``CurvlinopsError/Kind/invalidState`` when the file cannot be written.
    public func save(to url: URL) throws {
        try writeState(stateData(), to: url, owner: "KFACLinearOperator.save(to:)")
    }

    /// Creates KFAC from a saved state alone, without a model.
    ///
    /// Values saved as `float64` and loaded as `Float` are rounded; the other
    /// combinations are exact.
    ///
    /// - Parameter stateData: Data written by ``stateData()``.
    /// - Throws: ``CurvlinopsError/Kind/invalidState`` for data that is not a
    ///   KFAC state, is truncated or corrupt, or contains inconsistent layers or factors.
    public init(stateData: Data) throws {
        let owner = "KFACLinearOperator(stateData:)"
        let (reader, configuration) = try openKroneckerState(stateData, kind: Self.stateKind, owner: owner)
        let layout = try stateLayout(reader, separateWeightAndBias: configuration.separateWeightAndBias, owner: owner)
        let factors: KFACFactors<Scalar> = try stateFactors(reader, layout: layout, owner: owner)
        try expectTensorCount(reader, factors.inputCovariances.count + factors.gradientCovariances.count, owner: owner)
        self.init(
            layout: layout, fisherType: try configuration.decodedFisherType(owner: owner),
            kfacApproximation: try configuration.decodedApproximation(owner: owner),
            factorStore: LazyValue(value: factors))
    }

    /// Creates KFAC from a state file written by ``save(to:)``.
    ///
    /// - Throws: As ``init(stateData:)``, and ``CurvlinopsError/Kind/invalidState``
    ///   when the file cannot be read.
    public init(contentsOf url: URL) throws {
        try self.init(stateData: readState(from: url, owner: "KFACLinearOperator(contentsOf:)"))
    }

    /// Returns this operator with the Kronecker factors of a saved state, for
    /// example to skip computing them from a model again.
    ///
    /// The state must describe this operator: the same layers (names and
    /// parameter positions), parameter shapes and configuration.
    ///
    /// - Parameter stateData: Data written by ``stateData()``.
    /// - Returns: An operator with this one's layers and configuration and the saved factors.
    /// - Throws: ``CurvlinopsError/Kind/invalidState`` when the state is
    ///   truncated or corrupt, or its layer names, shapes or configuration
    ///   differ from this operator's.
    public func loadingState(_ stateData: Data) throws -> KFACLinearOperator {
        let owner = "KFACLinearOperator.loadingState(_:)"
        let (reader, configuration) = try openKroneckerState(stateData, kind: Self.stateKind, owner: owner)
        try reader.expectLayout(layout, separateWeightAndBias: configuration.separateWeightAndBias)
        try configuration.expect(stateConfiguration, owner: owner)
        let factors: KFACFactors<Scalar> = try stateFactors(reader, layout: layout, owner: owner)
        try expectTensorCount(reader, factors.inputCovariances.count + factors.gradientCovariances.count, owner: owner)
        return KFACLinearOperator(
            layout: layout, fisherType: fisherType, kfacApproximation: kfacApproximation,
            factorStore: LazyValue(value: factors))
    }

    /// Returns this operator with the Kronecker factors of a state file; see ``loadingState(_:)``.
    ///
    /// - Throws: As ``loadingState(_:)``, and ``CurvlinopsError/Kind/invalidState``
    ///   when the file cannot be read.
    public func loadingState(contentsOf url: URL) throws -> KFACLinearOperator {
        try loadingState(readState(from: url, owner: "KFACLinearOperator.loadingState(contentsOf:)"))
    }
}
