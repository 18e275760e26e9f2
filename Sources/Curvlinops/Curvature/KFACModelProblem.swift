/// The validated inputs of KFAC and EKFAC built from a network: the curvature
/// problem, the layers that hold the selected parameters and the settings
/// that decide how the Kronecker factors are computed.
struct KFACModelProblem<Scalar: LapackScalar>: Sendable {
    /// A `Linear` or `Conv2d` layer that holds at least one selected parameter.
    struct Layer: Sendable {
        /// The layer's name: its position in the network as a string (`"0"`).
        let name: String
        /// The layer's position in the network.
        let index: Int
        /// The position of the weight among the selected parameters, if selected.
        let weightPosition: Int?
        /// The position of the bias among the selected parameters, if selected.
        let biasPosition: Int?
        /// d_in: `in` of a Linear layer, C_in·kh·kw of a Conv2d layer.
        let inputDimension: Int
        /// d_out: `out` of a Linear layer, C_out of a Conv2d layer.
        let outputDimension: Int
        /// Whether weight and bias form one block with the appended constant input 1.
        let joint: Bool

        var hasWeight: Bool { weightPosition != nil }
        var hasBias: Bool { biasPosition != nil }

        /// The size of the input factor: d_in, or d_in + 1 when joint.
        var inputFactorDimension: Int { inputDimension + (joint ? 1 : 0) }
    }

    var problem: CurvatureProblem<Scalar>
    let layers: [Layer]
    let fisherType: FisherType
    let kfacApproximation: KFACApproximation
    let separateWeightAndBias: Bool

    /// Validates every argument before any pass over the data.
    ///
    /// - Parameters:
    ///   - owner: The operator's name, for messages.
    ///   - numPerExampleLossTerms: T as the caller gives it, or `nil` to use
    ///     the value the data imply.
    /// - Throws: ``CurvlinopsError`` naming the argument:
    ///   `invalidArgument` for Monte-Carlo samples below 1 or beyond the sizes
    ///   `Int` can count (see ``CurvatureProblem/checkSampledGradientSize(samples:argument:)``), a given T below 1
    ///   or different from the data's; `unsupported` for a selected parameter
    ///   of a layer other than `Linear` and `Conv2d`; and everything
    ///   ``CurvatureProblem`` throws for the model, loss, parameter names and data.
    init(
        owner: String, model: Sequential<Scalar>, loss: any Loss, parameters: [String], data: [Batch<Scalar>],
        fisherType: FisherType, kfacApproximation: KFACApproximation, separateWeightAndBias: Bool,
        numPerExampleLossTerms: Int?
    ) throws {
        try fisherType.validate(owner: owner)
        let problem = try CurvatureProblem(owner: owner, model: model, loss: loss, parameters: parameters, data: data)
        if case let .monteCarlo(samples, seed) = fisherType {
            try problem.checkSampledGradientSize(
                samples: samples, argument: "fisherType = .monteCarlo(samples: \(samples), seed: \(seed))")
        }
        if let given = numPerExampleLossTerms {
            try Self.checkTermsPerExample(given, problem: problem, owner: owner)
        }

        self.problem = problem
        self.layers = try Self.layers(of: problem, separateWeightAndBias: separateWeightAndBias, owner: owner)
        self.fisherType = fisherType
        self.kfacApproximation = kfacApproximation
        self.separateWeightAndBias = separateWeightAndBias
    }

    /// The layers as a Kronecker-factored operator describes them.
    var kfacLayers: [KFACLayer] {
        layers.map { KFACLayer(name: $0.name, weightPosition: $0.weightPosition, biasPosition: $0.biasPosition) }
    }

    /// The factor between the sum-form probes and the gradient factor,
    /// κ·ρ²/M, with M the Monte-Carlo samples per datum (1 for the other types).
    var probeScale: Scalar {
        if case let .monteCarlo(samples, _) = fisherType {
            return problem.lossScale / Scalar(samples)
        }
        return problem.lossScale
    }

    /// Groups the selected parameters by layer, in the order of the network's layers.
    private static func layers(
        of problem: CurvatureProblem<Scalar>, separateWeightAndBias: Bool, owner: String
    ) throws -> [Layer] {
        let model = problem.model
        var roles: [Int: (weight: Int?, bias: Int?)] = [:]
        for (block, position) in problem.parameterPositions.enumerated() {
            let index = model.parameterRanges.firstIndex { $0.contains(position) }!
            let layer = model.layers[index]
            guard layer is Linear || layer is Conv2d else {
                throw CurvlinopsError(.unsupported,
                    "\(owner): parameters[\(block)] = \"\(problem.parameterNames[block])\" belongs to layer \(index) (\(layer)), which KFAC does not support; expected parameters of Linear and Conv2d layers only.")
            }
            let localName = layer.parameterShapes[position - model.parameterRanges[index].lowerBound].name
            var entry = roles[index] ?? (nil, nil)
            if localName == "weight" {
                entry.weight = block
            } else {
                entry.bias = block
            }
            roles[index] = entry
        }

        return roles.keys.sorted().map { index in
            let (weight, bias) = roles[index]!
            let dimensions: (input: Int, output: Int)
            switch model.layers[index] {
            case let linear as Linear:
                dimensions = (linear.inFeatures, linear.outFeatures)
            case let convolution as Conv2d:
                dimensions = (convolution.patchSize, convolution.outChannels)
            default:
                preconditionFailure("layer \(index) was checked to be Linear or Conv2d")
            }
            return Layer(
                name: String(index), index: index, weightPosition: weight, biasPosition: bias,
                inputDimension: dimensions.input, outputDimension: dimensions.output,
                joint: !separateWeightAndBias && weight != nil && bias != nil)
        }
    }

    /// Checks a given number of loss terms per datum against the data.
    ///
    /// The data are in memory, so T is known exactly; a different value would
    /// only rescale the factors of a `.mean` loss, silently.
    private static func checkTermsPerExample(_ given: Int, problem: CurvatureProblem<Scalar>, owner: String) throws {
        guard given >= 1 else {
            throw CurvlinopsError.invalidArgument(
                "\(owner): got numPerExampleLossTerms = \(given); expected at least 1, or nil to infer it from the data.")
        }
        guard given == problem.termsPerExample else {
            throw CurvlinopsError.invalidArgument(
                "\(owner): got numPerExampleLossTerms = \(given), but the model output of data[0] has \(problem.termsPerExample) loss terms per datum; pass \(problem.termsPerExample) or nil.")
        }
    }
}
