import Foundation

extension CrossEntropyLoss: DifferentiableLoss {
    var averagesOverClasses: Bool { false }

    func termLayout(outputShape: [Int]) throws -> LossTermLayout {
        guard outputShape.count >= 2, outputShape[0] >= 1, outputShape[1] >= 1 else {
            throw CurvlinopsError.shapeMismatch(
                "\(self): the model output has shape \(outputShape); expected [batch, classes] or [batch, classes, d1, …] with batch and classes at least 1.")
        }
        try rejectEmptyTerms(outputShape: outputShape, loss: self)
        return LossTermLayout(
            batchSize: outputShape[0], termsPerExample: outputShape.dropFirst(2).reduce(1, *),
            classes: outputShape[1], classAxisIsOne: true)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func validateTarget<Scalar: LapackScalar>(_ target: Tensor<Scalar>, outputShape: [Int], argument: String) throws {
        let expected = [outputShape[0]] + Array(outputShape.dropFirst(2))
        guard target.shape == expected else {
            throw CurvlinopsError.shapeMismatch(
                "\(self): \(argument) has shape \(target.shape); expected \(expected), class indices for a model output of shape \(outputShape) (the output without its class axis 1).")
        }
        try validateFiniteTarget(target, owner: "\(self)", argument: argument)
        let classes = outputShape[1]
        let invalid = target.withUnsafeBufferPointer { values in
            values.firstIndex { $0 < 0 || $0 >= Scalar(classes) || $0.rounded() != $0 }
        }
        if let index = invalid {
            throw CurvlinopsError.invalidArgument(
                "\(self): \(argument) contains the invalid class index \(target.elements[index]) at flat index \(index); expected a whole number in 0..<\(classes).")
        }
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func sumOfLosses<Scalar: LapackScalar>(logits: Tensor<Scalar>, targets: Tensor<Scalar>, layout: LossTermLayout) -> Scalar {
        let c = layout.classes
        var total = 0.0
        logits.withUnsafeBufferPointer { f in
            targets.withUnsafeBufferPointer { y in
                for row in 0..<layout.rows {
                    let values = f.baseAddress! + row * c
                    total += logSumExp(values, count: c) - Double(values[Int(y[row])])
                }
            }
        }
        return Scalar(total)
    }

    /// p − e_y per row.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func gradients<Scalar: LapackScalar>(logits: Tensor<Scalar>, targets: Tensor<Scalar>, layout: LossTermLayout) -> Tensor<Scalar> {
        var result = probabilities(logits, layout: layout)
        result.withUnsafeMutableBufferPointer { p in
            targets.withUnsafeBufferPointer { y in
                for row in 0..<layout.rows {
                    p[row * layout.classes + Int(y[row])] -= 1
                }
            }
        }
        return result
    }

    /// p ⊙ u − p·(pᵀu) per row and tangent.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func hessianProducts<Scalar: LapackScalar>(
        logits: Tensor<Scalar>, tangents: Tensor<Scalar>, count k: Int, layout: LossTermLayout
    ) -> Tensor<Scalar> {
        let p = probabilities(logits, layout: layout)
        let (rows, c) = (layout.rows, layout.classes)
        return p.withUnsafeBufferPointer { p in
            tangents.withUnsafeBufferPointer { u in
                Tensor(shape: tangents.shape) { result in
                    for j in 0..<k {
                        for row in 0..<rows {
                            let probabilities = p.baseAddress! + row * c
                            let tangent = u.baseAddress! + (j * rows + row) * c
                            let target = result.baseAddress! + (j * rows + row) * c
                            var inner: Scalar = 0
                            for i in 0..<c { inner += probabilities[i] * tangent[i] }
                            for i in 0..<c { target[i] = probabilities[i] * (tangent[i] - inner) }
                        }
                    }
                }
            }
        }
    }

    /// Column c of S = diag(√p) − p·√pᵀ: S[i, c] = √p_c·(δ_ic − p_i).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func hessianSquareRoots<Scalar: LapackScalar>(logits: Tensor<Scalar>, layout: LossTermLayout) -> Tensor<Scalar> {
        let p = probabilities(logits, layout: layout)
        let (rows, c) = (layout.rows, layout.classes)
        return p.withUnsafeBufferPointer { p in
            Tensor(shape: [c * rows, c]) { result in
                for probe in 0..<c {
                    for row in 0..<rows {
                        let probabilities = p.baseAddress! + row * c
                        let target = result.baseAddress! + (probe * rows + row) * c
                        let root = probabilities[probe].squareRoot()
                        for i in 0..<c { target[i] = -probabilities[i] * root }
                        target[probe] += root
                    }
                }
            }
        }
    }

    /// Draws one class per row from Categorical(softmax f) by inverting the cumulative distribution.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func sampleTargets<Scalar: LapackScalar>(
        logits: Tensor<Scalar>, layout: LossTermLayout, using generator: inout SeededGenerator
    ) -> Tensor<Scalar> {
        let p = probabilities(logits, layout: layout)
        let (rows, c) = (layout.rows, layout.classes)
        var classes: [Scalar] = []
        classes.reserveCapacity(rows)
        p.withUnsafeBufferPointer { p in
            for row in 0..<rows {
                let u = generator.nextOpenUnitInterval()
                var cumulative = 0.0
                var chosen = c - 1
                for i in 0..<c {
                    cumulative += Double(p[row * c + i])
                    if u < cumulative {
                        chosen = i
                        break
                    }
                }
                classes.append(Scalar(chosen))
            }
        }
        return Tensor(uncheckedShape: [rows], elements: classes)
    }

    /// softmax of every row, computed after subtracting the row maximum.
    private func probabilities<Scalar: LapackScalar>(_ logits: Tensor<Scalar>, layout: LossTermLayout) -> Tensor<Scalar> {
        let c = layout.classes
        return logits.withUnsafeBufferPointer { f in
            Tensor(shape: logits.shape) { p in
                for row in 0..<layout.rows {
                    let values = f.baseAddress! + row * c
                    let normaliser = logSumExp(values, count: c)
                    for i in 0..<c {
                        p[row * c + i] = Scalar(Foundation.exp(Double(values[i]) - normaliser))
                    }
                }
            }
        }
    }
}

/// log Σᵢ exp(xᵢ), in double precision, shifted by the maximum so that no exponential overflows.
private func logSumExp<Scalar: LapackScalar>(_ values: UnsafePointer<Scalar>, count: Int) -> Double {
    var maximum = -Double.infinity
    for i in 0..<count { maximum = max(maximum, Double(values[i])) }
    var sum = 0.0
    for i in 0..<count { sum += Foundation.exp(Double(values[i]) - maximum) }
    return maximum + Foundation.log(sum)
}
