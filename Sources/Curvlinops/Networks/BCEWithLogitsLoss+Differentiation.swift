import Foundation

extension BCEWithLogitsLoss: DifferentiableLoss {
    var averagesOverClasses: Bool { true }

    func termLayout(outputShape: [Int]) throws -> LossTermLayout {
        try lastAxisTermLayout(outputShape: outputShape, loss: self)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func validateTarget<Scalar: LapackScalar>(_ target: Tensor<Scalar>, outputShape: [Int], argument: String) throws {
        try validateSameShapeTarget(target, outputShape: outputShape, argument: argument, loss: self)
    }

    /// Σ max(f, 0) − f·y + log(1 + e^(−|f|)), the form that does not overflow.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func sumOfLosses<Scalar: LapackScalar>(logits: Tensor<Scalar>, targets: Tensor<Scalar>, layout: LossTermLayout) -> Scalar {
        var total = 0.0
        logits.withUnsafeBufferPointer { f in
            targets.withUnsafeBufferPointer { y in
                for i in 0..<f.count {
                    let logit = Double(f[i])
                    total += max(logit, 0) - logit * Double(y[i]) + Foundation.log1p(Foundation.exp(-abs(logit)))
                }
            }
        }
        return Scalar(total)
    }

    /// sigmoid(f) − y.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func gradients<Scalar: LapackScalar>(logits: Tensor<Scalar>, targets: Tensor<Scalar>, layout: LossTermLayout) -> Tensor<Scalar> {
        logits.withUnsafeBufferPointer { f in
            targets.withUnsafeBufferPointer { y in
                Tensor(shape: logits.shape) { g in
                    for i in 0..<f.count { g[i] = logisticSigmoid(f[i]) - y[i] }
                }
            }
        }
    }

    /// s(1 − s) ⊙ u.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func hessianProducts<Scalar: LapackScalar>(
        logits: Tensor<Scalar>, tangents: Tensor<Scalar>, count k: Int, layout: LossTermLayout
    ) -> Tensor<Scalar> {
        let curvatures = logits.elements.map { f in
            let s = logisticSigmoid(f)
            return s * (1 - s)
        }
        let size = curvatures.count
        return tangents.withUnsafeBufferPointer { u in
            Tensor(shape: tangents.shape) { result in
                for j in 0..<k {
                    for i in 0..<size { result[j * size + i] = curvatures[i] * u[j * size + i] }
                }
            }
        }
    }

    /// Column c of diag(√(s(1 − s))).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func hessianSquareRoots<Scalar: LapackScalar>(logits: Tensor<Scalar>, layout: LossTermLayout) -> Tensor<Scalar> {
        let (rows, c) = (layout.rows, layout.classes)
        return logits.withUnsafeBufferPointer { f in
            Tensor(shape: [c * rows, c]) { result in
                for probe in 0..<c {
                    for row in 0..<rows {
                        let s = logisticSigmoid(f[row * c + probe])
                        result[(probe * rows + row) * c + probe] = (s * (1 - s)).squareRoot()
                    }
                }
            }
        }
    }

    /// ỹ_c ~ Bernoulli(sigmoid f_c), independently per entry.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func sampleTargets<Scalar: LapackScalar>(
        logits: Tensor<Scalar>, layout: LossTermLayout, using generator: inout SeededGenerator
    ) -> Tensor<Scalar> {
        logits.withUnsafeBufferPointer { f in
            Tensor(shape: logits.shape) { y in
                for i in 0..<f.count {
                    y[i] = generator.nextOpenUnitInterval() < Double(logisticSigmoid(f[i])) ? 1 : 0
                }
            }
        }
    }
}
