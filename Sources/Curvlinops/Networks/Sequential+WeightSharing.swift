// Per-layer inputs and output gradients of the layers with weights, laid
// out by weight-sharing position: what Kronecker-factored curvature
// (KFAC, EKFAC) is built from. For a layer with weight W viewed as
// [d_out, d_in], its output at position s of sample n is W·a_{n,s} (+ b), so
// the weight's gradient is Σ_{n,s} g_{n,s}·a_{n,s}ᵀ.

extension Sequential {
    /// The positions of the ``Linear`` and ``Conv2d`` layers, in order.
    var weightLayerIndices: [Int] {
        layers.indices.filter { layers[$0] is Linear || layers[$0] is Conv2d }
    }

    /// Returns the inputs a ``Linear`` or ``Conv2d`` layer's weight multiplies,
    /// by weight-sharing position.
    ///
    /// - Linear on `[batch, d1, …, in]`: shape `[batch, S, in]` with S = d1·…
    ///   (S = 1 for `[batch, in]`); `a_{n,s}` is the input at position s.
    /// - Conv2d: the unfolded patches `[batch, S, C_in·kh·kw]`, S = H_out·W_out,
    ///   location `s = p·W_out + q`, patch entries in `(c, i, j)` row-major
    ///   order, zeros over the padding.
    ///
    /// - Parameters:
    ///   - pass: A forward pass of this network.
    ///   - index: The position of a Linear or Conv2d layer.
    /// - Returns: A tensor `[batch, S, d_in]`; no data is copied for Linear.
    func weightSharingInputs(of pass: ForwardPass<Scalar>, layer index: Int) -> Tensor<Scalar> {
        let record = pass.records[index]
        switch layers[index] {
        case let linear as Linear:
            let positions = record.input.count / (pass.batchSize * linear.inFeatures)
            return record.input.reshapedUnchecked([pass.batchSize, positions, linear.inFeatures])
        case is Conv2d:
            return record.unfoldedInput!
        default:
            preconditionFailure("weightSharingInputs: layer \(index) (\(layers[index])) is neither Linear nor Conv2d")
        }
    }

    /// Back-propagates k output cotangents and returns, for each requested
    /// ``Linear`` or ``Conv2d`` layer, the gradients with respect to its output
    /// by weight-sharing position.
    ///
    /// Entry `[j, n, s, :]` is `g_{n,s}` of cotangent j: the derivative of
    /// ⟨cotangent j, network output⟩ with respect to the layer's output at
    /// sample n, position s (Linear: along the middle axes; Conv2d: location
    /// `s = p·W_out + q`). One backward pass serves all k cotangents and all layers.
    ///
    /// - Parameters:
    ///   - pass: A forward pass of this network.
    ///   - outputCotangents: k cotangents of the network output, stacked as
    ///     [k·batch, output axes…] (for example the C probes of
    ///     ``LossTerms/hessianSquareRoots()`` or the gradients of
    ///     ``LossTerms/gradients(target:)``).
    ///   - k: The number of cotangents.
    ///   - layerIndices: Positions of Linear or Conv2d layers.
    /// - Returns: For each requested layer, a tensor `[k, batch, S, d_out]`.
    /// - Complexity: One backward pass for k cotangents, down to the lowest requested layer.
    func weightSharingOutputGradients(
        of pass: ForwardPass<Scalar>, outputCotangents: Tensor<Scalar>, count k: Int, layers layerIndices: Set<Int>
    ) throws -> [Int: Tensor<Scalar>] {
        let cotangents = try vectorJacobianProducts(
            pass, outputCotangents: outputCotangents, count: k, parameters: [], recordingOutputsOf: layerIndices)
        var result: [Int: Tensor<Scalar>] = [:]
        for index in layerIndices {
            let cotangent = cotangents.layerOutputs[index]!
            let record = pass.records[index]
            switch layers[index] {
            case let linear as Linear:
                let positions = record.output.count / (pass.batchSize * linear.outFeatures)
                result[index] = cotangent.reshapedUnchecked([k, pass.batchSize, positions, linear.outFeatures])
            case let convolution as Conv2d:
                let locationMajor = convolution.outputCotangentsBySharingPosition(
                    cotangent, inputShape: record.input.shape, count: k)
                result[index] = locationMajor.reshapedUnchecked(
                    [k, pass.batchSize, locationMajor.count / (k * pass.batchSize * convolution.outChannels),
                     convolution.outChannels])
            default:
                preconditionFailure("weightSharingOutputGradients: layer \(index) (\(layers[index])) is neither Linear nor Conv2d")
            }
        }
        return result
    }
}
