// Conv2d as a matrix map on patches: with P = unfold(x) of shape [N·S, D]
// (D = C_in·kh·kw) and W viewed as [C_out, D], the output in location-major
// order is Y = P·Wᵀ + 1·bᵀ ([N·S, C_out]), swapped to NCHW. Every product
// below is one gemm over all N·S rows and all k vectors.

extension Conv2d: DifferentiableLayer {
    func initialParameters<Scalar: LapackScalar, Generator: RandomNumberGenerator>(
        using generator: inout Generator
    ) -> [Tensor<Scalar>] {
        let bound = 1 / Scalar(patchSize).squareRoot()
        return parameterShapes.map { _, shape in
            uniformTensor(shape: shape, bound: bound, using: &generator)
        }
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func forward<Scalar: LapackScalar>(_ input: Tensor<Scalar>, parameters: [Tensor<Scalar>]) throws -> LayerRecord<Scalar> {
        let outputShape = try outputShape(forInput: input.shape)
        let g = geometry(forInput: input.shape)
        let patches = unfold(input)
        var locationMajor = Tensor<Scalar>(zeros: [g.batch, g.locations, outChannels])
        if hasBias {
            parameters[1].withUnsafeBufferPointer { bias in
                locationMajor.addToEveryRow(bias.baseAddress!, features: outChannels)
            }
        }
        try gemm(patches, parameters[0], transposeB: true, m: g.batch * g.locations, n: outChannels, k: patchSize,
                 beta: hasBias ? 1 : 0, into: &locationMajor)
        let output = locationMajor.swappingAxes(
            outer: g.batch, first: g.locations, second: outChannels, inner: 1, newShape: outputShape)
        return LayerRecord(input: input, output: output, unfoldedInput: patches)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func jacobianVectorProduct<Scalar: LapackScalar>(
        _ record: LayerRecord<Scalar>, parameters: [Tensor<Scalar>],
        inputTangent: Tensor<Scalar>?, parameterTangents: [Tensor<Scalar>?], count k: Int
    ) throws -> Tensor<Scalar>? {
        let g = geometry(forInput: record.input.shape)
        let rows = g.batch * g.locations
        let biasTangent = hasBias ? parameterTangents[1] : nil
        guard inputTangent != nil || parameterTangents[0] != nil || biasTangent != nil else { return nil }
        var locationMajor = Tensor<Scalar>(zeros: [k * g.batch, g.locations, outChannels])

        // unfold(ẋ)·Wᵀ for all k·N·S rows.
        if let inputTangent {
            try gemm(unfold(inputTangent), parameters[0], transposeB: true, m: k * rows, n: outChannels, k: patchSize,
                     into: &locationMajor)
        }

        // P·Ẇⱼᵀ for all j at once: [N·S, k, C_out], swapped to [k, N·S, C_out].
        if let weightTangent = parameterTangents[0] {
            var product = Tensor<Scalar>(gemmOutputShape: [rows, k * outChannels])
            try gemm(record.unfoldedInput!, weightTangent, transposeB: true, m: rows, n: k * outChannels, k: patchSize,
                     into: &product)
            addSwapped(product, into: &locationMajor, outer: 1, first: rows, second: k, inner: outChannels)
        }

        if let biasTangent {
            locationMajor.withUnsafeMutableBufferPointer { target in
                biasTangent.withUnsafeBufferPointer { bias in
                    for j in 0..<k {
                        let vector = bias.baseAddress! + j * outChannels
                        for row in 0..<rows {
                            let destination = target.baseAddress! + (j * rows + row) * outChannels
                            for o in 0..<outChannels { destination[o] += vector[o] }
                        }
                    }
                }
            }
        }
        return locationMajor.swappingAxes(
            outer: k * g.batch, first: g.locations, second: outChannels, inner: 1,
            newShape: stackedShape(record.output.shape, count: k))
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func vectorJacobianProduct<Scalar: LapackScalar>(
        _ record: LayerRecord<Scalar>, parameters: [Tensor<Scalar>],
        outputCotangent: Tensor<Scalar>, count k: Int,
        needsInput: Bool, needsParameters: [Bool]
    ) throws -> LayerCotangents<Scalar> {
        let g = geometry(forInput: record.input.shape)
        let rows = g.batch * g.locations
        var result = LayerCotangents<Scalar>(input: nil, parameters: Array(repeating: nil, count: needsParameters.count))
        let locationMajor = outputCotangentsBySharingPosition(outputCotangent, inputShape: record.input.shape, count: k)

        // Patch cotangents Ḡ·W for all k·N·S rows, folded back onto the input.
        if needsInput {
            var patchCotangents = Tensor<Scalar>(gemmOutputShape: [k * g.batch, g.locations, patchSize])
            try gemm(locationMajor, parameters[0], m: k * rows, n: patchSize, k: outChannels, into: &patchCotangents)
            result.input = fold(patchCotangents, inputShape: stackedShape(record.input.shape, count: k))
        }

        // Ḡⱼᵀ·P for all j: Ḡ [k, N·S, C_out] becomes [N·S, k·C_out].
        if needsParameters[0] {
            let gathered = locationMajor.swappingAxes(
                outer: 1, first: k, second: rows, inner: outChannels, newShape: [rows, k * outChannels])
            var product = Tensor<Scalar>(gemmOutputShape: [k] + parameterShapes[0].shape)
            try gemm(gathered, record.unfoldedInput!, transposeA: true, m: k * outChannels, n: patchSize, k: rows,
                     into: &product)
            result.parameters[0] = product
        }

        if hasBias, needsParameters[1] {
            result.parameters[1] = locationMajor.sumsOverRows(blocks: k, features: outChannels)
        }
        return result
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func secondOrderTerms<Scalar: LapackScalar>(
        _ record: LayerRecord<Scalar>, parameters: [Tensor<Scalar>],
        outputGradient: Tensor<Scalar>, inputTangent: Tensor<Scalar>?,
        parameterTangents: [Tensor<Scalar>?], count k: Int,
        needsInput: Bool, needsParameters: [Bool]
    ) throws -> LayerCotangents<Scalar> {
        let g = geometry(forInput: record.input.shape)
        let rows = g.batch * g.locations
        var result = LayerCotangents<Scalar>(input: nil, parameters: Array(repeating: nil, count: needsParameters.count))
        guard (needsInput && parameterTangents[0] != nil) || (needsParameters[0] && inputTangent != nil) else {
            return result
        }
        let gradient = outputCotangentsBySharingPosition(outputGradient, inputShape: record.input.shape, count: 1)

        // The output is bilinear in (x, W): the input part folds g·Ẇⱼ, the
        // weight part is gᵀ·unfold(ẋⱼ); the bias enters linearly and has none.
        if needsInput, let weightTangent = parameterTangents[0] {
            let gathered = weightTangent.swappingAxes(
                outer: 1, first: k, second: outChannels, inner: patchSize, newShape: [outChannels, k * patchSize])
            var product = Tensor<Scalar>(gemmOutputShape: [rows, k * patchSize])
            try gemm(gradient, gathered, m: rows, n: k * patchSize, k: outChannels, into: &product)
            let patchCotangents = product.swappingAxes(
                outer: 1, first: rows, second: k, inner: patchSize, newShape: [k * g.batch, g.locations, patchSize])
            result.input = fold(patchCotangents, inputShape: stackedShape(record.input.shape, count: k))
        }

        if needsParameters[0], let inputTangent {
            let gathered = unfold(inputTangent).swappingAxes(
                outer: 1, first: k, second: rows, inner: patchSize, newShape: [rows, k * patchSize])
            var product = Tensor<Scalar>(gemmOutputShape: [outChannels, k * patchSize])
            try gemm(gradient, gathered, transposeA: true, m: outChannels, n: k * patchSize, k: rows, into: &product)
            result.parameters[0] = product.swappingAxes(
                outer: 1, first: outChannels, second: k, inner: patchSize, newShape: [k] + parameterShapes[0].shape)
        }
        return result
    }

    /// Reorders output cotangents from NCHW [k·N, C_out, H_out, W_out] to
    /// location-major [k·N, S, C_out], the layout of the gemms and of KFAC's
    /// per-location output gradients.
    func outputCotangentsBySharingPosition<Scalar: LapackScalar>(
        _ cotangent: Tensor<Scalar>, inputShape: [Int], count k: Int
    ) -> Tensor<Scalar> {
        let g = geometry(forInput: inputShape)
        return cotangent.swappingAxes(
            outer: k * g.batch, first: outChannels, second: g.locations, inner: 1,
            newShape: [k * g.batch, g.locations, outChannels])
    }
}
