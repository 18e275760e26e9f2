/// One batch prepared for a curvature product: the batch, its forward pass
/// and its output cut into loss terms.
struct BatchEvaluation<Scalar: LapackScalar> {
    /// The batch's position in the data.
    let index: Int
    let batch: Batch<Scalar>
    let pass: ForwardPass<Scalar>
    let terms: LossTerms<Scalar>
}

extension CurvatureProblem {
    /// The selected parameters' positions in `model.parameterNames`.
    var selectedPositions: Set<Int> { Set(parameterPositions) }

    /// Runs the forward pass of batch `index` and cuts its output into loss terms.
    func evaluate(batch index: Int) throws -> BatchEvaluation<Scalar> {
        let batch = data[index]
        let pass = try model.forwardPass(batch.input)
        let layout = try loss.termLayout(outputShape: pass.output.shape)
        return BatchEvaluation(index: index, batch: batch, pass: pass,
                               terms: LossTerms(loss: loss, output: pass.output, layout: layout))
    }

    /// Sums a per-batch product over the data set for every column of `x`.
    ///
    /// For each batch, one forward pass serves all columns. The columns are
    /// processed in blocks whose stacked activations stay below about
    /// ``maxStackedEntries`` entries, so that `dense()` on many parameters
    /// does not exhaust memory.
    ///
    /// - Parameters:
    ///   - x: P × K, columns are flat vectors in block order.
    ///   - product: Maps a batch and k parameter tangents (keyed by model
    ///     parameter position, [k, shape…]) to k results in the same form.
    ///     Every selected parameter must have a result.
    /// - Returns: P × K, the sum of the batch results.
    func applyOverData(
        _ x: Matrix<Scalar>,
        product: (BatchEvaluation<Scalar>, [Int: Tensor<Scalar>], Int) throws -> [Int: Tensor<Scalar>]
    ) throws -> Matrix<Scalar> {
        var result = Matrix<Scalar>(zeros: x.rows, x.columns)
        guard x.columns > 0 else { return result }
        for index in data.indices {
            let evaluation = try evaluate(batch: index)
            let blockSize = columnBlockSize(for: evaluation.pass)
            for start in stride(from: 0, to: x.columns, by: blockSize) {
                let columns = start..<min(start + blockSize, x.columns)
                let tangents = parameterTangents(from: x, columns: columns)
                let products = try product(evaluation, tangents, columns.count)
                add(products, into: &result, columns: columns)
            }
        }
        return result
    }

    /// Computes the gradient ∇L and the loss L of the data set.
    ///
    /// - Returns: The gradient as a flat vector in block order, and L.
    /// - Complexity: One forward and one backward pass per batch.
    func gradientAndLoss() throws -> (gradient: [Scalar], loss: Scalar) {
        var gradient = Matrix<Scalar>(zeros: flatSize, 1)
        var total: Scalar = 0
        for index in data.indices {
            let evaluation = try evaluate(batch: index)
            let target = evaluation.batch.target
            total += lossScale * evaluation.terms.sumOfLosses(target: target)
            var outputGradient = evaluation.terms.gradients(target: target)
            outputGradient.scale(by: lossScale)
            let cotangents = try model.vectorJacobianProducts(
                evaluation.pass, outputCotangents: outputGradient, count: 1, parameters: selectedPositions)
            add(cotangents.parameters, into: &gradient, columns: 0..<1)
        }
        return (gradient.elements, total)
    }

    /// Columns per block: about ``maxStackedEntries`` stacked activation entries.
    private func columnBlockSize(for pass: ForwardPass<Scalar>) -> Int {
        let entriesPerColumn = pass.records.reduce(0) { $0 + $1.output.count + ($1.unfoldedInput?.count ?? 0) }
        return max(1, maxStackedEntries / max(1, entriesPerColumn))
    }

    /// Returns the blocks of the listed columns of `x` as stacked parameter tangents [k, shape…].
    func parameterTangents(from x: Matrix<Scalar>, columns: Range<Int>) -> [Int: Tensor<Scalar>] {
        var tangents: [Int: Tensor<Scalar>] = [:]
        x.withUnsafeBufferPointer { source in
            for (block, position) in parameterPositions.enumerated() {
                let shape = parameterShapes[block]
                let size = shape.reduce(1, *)
                let offset = blockOffsets[block]
                tangents[position] = Tensor(shape: [columns.count] + shape) { target in
                    for (j, column) in columns.enumerated() {
                        (target.baseAddress! + j * size).update(from: source.baseAddress! + column * x.rows + offset, count: size)
                    }
                }
            }
        }
        return tangents
    }

    /// Adds stacked parameter results [k, shape…] into the listed columns of `result`.
    func add(_ products: [Int: Tensor<Scalar>], into result: inout Matrix<Scalar>, columns: Range<Int>) {
        let rows = result.rows
        result.withUnsafeMutableBufferPointer { target in
            for (block, position) in parameterPositions.enumerated() {
                guard let product = products[position] else {
                    preconditionFailure("\(owner): no result for parameter \(parameterNames[block])")
                }
                let size = parameterShapes[block].reduce(1, *)
                let offset = blockOffsets[block]
                product.withUnsafeBufferPointer { source in
                    for (j, column) in columns.enumerated() {
                        let destination = target.baseAddress! + column * rows + offset
                        let values = source.baseAddress! + j * size
                        for i in 0..<size { destination[i] += values[i] }
                    }
                }
            }
        }
    }
}
