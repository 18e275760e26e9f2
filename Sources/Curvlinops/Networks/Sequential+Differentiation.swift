/// The record of one forward pass through a ``Sequential`` on one batch:
/// what every layer received and produced, kept for differentiation.
struct ForwardPass<Scalar: LapackScalar>: Sendable {
    /// One record per layer, in layer order.
    let records: [LayerRecord<Scalar>]

    /// The batch size, the size of axis 0 of the input.
    let batchSize: Int

    /// The network's output.
    var output: Tensor<Scalar> { records[records.count - 1].output }
}

/// Cotangents from a backward pass through a ``Sequential`` for k output cotangents.
struct NetworkCotangents<Scalar: LapackScalar> {
    /// For each requested parameter (by its position in
    /// ``Sequential/parameterNames``), the k cotangents stacked as [k, parameter shape…].
    var parameters: [Int: Tensor<Scalar>]

    /// For each requested layer, the k cotangents of the layer's output,
    /// stacked as [k·batch, output axes…].
    var layerOutputs: [Int: Tensor<Scalar>]
}

extension Sequential {
    /// Runs the layers on a batch and keeps what differentiation needs.
    ///
    /// - Parameter input: The batch, batch axis first; its entries are not checked for finiteness.
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when the input does not
    ///   fit, with the message of ``outputShape(forInput:)``.
    func forwardPass(_ input: Tensor<Scalar>) throws -> ForwardPass<Scalar> {
        _ = try outputShape(forInput: input.shape)
        var records: [LayerRecord<Scalar>] = []
        records.reserveCapacity(layers.count)
        var current = input
        for (index, layer) in differentiableLayers.enumerated() {
            let record = try layer.forward(current, parameters: parameters(ofLayer: index))
            current = record.output
            records.append(record)
        }
        return ForwardPass(records: records, batchSize: input.shape[0])
    }

    /// Forward-mode products: the tangents of every layer's output for k
    /// parameter tangents (the input data has no tangent).
    ///
    /// - Parameters:
    ///   - pass: The forward pass of the batch.
    ///   - parameterTangents: For some parameters (by position in
    ///     ``parameterNames``) k tangents stacked as [k, parameter shape…]; the
    ///     others have tangent zero.
    ///   - k: The number of tangents.
    /// - Returns: Entry `l` is the tangent of layer `l`'s output, [k·batch, output axes…],
    ///   or `nil` where it is zero (the layers before the first parameter with a tangent).
    /// - Complexity: About twice the gemm work of a forward pass, times k.
    func jacobianVectorProducts(
        _ pass: ForwardPass<Scalar>, parameterTangents: [Int: Tensor<Scalar>], count k: Int
    ) throws -> [Tensor<Scalar>?] {
        var tangents: [Tensor<Scalar>?] = []
        tangents.reserveCapacity(layers.count)
        var current: Tensor<Scalar>?
        for (index, layer) in differentiableLayers.enumerated() {
            let layerTangents = parameterRanges[index].map { parameterTangents[$0] }
            current = try layer.jacobianVectorProduct(
                pass.records[index], parameters: parameters(ofLayer: index),
                inputTangent: current, parameterTangents: layerTangents, count: k)
            tangents.append(current)
        }
        return tangents
    }

    /// The tangents of the network's output for k parameter tangents, of
    /// which at least one must be given.
    ///
    /// - Returns: Shape [k·batch, output axes…].
    func outputTangents(
        _ pass: ForwardPass<Scalar>, parameterTangents: [Int: Tensor<Scalar>], count k: Int
    ) throws -> Tensor<Scalar> {
        precondition(!parameterTangents.isEmpty, "outputTangents needs at least one parameter tangent")
        // A tangent that is non-zero at some layer stays non-nil through every later layer.
        return try jacobianVectorProducts(pass, parameterTangents: parameterTangents, count: k).last!!
    }

    /// Reverse-mode products: parameter cotangents, and optionally the
    /// cotangents of chosen layers' outputs, for k output cotangents.
    ///
    /// Back-propagation stops at the lowest layer that owns a requested
    /// parameter or whose output is requested.
    ///
    /// - Parameters:
    ///   - pass: The forward pass of the batch.
    ///   - outputCotangents: k cotangents of the network's output, [k·batch, output axes…].
    ///   - k: The number of cotangents.
    ///   - parameters: The positions in ``parameterNames`` whose cotangents to return.
    ///   - recordedLayers: The layers whose output cotangents to return. Default none.
    /// - Returns: Every requested cotangent; a parameter the cotangents do not
    ///   reach gets zeros.
    /// - Complexity: About twice the gemm work of a forward pass, times k.
    func vectorJacobianProducts(
        _ pass: ForwardPass<Scalar>, outputCotangents: Tensor<Scalar>, count k: Int,
        parameters requested: Set<Int>, recordingOutputsOf recordedLayers: Set<Int> = []
    ) throws -> NetworkCotangents<Scalar> {
        var result = NetworkCotangents<Scalar>(parameters: [:], layerOutputs: [:])
        let lowest = lowestLayer(holding: requested, or: recordedLayers)
        var cotangent = outputCotangents
        for index in stride(from: layers.count - 1, through: lowest, by: -1) {
            if recordedLayers.contains(index) {
                result.layerOutputs[index] = cotangent
            }
            let range = parameterRanges[index]
            let layerCotangents = try differentiableLayers[index].vectorJacobianProduct(
                pass.records[index], parameters: parameters(ofLayer: index),
                outputCotangent: cotangent, count: k,
                needsInput: index > lowest, needsParameters: range.map { requested.contains($0) })
            for (offset, position) in range.enumerated() where requested.contains(position) {
                result.parameters[position] = layerCotangents.parameters[offset]
                    ?? Tensor(zeros: [k] + parameterValues[position].shape)
            }
            guard index > lowest, let next = layerCotangents.input else { break }
            cotangent = next
        }
        return result
    }

    /// Hessian-vector products by the R-operator (Pearlmutter 1994): the
    /// directional derivative of back-propagation along k parameter tangents.
    ///
    /// With the gradient g_l = ∂L/∂(output of layer l) and the tangents from
    /// ``jacobianVectorProducts(_:parameterTangents:count:)``, each layer maps
    /// (g, R{g}) at its output to its input and parameters:
    ///
    /// ```
    /// R{∂L/∂x} = (∂y/∂x)ᵀ R{g} + second-order input term of gᵀy
    /// R{∂L/∂θ} = (∂y/∂θ)ᵀ R{g} + second-order parameter term of gᵀy
    /// ```
    ///
    /// and R{∂L/∂θ} is the Hessian of L times the parameter tangent.
    ///
    /// - Parameters:
    ///   - pass: The forward pass of the batch.
    ///   - tangents: The layer-output tangents for `parameterTangents`.
    ///   - parameterTangents: As for ``jacobianVectorProducts(_:parameterTangents:count:)``.
    ///   - outputGradient: ∂L/∂output, one vector of the output's shape.
    ///   - outputGradientTangents: R{∂L/∂output} = ∇²_output L · (output tangent),
    ///     [k·batch, output axes…], or `nil` when zero.
    ///   - k: The number of tangents.
    ///   - parameters: The positions in ``parameterNames`` whose products to return.
    /// - Returns: For each requested parameter, k products [k, parameter shape…].
    /// - Complexity: About four times the gemm work of a forward pass, times k.
    func hessianVectorProducts(
        _ pass: ForwardPass<Scalar>, tangents: [Tensor<Scalar>?], parameterTangents: [Int: Tensor<Scalar>],
        outputGradient: Tensor<Scalar>, outputGradientTangents: Tensor<Scalar>?, count k: Int,
        parameters requested: Set<Int>
    ) throws -> [Int: Tensor<Scalar>] {
        var result: [Int: Tensor<Scalar>] = [:]
        let lowest = lowestLayer(holding: requested, or: [])
        var gradient = outputGradient
        var gradientTangents = outputGradientTangents
        for index in stride(from: layers.count - 1, through: lowest, by: -1) {
            let layer = differentiableLayers[index]
            let record = pass.records[index]
            let layerParameters = parameters(ofLayer: index)
            let range = parameterRanges[index]
            let needsInput = index > lowest
            let needsParameters = range.map { requested.contains($0) }

            let firstOrder = try gradientTangents.map {
                try layer.vectorJacobianProduct(
                    record, parameters: layerParameters, outputCotangent: $0, count: k,
                    needsInput: needsInput, needsParameters: needsParameters)
            }
            let secondOrder = try layer.secondOrderTerms(
                record, parameters: layerParameters, outputGradient: gradient,
                inputTangent: index > 0 ? tangents[index - 1] : nil,
                parameterTangents: range.map { parameterTangents[$0] }, count: k,
                needsInput: needsInput, needsParameters: needsParameters)

            for (offset, position) in range.enumerated() where requested.contains(position) {
                result[position] = sumOfOptionals(firstOrder?.parameters[offset], secondOrder.parameters[offset])
                    ?? Tensor(zeros: [k] + parameterValues[position].shape)
            }
            guard needsInput else { break }
            gradientTangents = sumOfOptionals(firstOrder?.input, secondOrder.input)
            let backward = try layer.vectorJacobianProduct(
                record, parameters: layerParameters, outputCotangent: gradient, count: 1,
                needsInput: true, needsParameters: needsParameters.map { _ in false })
            gradient = backward.input!
        }
        return result
    }

    /// Returns the lowest layer index that owns one of `parameters` or is in
    /// `layers`, or the last layer when there is none.
    private func lowestLayer(holding parameters: Set<Int>, or layers: Set<Int>) -> Int {
        var lowest = self.layers.count - 1
        for (index, range) in parameterRanges.enumerated() where range.contains(where: parameters.contains) {
            lowest = min(lowest, index)
            break
        }
        if let lowestRecorded = layers.min() {
            lowest = min(lowest, lowestRecorded)
        }
        return lowest
    }
}

/// Adds two optional tensors of the same shape, and returns `nil` when both are `nil`.
private func sumOfOptionals<Scalar: LapackScalar>(_ a: Tensor<Scalar>?, _ b: Tensor<Scalar>?) -> Tensor<Scalar>? {
    guard var sum = a else { return b }
    if let b {
        sum.add(b)
    }
    return sum
}
