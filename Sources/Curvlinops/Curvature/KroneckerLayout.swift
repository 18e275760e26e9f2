/// The checked structure of a Kronecker-factored operator: the dimensions of
/// every layer and, for every diagonal block, where its entries sit in a flat
/// parameter vector.
///
/// KFAC, EKFAC and the KFAC inverse share this structure. A layer contributes
/// one *joint* block `[W | b]` when it has both parameters and weight and bias
/// are not separated, and otherwise a weight block and/or a bias block.
struct KroneckerLayout: Sendable, Equatable {
    /// One layer with the dimensions its parameters imply.
    struct Layer: Sendable, Equatable {
        let name: String
        let weightPosition: Int?
        let biasPosition: Int?
        /// d_out: the first axis of the weight, or the length of the bias.
        let outputDimension: Int
        /// d_in: the product of the weight's other axes; 0 for a layer without weight.
        let inputDimension: Int
        /// Whether weight and bias form one block with the input factor of size d_in + 1.
        let joint: Bool

        var hasWeight: Bool { weightPosition != nil }

        /// The size of the input factor A, or `nil` for a layer without weight.
        var inputFactorDimension: Int? {
            guard hasWeight else { return nil }
            return joint ? inputDimension + 1 : inputDimension
        }

        var description: KFACLayer {
            KFACLayer(name: name, weightPosition: weightPosition, biasPosition: biasPosition)
        }
    }

    let parameterShapes: [[Int]]
    let layers: [Layer]
    let blocks: [KroneckerBlock]
    let separateWeightAndBias: Bool

    /// The flat size of the parameter vector.
    var parameterCount: Int { flatSize(of: parameterShapes) }

    /// The layers as the caller described them.
    var layerDescriptions: [KFACLayer] { layers.map(\.description) }

    /// Returns the layer with the given name, or `nil`.
    func layer(named name: String) -> Layer? {
        layers.first { $0.name == name }
    }

    /// Checks the parameter shapes and the layer descriptions and derives the blocks.
    ///
    /// - Throws: ``CurvlinopsError/Kind/invalidArgument`` when a layer name is
    ///   empty or repeated, a position is out of range, used twice or by no
    ///   layer, or a layer has neither weight nor bias;
    ///   ``CurvlinopsError/Kind/shapeMismatch`` when a weight has fewer than two
    ///   axes, a bias is not one-dimensional, a size is below 1, the bias
    ///   length differs from the weight's first axis, or a parameter, all
    ///   parameters together or a Kronecker factor would have more entries
    ///   than `Int` can count.
    init(parameterShapes: [[Int]], layers: [KFACLayer], separateWeightAndBias: Bool, owner: String) throws {
        guard !layers.isEmpty else {
            throw CurvlinopsError.invalidArgument("\(owner): layers is empty; expected at least one layer with a weight or a bias.")
        }
        for (index, shape) in parameterShapes.enumerated() where shape.contains(where: { $0 < 1 }) {
            throw CurvlinopsError.shapeMismatch(
                "\(owner): parameterShapes[\(index)] = \(shape) has a size below 1; expected every size ≥ 1.")
        }
        let offsets = try Self.offsets(of: parameterShapes, owner: owner)
        try Self.checkPositions(layers, parameterCount: parameterShapes.count, owner: owner)

        var checkedLayers: [Layer] = []
        for layer in layers {
            checkedLayers.append(try Self.checkLayer(
                layer, parameterShapes: parameterShapes, separateWeightAndBias: separateWeightAndBias, owner: owner))
        }
        try Self.checkFactorSizes(checkedLayers, owner: owner)

        var blocks: [KroneckerBlock] = []
        for layer in checkedLayers {
            let weightOffset = layer.weightPosition.map { offsets[$0] } ?? 0
            let biasOffset = layer.biasPosition.map { offsets[$0] } ?? 0
            if layer.joint {
                blocks.append(KroneckerBlock(
                    layer: layer.name, kind: .joint, rows: layer.outputDimension,
                    inputDimension: layer.inputDimension, weightOffset: weightOffset, biasOffset: biasOffset))
                continue
            }
            if layer.hasWeight {
                blocks.append(KroneckerBlock(
                    layer: layer.name, kind: .weight, rows: layer.outputDimension,
                    inputDimension: layer.inputDimension, weightOffset: weightOffset, biasOffset: 0))
            }
            if layer.biasPosition != nil {
                blocks.append(KroneckerBlock(
                    layer: layer.name, kind: .bias, rows: layer.outputDimension,
                    inputDimension: 0, weightOffset: 0, biasOffset: biasOffset))
            }
        }

        self.parameterShapes = parameterShapes
        self.layers = checkedLayers
        self.blocks = blocks
        self.separateWeightAndBias = separateWeightAndBias
    }

    /// Returns the offset of every parameter in the flat vector, checking that
    /// every entry count and their total fit in `Int`.
    private static func offsets(of parameterShapes: [[Int]], owner: String) throws -> [Int] {
        var offsets: [Int] = []
        var offset = 0
        for (index, shape) in parameterShapes.enumerated() {
            offsets.append(offset)
            guard let count = checkedElementCount(shape) else {
                throw CurvlinopsError.shapeMismatch(
                    "\(owner): parameterShapes[\(index)] = \(shape) has more entries than Int can count; expected a parameter that fits in memory.")
            }
            guard let next = checkedSum(offset, count) else {
                throw CurvlinopsError.shapeMismatch(
                    "\(owner): parameterShapes[0...\(index)] have more entries in total than Int can count; expected parameters that fit in memory.")
            }
            offset = next
        }
        return offsets
    }

    /// Checks that every Kronecker factor, n × n for n = d_in (+ 1) or d_out, has an entry count that `Int` can count.
    private static func checkFactorSizes(_ layers: [Layer], owner: String) throws {
        for layer in layers {
            let factors = [("input factor", layer.inputFactorDimension), ("gradient factor", layer.outputDimension)]
            for case let (role, dimension?) in factors where checkedProduct(dimension, dimension) == nil {
                throw CurvlinopsError.shapeMismatch(
                    "\(owner): the \(role) of layer \"\(layer.name)\" would be \(dimension) × \(dimension), which has more entries than Int can count; expected smaller parameters.")
            }
        }
    }

    private static func checkPositions(_ layers: [KFACLayer], parameterCount: Int, owner: String) throws {
        var names: Set<String> = []
        var owners = [String?](repeating: nil, count: parameterCount)
        for layer in layers {
            guard !layer.name.isEmpty else {
                throw CurvlinopsError.invalidArgument("\(owner): a layer has an empty name; expected a non-empty, unique name per layer.")
            }
            guard names.insert(layer.name).inserted else {
                throw CurvlinopsError.invalidArgument("\(owner): layer name \"\(layer.name)\" appears twice; expected unique names.")
            }
            guard layer.weightPosition != nil || layer.biasPosition != nil else {
                throw CurvlinopsError.invalidArgument(
                    "\(owner): layer \"\(layer.name)\" has neither a weight nor a bias position; expected at least one.")
            }
            for (role, position) in [("weight", layer.weightPosition), ("bias", layer.biasPosition)] {
                guard let position else { continue }
                guard position >= 0, position < parameterCount else {
                    throw CurvlinopsError.invalidArgument(
                        "\(owner): layer \"\(layer.name)\" has \(role) position \(position); expected a position in 0..<\(parameterCount), the number of parameter shapes.")
                }
                if let previous = owners[position] {
                    throw CurvlinopsError.invalidArgument(
                        "\(owner): parameter \(position) is claimed by layer \"\(previous)\" and by layer \"\(layer.name)\"; expected each parameter in exactly one layer.")
                }
                owners[position] = layer.name
            }
        }
        if let uncovered = owners.firstIndex(where: { $0 == nil }) {
            throw CurvlinopsError.invalidArgument(
                "\(owner): parameter \(uncovered) belongs to no layer; expected every parameter to be a layer's weight or bias.")
        }
    }

    private static func checkLayer(
        _ layer: KFACLayer, parameterShapes: [[Int]], separateWeightAndBias: Bool, owner: String
    ) throws -> Layer {
        var outputDimension: Int?
        var inputDimension = 0
        if let position = layer.weightPosition {
            let shape = parameterShapes[position]
            guard shape.count >= 2 else {
                throw CurvlinopsError.shapeMismatch(
                    "\(owner): the weight of layer \"\(layer.name)\" (parameter \(position)) has shape \(shape); expected at least two axes [d_out, d_in, …].")
            }
            outputDimension = shape[0]
            inputDimension = shape.dropFirst().reduce(1, *)
        }
        if let position = layer.biasPosition {
            let shape = parameterShapes[position]
            guard shape.count == 1 else {
                throw CurvlinopsError.shapeMismatch(
                    "\(owner): the bias of layer \"\(layer.name)\" (parameter \(position)) has shape \(shape); expected one axis [d_out].")
            }
            if let weightRows = outputDimension, weightRows != shape[0] {
                throw CurvlinopsError.shapeMismatch(
                    "\(owner): the bias of layer \"\(layer.name)\" has length \(shape[0]) but the weight has \(weightRows) rows; expected equal d_out.")
            }
            outputDimension = shape[0]
        }
        let joint = !separateWeightAndBias && layer.weightPosition != nil && layer.biasPosition != nil
        return Layer(
            name: layer.name, weightPosition: layer.weightPosition, biasPosition: layer.biasPosition,
            outputDimension: outputDimension!, inputDimension: inputDimension, joint: joint)
    }
}

/// One diagonal block of a Kronecker-factored operator and where its entries
/// sit in a flat parameter vector.
///
/// The block acts on d_out × c matrices M: a weight block on the weight viewed
/// as `[d_out, d_in]` (c = d_in), a bias block on the bias as a column
/// (c = 1), a joint block on `[W | b]` (c = d_in + 1). Entry M[o, i] of a
/// weight sits at `weightOffset + o·d_in + i` (row-major flattening); the bias
/// entry of row o sits at `biasOffset + o`.
struct KroneckerBlock: Sendable, Equatable {
    enum Kind: String, Sendable, Equatable {
        case weight, bias, joint
    }

    let layer: String
    let kind: Kind
    /// d_out.
    let rows: Int
    /// d_in of the weight part; 0 for a bias block.
    let inputDimension: Int
    let weightOffset: Int
    let biasOffset: Int

    /// c: the number of columns of the matrices the block acts on.
    var columns: Int {
        switch kind {
        case .weight: inputDimension
        case .bias: 1
        case .joint: inputDimension + 1
        }
    }

    /// Whether the block has a bias column (bias and joint blocks).
    var hasBiasColumn: Bool { kind != .weight }

    /// Whether the block has an input factor acting on its columns (weight and joint blocks).
    var hasInputFactor: Bool { kind != .bias }
}
