extension MSELoss: DifferentiableLoss {
    var averagesOverClasses: Bool { true }

    func termLayout(outputShape: [Int]) throws -> LossTermLayout {
        try lastAxisTermLayout(outputShape: outputShape, loss: self)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func validateTarget<Scalar: LapackScalar>(_ target: Tensor<Scalar>, outputShape: [Int], argument: String) throws {
        try validateSameShapeTarget(target, outputShape: outputShape, argument: argument, loss: self)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func sumOfLosses<Scalar: LapackScalar>(logits: Tensor<Scalar>, targets: Tensor<Scalar>, layout: LossTermLayout) -> Scalar {
        var total = 0.0
        logits.withUnsafeBufferPointer { f in
            targets.withUnsafeBufferPointer { y in
                for i in 0..<f.count {
                    let residual = Double(f[i]) - Double(y[i])
                    total += residual * residual
                }
            }
        }
        return Scalar(total)
    }

    /// 2(f − y).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func gradients<Scalar: LapackScalar>(logits: Tensor<Scalar>, targets: Tensor<Scalar>, layout: LossTermLayout) -> Tensor<Scalar> {
        logits.withUnsafeBufferPointer { f in
            targets.withUnsafeBufferPointer { y in
                Tensor(shape: logits.shape) { g in
                    for i in 0..<f.count { g[i] = 2 * (f[i] - y[i]) }
                }
            }
        }
    }

    /// 2u.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func hessianProducts<Scalar: LapackScalar>(
        logits: Tensor<Scalar>, tangents: Tensor<Scalar>, count k: Int, layout: LossTermLayout
    ) -> Tensor<Scalar> {
        var result = tangents
        result.scale(by: 2)
        return result
    }

    /// Column c of √2·I.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func hessianSquareRoots<Scalar: LapackScalar>(logits: Tensor<Scalar>, layout: LossTermLayout) -> Tensor<Scalar> {
        let (rows, c) = (layout.rows, layout.classes)
        let root = Scalar(2).squareRoot()
        return Tensor(shape: [c * rows, c]) { result in
            for probe in 0..<c {
                for row in 0..<rows {
                    result[(probe * rows + row) * c + probe] = root
                }
            }
        }
    }

    /// ỹ = f + ε with ε ~ N(0, I/2): the likelihood ∝ exp(−‖f − y‖²) of the sum form.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func sampleTargets<Scalar: LapackScalar>(
        logits: Tensor<Scalar>, layout: LossTermLayout, using generator: inout SeededGenerator
    ) -> Tensor<Scalar> {
        let deviation = 0.5.squareRoot()
        return logits.withUnsafeBufferPointer { f in
            Tensor(shape: logits.shape) { y in
                for i in 0..<f.count {
                    y[i] = Scalar(Double(f[i]) + deviation * generator.nextStandardNormal())
                }
            }
        }
    }
}

/// Returns the term layout of MSE and BCE, whose terms lie along the last axis.
func lastAxisTermLayout(outputShape: [Int], loss: any Loss) throws -> LossTermLayout {
    guard outputShape.count >= 2, outputShape[0] >= 1, outputShape.last! >= 1 else {
        throw CurvlinopsError.shapeMismatch(
            "\(loss): the model output has shape \(outputShape); expected [batch, …, C] with at least 2 axes, batch and C at least 1.")
    }
    try rejectEmptyTerms(outputShape: outputShape, loss: loss)
    let batch = outputShape[0]
    let classes = outputShape[outputShape.count - 1]
    return LossTermLayout(
        batchSize: batch, termsPerExample: outputShape.reduce(1, *) / (batch * classes),
        classes: classes, classAxisIsOne: false)
}

/// Checks a target that must have the output's shape and finite entries (MSE, BCE).
func validateSameShapeTarget<Scalar: LapackScalar>(
    _ target: Tensor<Scalar>, outputShape: [Int], argument: String, loss: any Loss
) throws {
    guard target.shape == outputShape else {
        throw CurvlinopsError.shapeMismatch(
            "\(loss): \(argument) has shape \(target.shape); expected \(outputShape), the shape of the model output.")
    }
    try validateFiniteTarget(target, owner: "\(loss)", argument: argument)
}

/// Rejects an output with an axis of size 0: it has no loss terms, so the mean
/// reduction would divide by zero and the curvature would be an empty sum.
func rejectEmptyTerms(outputShape: [Int], loss: any Loss) throws {
    if let axis = outputShape.firstIndex(of: 0) {
        throw CurvlinopsError.shapeMismatch(
            "\(loss): the model output has shape \(outputShape), whose axis \(axis) has size 0, so it has no loss terms; expected every axis at least 1.")
    }
}
