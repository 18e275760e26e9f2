import Foundation

/// The configuration of a KFAC inverse as the state header stores it.
struct KFACInverseStateConfiguration: Codable, Equatable {
    /// The damping mode and its values, widened to `Double` (exact for both scalar types).
    struct Damping: Codable, Equatable {
        /// `scalar`, `perFactor`, `heuristic` or `exact`.
        let mode: String
        var value: Double?
        var input: Double?
        var gradient: Double?
        var minimum: Double?
    }

    /// The damping, fallback and retries behind one layer's cached factors: the
    /// report entry without the eigenvalue, which loading recomputes.
    struct CachedLayer: Codable, Equatable {
        let name: String
        let inputDamping: Double?
        let gradientDamping: Double?
        let exactDamping: Double?
        let fallbackReason: String?
        let inputRetriedInDoublePrecision: Bool
        let gradientRetriedInDoublePrecision: Bool
    }

    /// The kind of the base operator.
    let base: String
    let baseConfiguration: KFACStateConfiguration
    let damping: Damping
    let cache: Bool
    let retryInDoublePrecision: Bool
    /// `inverses` or `eigendecompositions` when the state contains cached factors, else `nil`.
    let cachedFactors: String?
    let cachedLayers: [CachedLayer]?
}

extension KFACDamping {
    var stateRecord: KFACInverseStateConfiguration.Damping {
        switch self {
        case let .scalar(value):
            KFACInverseStateConfiguration.Damping(mode: "scalar", value: Double(value))
        case let .perFactor(input, gradient):
            KFACInverseStateConfiguration.Damping(mode: "perFactor", input: Double(input), gradient: Double(gradient))
        case let .heuristic(value, minimum):
            KFACInverseStateConfiguration.Damping(mode: "heuristic", value: Double(value), minimum: Double(minimum))
        case let .exact(value):
            KFACInverseStateConfiguration.Damping(mode: "exact", value: Double(value))
        }
    }

    init(stateRecord record: KFACInverseStateConfiguration.Damping, owner: String) throws {
        func required(_ value: Double?, _ name: String) throws -> Scalar {
            guard let value else {
                throw StateReader.error(owner, "the \(record.mode) damping has no \(name); the file is corrupt.")
            }
            return Scalar(value)
        }
        switch record.mode {
        case "scalar": self = .scalar(try required(record.value, "value"))
        case "perFactor":
            self = .perFactor(input: try required(record.input, "input"), gradient: try required(record.gradient, "gradient"))
        case "heuristic":
            self = .heuristic(try required(record.value, "value"), minimum: try required(record.minimum, "minimum"))
        case "exact": self = .exact(try required(record.value, "value"))
        default:
            throw StateReader.error(owner, "the damping mode \"\(record.mode)\" is unknown; expected scalar, perFactor, heuristic or exact.")
        }
    }
}

extension KFACInverseLinearOperator {
    static var stateKind: String { "KFACInverseLinearOperator" }

    private var baseKind: String {
        switch base {
        case .kfac: KFACLinearOperator<Scalar>.stateKind
        case .ekfac: EKFACLinearOperator<Scalar>.stateKind
        }
    }

    private var baseConfiguration: KFACStateConfiguration {
        switch base {
        case let .kfac(kfac): kfac.stateConfiguration
        case let .ekfac(ekfac): ekfac.stateConfiguration
        }
    }

    /// Returns the inverse's state: its configuration and, when `cache` is on and the
    /// factors have been factorised, the cached inverse factors (Cholesky
    /// modes) or eigendecompositions (exact damping of KFAC), in the versioned
    /// container described in `docs/kfac-state.md`.
    ///
    /// The state does not hold the base operator; save it separately with its
    /// own `stateData()`. For EKFAC only the configuration is saved, because
    /// the damped eigenvalues are cheap to recompute from EKFAC's own state.
    ///
    /// - Throws: ``CurvlinopsError/Kind/invalidState`` when the header cannot be encoded.
    /// - Complexity: O(Σ d²) over the cached factors.
    public func stateData() throws -> Data {
        var writer = StateWriter<Scalar>()
        var cachedFactors: String?
        var cachedLayers: [KFACInverseStateConfiguration.CachedLayer]?
        if cache, case .kfac = base, let prepared = preparedStore.valueIfPresent {
            cachedFactors = addCachedFactors(prepared, to: &writer)
            cachedLayers = prepared.report.layers.map(Self.cachedLayer)
        }
        let configuration = KFACInverseStateConfiguration(
            base: baseKind, baseConfiguration: baseConfiguration, damping: damping.stateRecord, cache: cache,
            retryInDoublePrecision: retryInDoublePrecision, cachedFactors: cachedFactors, cachedLayers: cachedLayers)
        return try writer.data(kind: Self.stateKind, layout: layout, configuration: configuration)
    }

    /// Writes ``stateData()`` to a file, replacing any file at `url`.
    ///
    /// - Throws: As ``stateData()``; ``CurvlinopsError/Kind/invalidState`` when the file cannot be written.
    public func save(to url: URL) throws {
        try writeState(stateData(), to: url, owner: "KFACInverseLinearOperator.save(to:)")
    }

    /// Creates the inverse of `kfac` from a saved state: its damping, `cache`
    /// and `retryInDoublePrecision`, and the cached factors if the state contains any.
    ///
    /// Cached eigendecompositions also fill `kfac`'s own store if it is empty,
    /// so that later inverses with exact damping reuse them. The cached values
    /// are trusted to belong to `kfac`: layer names, parameter shapes and
    /// configuration are checked, the factor values are not.
    ///
    /// - Parameters:
    ///   - kfac: The operator whose inverse was saved.
    ///   - stateData: Data written by ``stateData()``.
    /// - Throws: ``CurvlinopsError/Kind/invalidState`` when the state is
    ///   truncated or corrupt, was saved from the inverse of an EKFAC
    ///   operator, or its layers, shapes or configuration differ from `kfac`'s.
    public init(_ kfac: KFACLinearOperator<Scalar>, stateData: Data) throws {
        try self.init(base: .kfac(kfac), stateData: stateData, owner: "KFACInverseLinearOperator(_:stateData:)")
    }

    /// Creates the inverse of `ekfac` from a saved state; see ``init(_:stateData:)-(KFACLinearOperator<Scalar>,_)``.
    ///
    /// - Throws: ``CurvlinopsError/Kind/invalidState`` when the state is
    ///   truncated or corrupt, was saved from the inverse of a KFAC operator,
    ///   or its layers, shapes or configuration differ from `ekfac`'s.
    public init(_ ekfac: EKFACLinearOperator<Scalar>, stateData: Data) throws {
        try self.init(base: .ekfac(ekfac), stateData: stateData, owner: "KFACInverseLinearOperator(_:stateData:)")
    }

    /// Creates the inverse of `kfac` from a state file written by ``save(to:)``.
    ///
    /// - Throws: As ``init(_:stateData:)-(KFACLinearOperator<Scalar>,_)``, and
    ///   ``CurvlinopsError/Kind/invalidState`` when the file cannot be read.
    public init(_ kfac: KFACLinearOperator<Scalar>, contentsOf url: URL) throws {
        let owner = "KFACInverseLinearOperator(_:contentsOf:)"
        try self.init(base: .kfac(kfac), stateData: readState(from: url, owner: owner), owner: owner)
    }

    /// Creates the inverse of `ekfac` from a state file written by ``save(to:)``.
    ///
    /// - Throws: As ``init(_:stateData:)-(EKFACLinearOperator<Scalar>,_)``, and
    ///   ``CurvlinopsError/Kind/invalidState`` when the file cannot be read.
    public init(_ ekfac: EKFACLinearOperator<Scalar>, contentsOf url: URL) throws {
        let owner = "KFACInverseLinearOperator(_:contentsOf:)"
        try self.init(base: .ekfac(ekfac), stateData: readState(from: url, owner: owner), owner: owner)
    }

    private init(base: Base, stateData: Data, owner: String) throws {
        let reader = try StateReader(stateData, owner: owner)
        try reader.expectKind(Self.stateKind)
        let configuration = try reader.configuration(KFACInverseStateConfiguration.self)
        try configuration.baseConfiguration.validate(owner: owner)
        let damping = try KFACDamping<Scalar>(stateRecord: configuration.damping, owner: owner)
        do {
            try damping.validate(owner: owner)
        } catch let error as CurvlinopsError {
            throw StateReader.error(owner, "\(error.message) The file is corrupt.")
        }
        self.init(base: base, damping: damping, cache: configuration.cache,
                  retryInDoublePrecision: configuration.retryInDoublePrecision)

        guard configuration.base == baseKind else {
            throw StateReader.error(owner, "the state was saved from the inverse of \(configuration.base); the operator is \(baseKind).")
        }
        if case .ekfac = base, !damping.isExact {
            throw StateReader.error(owner, "the state has \(configuration.damping.mode) damping for EKFAC, which supports exact damping only; the file is corrupt.")
        }
        try reader.expectLayout(layout, separateWeightAndBias: configuration.baseConfiguration.separateWeightAndBias)
        try configuration.baseConfiguration.expect(baseConfiguration, owner: owner)
        try loadCachedFactors(reader, configuration: configuration, owner: owner)
    }

    /// Writes the cached factors of every layer and returns their kind.
    private func addCachedFactors(_ prepared: PreparedKFACInverse<Scalar>, to writer: inout StateWriter<Scalar>) -> String {
        var kind = "inverses"
        for layer in layout.layers {
            switch prepared.layerFactors[layer.name]! {
            case let .inverses(input, gradient):
                if let input {
                    writer.add(input, role: StateRole.inverseInputCovariance, layer: layer.name)
                }
                writer.add(gradient, role: StateRole.inverseGradientCovariance, layer: layer.name)
            case let .eigenbasis(eigendecomposition, _):
                kind = "eigendecompositions"
                addEigendecomposition(eigendecomposition, layer: layer.name, to: &writer)
            }
        }
        return kind
    }

    private static func cachedLayer(_ layer: KFACInverseReport<Scalar>.Layer) -> KFACInverseStateConfiguration.CachedLayer {
        var input: Double?
        var gradient: Double?
        var exact: Double?
        switch layer.damping {
        case let .perFactor(inputDamping, gradientDamping):
            (input, gradient) = (Double(inputDamping), Double(gradientDamping))
        case let .exact(value):
            exact = Double(value)
        }
        return KFACInverseStateConfiguration.CachedLayer(
            name: layer.name, inputDamping: input, gradientDamping: gradient, exactDamping: exact,
            fallbackReason: layer.fallbackReason,
            inputRetriedInDoublePrecision: layer.inputRetriedInDoublePrecision,
            gradientRetriedInDoublePrecision: layer.gradientRetriedInDoublePrecision)
    }

    /// Rebuilds the cached factors of a state and puts them into the stores.
    private func loadCachedFactors(
        _ reader: StateReader, configuration: KFACInverseStateConfiguration, owner: String
    ) throws {
        guard let kind = configuration.cachedFactors else {
            try expectTensorCount(reader, 0, owner: owner)
            return
        }
        guard configuration.cache, case let .kfac(kfac) = base else {
            throw StateReader.error(owner, "the state contains cached factors although cache is off or the base is EKFAC; the file is corrupt.")
        }
        guard let cachedLayers = configuration.cachedLayers, cachedLayers.map(\.name) == layout.layers.map(\.name) else {
            throw StateReader.error(owner, "the cached layers in the state do not match the layers \(layout.layers.map(\.name)); the file is corrupt.")
        }
        for cached in cachedLayers {
            let dampings = [
                ("inputDamping", cached.inputDamping), ("gradientDamping", cached.gradientDamping),
                ("exactDamping", cached.exactDamping),
            ]
            for case let (name, value?) in dampings where !(value >= 0 && Scalar(value).isFinite) {
                throw StateReader.error(owner, "the cached layer \"\(cached.name)\" has \(name) = \(value); expected a finite number ≥ 0 in \(Scalar.precisionName). The file is corrupt.")
            }
        }

        let prepared: PreparedKFACInverse<Scalar>
        switch (kind, damping) {
        case let ("eigendecompositions", .exact(value)):
            let eigendecompositions: [String: KFACLayerEigendecomposition<Scalar>] =
                try stateEigendecompositions(reader, layout: layout)
            let factorCount = layout.layers.reduce(0) { $0 + ($1.hasWeight ? 2 : 1) }
            try expectTensorCount(reader, 2 * factorCount, owner: owner)
            prepared = try Self.prepareExact(layout: layout, eigendecompositions: eigendecompositions, damping: value)
            kfac.eigendecompositionStore.fill(with: eigendecompositions)

        case ("inverses", _) where !damping.isExact:
            var layerFactors: [String: PreparedKFACInverse<Scalar>.LayerFactors] = [:]
            var notes: [String: PreparedKFACInverse<Scalar>.LayerNotes] = [:]
            for (layer, cached) in zip(layout.layers, cachedLayers) {
                let input: Matrix<Scalar>? = try layer.inputFactorDimension.map {
                    try reader.matrix(role: StateRole.inverseInputCovariance, layer: layer.name, rows: $0, columns: $0)
                }
                let gradient: Matrix<Scalar> = try reader.matrix(
                    role: StateRole.inverseGradientCovariance, layer: layer.name,
                    rows: layer.outputDimension, columns: layer.outputDimension)
                guard let inputDamping = cached.inputDamping, let gradientDamping = cached.gradientDamping else {
                    throw StateReader.error(owner, "the cached layer \"\(layer.name)\" has no factor dampings; the file is corrupt.")
                }
                layerFactors[layer.name] = .inverses(input: input, gradient: gradient)
                notes[layer.name] = PreparedKFACInverse<Scalar>.LayerNotes(
                    damping: .perFactor(input: Scalar(inputDamping), gradient: Scalar(gradientDamping)),
                    fallbackReason: cached.fallbackReason, inputRetried: cached.inputRetriedInDoublePrecision,
                    gradientRetried: cached.gradientRetriedInDoublePrecision)
            }
            try expectTensorCount(reader, layout.layers.reduce(0) { $0 + ($1.hasWeight ? 2 : 1) }, owner: owner)
            prepared = try PreparedKFACInverse(layout: layout, layerFactors: layerFactors, notes: notes, exactDamping: 0)

        default:
            throw StateReader.error(owner, "the state contains cached \(kind) for \(configuration.damping.mode) damping; the file is corrupt.")
        }

        preparedStore.fill(with: prepared)
        reportStore.set(prepared.report)
    }
}
