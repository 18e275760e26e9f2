/// The reduction of a loss over its terms, PyTorch's `reduction`.
public enum LossReduction: String, Sendable, CaseIterable {
    /// The average: PyTorch divides by the number of predictions (cross-entropy)
    /// or of output entries (mean-squared error, BCE).
    case mean
    /// The sum over all terms.
    case sum
}

/// A loss function of a network's output and a target, as PyTorch's loss modules.
///
/// Each loss cuts one sample's output into T *terms* of C numbers. For
/// ``CrossEntropyLoss`` the class axis is axis 1 (`f_{n,t} = out[n, :, t]`), for
/// ``MSELoss`` and ``BCEWithLogitsLoss`` it is the last axis
/// (`f_{n,t} = out[n, t, :]`); T is the product of the other non-batch axes.
/// With the per-term *sum-form* loss l(f, y) documented on each type, a batch
/// of N samples has the loss
///
/// ```
/// L = κ · ρ² · Σ_{n,t} l(f_{n,t}, y_{n,t})
/// κ = 1/(N·T) for .mean, 1 for .sum;   ρ² = 1/C for MSE and BCE with .mean, else 1
/// ```
///
/// which is PyTorch's value. A curvature operator over several batches uses
/// the total N of the whole data set in κ.
///
/// The library's losses are ``MSELoss``, ``CrossEntropyLoss`` and
/// ``BCEWithLogitsLoss``. A type of your own that conforms to `Loss` is
/// rejected with ``CurvlinopsError/Kind/unsupported`` where a loss is used.
public protocol Loss: Sendable, CustomStringConvertible {
    /// The reduction of the batch loss over its terms.
    var reduction: LossReduction { get }
}

extension Loss {
    /// Computes the loss of one batch, as PyTorch's loss module does.
    ///
    /// - Parameters:
    ///   - output: The network's output for the batch, batch axis first.
    ///   - target: The targets, in the layout the loss documents.
    /// - Returns: The loss L of the batch (see ``Loss``).
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when the shapes do not
    ///   fit, or the output has an axis of size 0 and so no loss terms (the
    ///   mean would divide by zero). ``CurvlinopsError/Kind/invalidArgument`` for a class index out
    ///   of range. ``CurvlinopsError/Kind/nonFiniteValue`` for NaN or infinite
    ///   entries. ``CurvlinopsError/Kind/unsupported`` for a loss type of your own.
    public func callAsFunction<Scalar: LapackScalar>(_ output: Tensor<Scalar>, _ target: Tensor<Scalar>) throws -> Scalar {
        let loss = try differentiable(owner: "\(self)")
        let layout = try loss.termLayout(outputShape: output.shape)
        if let index = output.firstNonFiniteIndex {
            throw CurvlinopsError.nonFinite(
                "\(self): the output contains \(output.elements[index]) at flat index \(index); expected finite values.")
        }
        try loss.validateTarget(target, outputShape: output.shape, argument: "target")
        let terms = LossTerms(loss: loss, output: output, layout: layout)
        let scaling: (kappa: Scalar, rho2: Scalar) = loss.scaling(numberOfSamples: layout.batchSize, layout: layout)
        return scaling.kappa * scaling.rho2 * terms.sumOfLosses(target: target)
    }

    /// Returns the loss as one of the library's losses, or throws `unsupported` naming `owner`.
    func differentiable(owner: String) throws -> any DifferentiableLoss {
        guard let loss = self as? any DifferentiableLoss else {
            throw CurvlinopsError(.unsupported,
                "\(owner): the loss \(self) is not one of the library's losses (MSELoss, CrossEntropyLoss, BCEWithLogitsLoss).")
        }
        return loss
    }
}

/// Mean-squared error, as PyTorch's `nn.MSELoss`.
///
/// Per term (the last axis, C entries): `l(f, y) = Σ_c (f_c − y_c)²`, gradient
/// `2(f − y)`, Hessian `2I`. The output has shape `[batch, …, C]` (at least 2
/// axes) and the target the same shape. With `.mean` the batch loss is
/// divided by the number of output entries N·T·C, as PyTorch does.
public struct MSELoss: Loss {
    /// The reduction over the loss terms. With `.mean` the sum is divided by the count the type documents.
    public let reduction: LossReduction

    /// Creates the loss.
    ///
    /// - Parameter reduction: Default `.mean`, PyTorch's.
    public init(reduction: LossReduction = .mean) {
        self.reduction = reduction
    }

    /// The loss as its initialiser call.
    public var description: String { "MSELoss(reduction: .\(reduction))" }
}

/// Cross-entropy of logits and class indices, as PyTorch's `nn.CrossEntropyLoss`.
///
/// Per term (axis 1, C classes): `l(f, y) = −log softmax(f)_y`, gradient
/// `p − e_y`, Hessian `diag(p) − p·pᵀ` with `p = softmax(f)`. The output has
/// shape `[batch, C]` or `[batch, C, d1, …]` (for a sequence `[batch, C, T]`;
/// ``Rearrange`` moves a trailing class axis there), the target the shape of
/// the output without axis 1 (`[batch]`, `[batch, d1, …]`) and contains class
/// indices as whole numbers in `0 ..< C`. With `.mean` the batch loss is
/// divided by the number of predictions N·T.
///
/// Class weights, label smoothing and an ignored index are not supported:
/// every target must be a valid class.
public struct CrossEntropyLoss: Loss {
    /// The reduction over the loss terms. With `.mean` the sum is divided by the count the type documents.
    public let reduction: LossReduction

    /// Creates the loss.
    ///
    /// - Parameter reduction: Default `.mean`, PyTorch's.
    public init(reduction: LossReduction = .mean) {
        self.reduction = reduction
    }

    /// The loss as its initialiser call.
    public var description: String { "CrossEntropyLoss(reduction: .\(reduction))" }
}

/// Binary cross-entropy of logits, as PyTorch's `nn.BCEWithLogitsLoss`.
///
/// Per term (the last axis, C entries), with `s = sigmoid(f)`:
/// `l(f, y) = Σ_c −[y_c log s_c + (1 − y_c) log(1 − s_c)]`, gradient `s − y`,
/// Hessian `diag(s ⊙ (1 − s))`. The output has shape `[batch, …, C]` (at least
/// 2 axes) and the target the same shape, usually with entries 0 or 1 (any
/// finite value is accepted, as PyTorch does). With `.mean` the batch loss is
/// divided by the number of output entries N·T·C.
///
/// Per-class weights (`pos_weight`) are not supported.
public struct BCEWithLogitsLoss: Loss {
    /// The reduction over the loss terms. With `.mean` the sum is divided by the count the type documents.
    public let reduction: LossReduction

    /// Creates the loss.
    ///
    /// - Parameter reduction: Default `.mean`, PyTorch's.
    public init(reduction: LossReduction = .mean) {
        self.reduction = reduction
    }

    /// The loss as its initialiser call.
    public var description: String { "BCEWithLogitsLoss(reduction: .\(reduction))" }
}
