// Linear as a row-major matrix map: an input [batch, …, in] is X with
// R = count / in rows, the output is Y = X·Wᵀ + 1·bᵀ with R rows. Every
// product below is one gemm over all rows and all k vectors. The k products
// that share X or the output gradient become one gemm by moving k next to
// the feature axis (`swappingAxes`).

extension Linear: DifferentiableLayer {
    func initialParameters<Scalar: LapackScalar, Generator: RandomNumberGenerator>(
        using generator: inout Generator
    ) -> [Tensor<Scalar>] {
        let bound = 1 / Scalar(inFeatures).squareRoot()
        return parameterShapes.map { _, shape in
            uniformTensor(shape: shape, bound: bound, using: &generator)
        }
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func forward<Scalar: LapackScalar>(_ input: Tensor<Scalar>, parameters: [Tensor<Scalar>]) throws -> LayerRecord<Scalar> {
        let rows = input.count / inFeatures
        var output = Tensor<Scalar>(zeros: try outputShape(forInput: input.shape))
        if hasBias {
            parameters[1].withUnsafeBufferPointer { bias in
                output.addToEveryRow(bias.baseAddress!, features: outFeatures)
            }
        }
        try gemm(input, parameters[0], transposeB: true, m: rows, n: outFeatures, k: inFeatures,
                 beta: hasBias ? 1 : 0, into: &output)
        return LayerRecord(input: input, output: output, unfoldedInput: nil)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func jacobianVectorProduct<Scalar: LapackScalar>(
        _ record: LayerRecord<Scalar>, parameters: [Tensor<Scalar>],
        inputTangent: Tensor<Scalar>?, parameterTangents: [Tensor<Scalar>?], count k: Int
    ) throws -> Tensor<Scalar>? {
        let rows = record.input.count / inFeatures
        let shape = stackedShape(record.output.shape, count: k)
        var result: Tensor<Scalar>?

        // ẋ·Wᵀ for all k·R rows at once.
        if let inputTangent {
            var product = Tensor<Scalar>(gemmOutputShape: shape)
            try gemm(inputTangent, parameters[0], transposeB: true, m: k * rows, n: outFeatures, k: inFeatures,
                     into: &product)
            result = product
        }

        // X·Ẇⱼᵀ for all j: X [R, in] times the stacked [k·out, in] transposed
        // gives [R, k, out], which is swapped to [k, R, out].
        if let weightTangent = parameterTangents[0] {
            var product = Tensor<Scalar>(gemmOutputShape: [rows, k * outFeatures])
            try gemm(record.input, weightTangent, transposeB: true, m: rows, n: k * outFeatures, k: inFeatures,
                     into: &product)
            var sum = result ?? Tensor(zeros: shape)
            addSwapped(product, into: &sum, outer: 1, first: rows, second: k, inner: outFeatures)
            result = sum
        }

        if hasBias, let biasTangent = parameterTangents[1] {
            var sum = result ?? Tensor(zeros: shape)
            sum.withUnsafeMutableBufferPointer { target in
                biasTangent.withUnsafeBufferPointer { bias in
                    for j in 0..<k {
                        let vector = bias.baseAddress! + j * outFeatures
                        for row in 0..<rows {
                            let destination = target.baseAddress! + (j * rows + row) * outFeatures
                            for o in 0..<outFeatures { destination[o] += vector[o] }
                        }
                    }
                }
            }
            result = sum
        }
        return result
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func vectorJacobianProduct<Scalar: LapackScalar>(
        _ record: LayerRecord<Scalar>, parameters: [Tensor<Scalar>],
        outputCotangent: Tensor<Scalar>, count k: Int,
        needsInput: Bool, needsParameters: [Bool]
    ) throws -> LayerCotangents<Scalar> {
        let rows = record.input.count / inFeatures
        var result = LayerCotangents<Scalar>(input: nil, parameters: Array(repeating: nil, count: needsParameters.count))

        // Ḡ·W for all k·R rows.
        if needsInput {
            var product = Tensor<Scalar>(gemmOutputShape: stackedShape(record.input.shape, count: k))
            try gemm(outputCotangent, parameters[0], m: k * rows, n: inFeatures, k: outFeatures, into: &product)
            result.input = product
        }

        // Ḡⱼᵀ·X for all j: Ḡ [k, R, out] becomes [R, k·out], and its transpose
        // times X [R, in] is the stacked [k, out, in].
        if needsParameters[0] {
            let gathered = outputCotangent.swappingAxes(
                outer: 1, first: k, second: rows, inner: outFeatures, newShape: [rows, k * outFeatures])
            var product = Tensor<Scalar>(gemmOutputShape: [k, outFeatures, inFeatures])
            try gemm(gathered, record.input, transposeA: true, m: k * outFeatures, n: inFeatures, k: rows,
                     into: &product)
            result.parameters[0] = product
        }

        if hasBias, needsParameters[1] {
            result.parameters[1] = outputCotangent.sumsOverRows(blocks: k, features: outFeatures)
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
        let rows = record.input.count / inFeatures
        var result = LayerCotangents<Scalar>(input: nil, parameters: Array(repeating: nil, count: needsParameters.count))

        // y is bilinear in (x, W): the input part is g·Ẇⱼ, the weight part gᵀ·ẋⱼ;
        // the bias enters linearly and has none.
        if needsInput, let weightTangent = parameterTangents[0] {
            let gathered = weightTangent.swappingAxes(
                outer: 1, first: k, second: outFeatures, inner: inFeatures, newShape: [outFeatures, k * inFeatures])
            var product = Tensor<Scalar>(gemmOutputShape: [rows, k * inFeatures])
            try gemm(outputGradient, gathered, m: rows, n: k * inFeatures, k: outFeatures, into: &product)
            result.input = product.swappingAxes(
                outer: 1, first: rows, second: k, inner: inFeatures,
                newShape: stackedShape(record.input.shape, count: k))
        }

        if needsParameters[0], let inputTangent {
            let gathered = inputTangent.swappingAxes(
                outer: 1, first: k, second: rows, inner: inFeatures, newShape: [rows, k * inFeatures])
            var product = Tensor<Scalar>(gemmOutputShape: [outFeatures, k * inFeatures])
            try gemm(outputGradient, gathered, transposeA: true, m: outFeatures, n: k * inFeatures, k: rows,
                     into: &product)
            result.parameters[0] = product.swappingAxes(
                outer: 1, first: outFeatures, second: k, inner: inFeatures, newShape: [k, outFeatures, inFeatures])
        }
        return result
    }
}

/// Adds `source`, viewed as [outer, first, second, inner], into `target` with
/// the axes `first` and `second` swapped.
func addSwapped<Scalar: LapackScalar>(
    _ source: Tensor<Scalar>, into target: inout Tensor<Scalar>,
    outer: Int, first: Int, second: Int, inner: Int
) {
    precondition(source.count == target.count && source.count == outer * first * second * inner,
                 "addSwapped: \(source.shape) and \(target.shape) do not fit the view")
    guard source.count > 0 else { return }
    source.withUnsafeBufferPointer { from in
        target.withUnsafeMutableBufferPointer { to in
            swapAxes(from.baseAddress!, into: to.baseAddress!,
                     outer: outer, first: first, second: second, inner: inner, accumulate: true)
        }
    }
}

/// Draws a tensor with entries uniform in [−bound, bound].
func uniformTensor<Scalar: LapackScalar, Generator: RandomNumberGenerator>(
    shape: [Int], bound: Scalar, using generator: inout Generator
) -> Tensor<Scalar> {
    let count = shape.reduce(1, *)
    var values: [Scalar] = []
    values.reserveCapacity(count)
    for _ in 0..<count {
        values.append(Scalar.random(in: -bound...bound, using: &generator))
    }
    return Tensor(uncheckedShape: shape, elements: values)
}
