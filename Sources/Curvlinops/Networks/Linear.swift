/// A fully connected layer acting on the last axis, as PyTorch's `nn.Linear`.
///
/// ```
/// y[…, o] = Σᵢ W[o, i] · x[…, i] + b[o]
/// ```
///
/// Layouts: the weight `W` has shape `[outFeatures, inFeatures]`, the bias `b`
/// shape `[outFeatures]`, both row-major. The input has shape
/// `[batch, …, inFeatures]` with any number of axes between the batch axis and
/// the features (for example `[batch, sequence, inFeatures]`); the output is
/// `[batch, …, outFeatures]`. Every position along the middle axes shares the
/// weight, which is what KFAC's weight sharing refers to.
///
/// Default initialisation (PyTorch's): every entry of `W` and `b` uniform in
/// `[−1/√inFeatures, 1/√inFeatures]`.
public struct Linear: Layer {
    /// The size of the input's last axis.
    public let inFeatures: Int

    /// The size of the output's last axis.
    public let outFeatures: Int

    /// Whether the layer adds a bias.
    public let hasBias: Bool

    /// Creates a linear layer.
    ///
    /// - Parameters:
    ///   - inFeatures: The size of the input's last axis, at least 1.
    ///   - outFeatures: The size of the output's last axis, at least 1.
    ///   - bias: Whether to add a bias. Default true, as in PyTorch.
    /// - Throws: ``CurvlinopsError/Kind/invalidArgument`` when a size is below 1,
    ///   or when the weight would have more than `Int.max` entries.
    public init(inFeatures: Int, outFeatures: Int, bias: Bool = true) throws {
        guard inFeatures >= 1, outFeatures >= 1 else {
            throw CurvlinopsError.invalidArgument(
                "Linear: got inFeatures = \(inFeatures), outFeatures = \(outFeatures); expected both at least 1.")
        }
        guard checkedProduct(outFeatures, inFeatures) != nil else {
            throw CurvlinopsError.invalidArgument(
                "Linear: got inFeatures = \(inFeatures), outFeatures = \(outFeatures), whose weight has more entries than Int can count; expected a smaller layer.")
        }
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.hasBias = bias
    }

    /// `weight` of shape `[outFeatures, inFeatures]`, then `bias` of shape `[outFeatures]` when ``hasBias``.
    public var parameterShapes: [(name: String, shape: [Int])] {
        var shapes = [(name: "weight", shape: [outFeatures, inFeatures])]
        if hasBias {
            shapes.append((name: "bias", shape: [outFeatures]))
        }
        return shapes
    }

    /// The input shape with its last axis replaced by ``outFeatures``.
    ///
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when the input has fewer
    ///   than 2 axes or its last axis is not ``inFeatures``.
    public func outputShape(forInput inputShape: [Int]) throws -> [Int] {
        guard inputShape.count >= 2, inputShape.last == inFeatures else {
            throw CurvlinopsError.shapeMismatch(
                "\(self) got an input of shape \(inputShape); expected [batch, …, \(inFeatures)] (at least 2 axes, last axis \(inFeatures)).")
        }
        var shape = inputShape
        shape[shape.count - 1] = outFeatures
        return shape
    }

    /// The layer as its initialiser call, for example `Linear(inFeatures: 6, outFeatures: 5, bias: true)`.
    public var description: String {
        "Linear(inFeatures: \(inFeatures), outFeatures: \(outFeatures), bias: \(hasBias))"
    }
}
