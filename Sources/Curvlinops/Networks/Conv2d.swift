/// A two-dimensional convolution (cross-correlation) with zero padding, as
/// PyTorch's `nn.Conv2d` with `groups = 1`.
///
/// ```
/// y[n, o, p, q] = b[o] + Σ_{c,i,j} W[o, c, i, j] · xpad[n, c, p·sh + i·dh, q·sw + j·dw]
/// H_out = ⌊(H + 2·ph − dh·(kh − 1) − 1) / sh⌋ + 1, and likewise W_out
/// ```
///
/// where `xpad` is `x` with `ph` zero rows above and below and `pw` zero
/// columns left and right. Layouts (row-major, NCHW): input
/// `[batch, inChannels, H, W]`, output `[batch, outChannels, H_out, W_out]`,
/// weight `[outChannels, inChannels, kh, kw]`, bias `[outChannels]`.
///
/// The layer is computed by unfolding the input into patches (im2col) of
/// shape `[batch, S, inChannels·kh·kw]`, S = H_out·W_out, location `s = p·W_out + q`,
/// patch entries in `(c, i, j)` row-major order, followed by one gemm with the
/// weight viewed as `[outChannels, inChannels·kh·kw]`.
///
/// Default initialisation (PyTorch's): every entry of `W` and `b` uniform in
/// `[−1/√(inChannels·kh·kw), 1/√(inChannels·kh·kw)]`.
///
/// Grouped convolutions (`groups > 1`) are not supported and throw.
public struct Conv2d: Layer {
    /// The number of input channels.
    public let inChannels: Int

    /// The number of output channels.
    public let outChannels: Int

    /// The kernel's height and width (kh, kw).
    public let kernelSize: (height: Int, width: Int)

    /// The step between output locations along the height and the width (sh, sw).
    public let stride: (height: Int, width: Int)

    /// The zero rows added above and below, and zero columns left and right (ph, pw).
    public let padding: (height: Int, width: Int)

    /// The spacing between kernel taps along the height and the width (dh, dw).
    public let dilation: (height: Int, width: Int)

    /// Whether the layer adds a bias per output channel.
    public let hasBias: Bool

    /// Creates a convolution layer with per-axis hyperparameters.
    ///
    /// - Parameters:
    ///   - inChannels: Input channels, at least 1.
    ///   - outChannels: Output channels, at least 1.
    ///   - kernelSize: (kh, kw), each at least 1.
    ///   - stride: (sh, sw), each at least 1. Default (1, 1), PyTorch's.
    ///   - padding: (ph, pw), each at least 0. Default (0, 0), PyTorch's.
    ///   - dilation: (dh, dw), each at least 1. Default (1, 1), PyTorch's.
    ///   - groups: Must be 1, the default; other values throw.
    ///   - bias: Whether to add a bias. Default true, as in PyTorch.
    /// - Throws: ``CurvlinopsError/Kind/invalidArgument`` for a size outside its
    ///   range, or sizes whose derived quantities exceed `Int.max`: the weight's
    ///   entry count, a kernel extent dilation·(kernelSize − 1) + 1, or 2·padding;
    ///   ``CurvlinopsError/Kind/unsupported`` for `groups ≠ 1`.
    public init(
        inChannels: Int, outChannels: Int, kernelSize: (Int, Int),
        stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1),
        groups: Int = 1, bias: Bool = true
    ) throws {
        guard groups == 1 else {
            throw CurvlinopsError(.unsupported, "Conv2d: got groups = \(groups); only groups = 1 is supported.")
        }
        guard inChannels >= 1, outChannels >= 1 else {
            throw CurvlinopsError.invalidArgument(
                "Conv2d: got inChannels = \(inChannels), outChannels = \(outChannels); expected both at least 1.")
        }
        let checks: [(String, (Int, Int), Int)] = [
            ("kernelSize", kernelSize, 1), ("stride", stride, 1), ("padding", padding, 0), ("dilation", dilation, 1),
        ]
        for (name, value, minimum) in checks where value.0 < minimum || value.1 < minimum {
            throw CurvlinopsError.invalidArgument(
                "Conv2d: got \(name) = (\(value.0), \(value.1)); expected both entries at least \(minimum).")
        }
        try Self.checkDerivedSizes(
            inChannels: inChannels, outChannels: outChannels, kernelSize: kernelSize, padding: padding, dilation: dilation)
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = (height: kernelSize.0, width: kernelSize.1)
        self.stride = (height: stride.0, width: stride.1)
        self.padding = (height: padding.0, width: padding.1)
        self.dilation = (height: dilation.0, width: dilation.1)
        self.hasBias = bias
    }

    /// Creates a convolution layer with the same hyperparameter along both axes.
    ///
    /// - Parameters: As for the initialiser with (height, width) pairs; each
    ///   size here is used for both axes.
    /// - Throws: As the initialiser with (height, width) pairs.
    public init(
        inChannels: Int, outChannels: Int, kernelSize: Int,
        stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1, bias: Bool = true
    ) throws {
        try self.init(
            inChannels: inChannels, outChannels: outChannels, kernelSize: (kernelSize, kernelSize),
            stride: (stride, stride), padding: (padding, padding), dilation: (dilation, dilation),
            groups: groups, bias: bias)
    }

    /// The length of one unfolded patch: inChannels·kh·kw.
    public var patchSize: Int { inChannels * kernelSize.height * kernelSize.width }

    /// `weight` of shape `[outChannels, inChannels, kh, kw]`, then `bias` of shape `[outChannels]` when ``hasBias``.
    public var parameterShapes: [(name: String, shape: [Int])] {
        var shapes = [(name: "weight", shape: [outChannels, inChannels, kernelSize.height, kernelSize.width])]
        if hasBias {
            shapes.append((name: "bias", shape: [outChannels]))
        }
        return shapes
    }

    /// `[batch, outChannels, H_out, W_out]` for an input `[batch, inChannels, H, W]`.
    ///
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when the input does not
    ///   have 4 axes, has another channel count, has a height or width of 0, or
    ///   is too small for one output location. PyTorch rejects empty images
    ///   too. It is also thrown when the padded input, the output or its
    ///   unfolded patches would have more entries than `Int` can count.
    public func outputShape(forInput inputShape: [Int]) throws -> [Int] {
        guard inputShape.count == 4, inputShape[1] == inChannels else {
            throw CurvlinopsError.shapeMismatch(
                "\(self) got an input of shape \(inputShape); expected [batch, \(inChannels), height, width].")
        }
        guard inputShape[2] >= 1, inputShape[3] >= 1 else {
            throw CurvlinopsError.shapeMismatch(
                "\(self) got an input of shape \(inputShape); expected height and width at least 1.")
        }
        let outputHeight = try outputSize(inputShape[2], kernel: kernelSize.height, stride: stride.height,
                                          padding: padding.height, dilation: dilation.height, inputShape: inputShape)
        let outputWidth = try outputSize(inputShape[3], kernel: kernelSize.width, stride: stride.width,
                                         padding: padding.width, dilation: dilation.width, inputShape: inputShape)
        guard outputHeight >= 1, outputWidth >= 1 else {
            throw CurvlinopsError.shapeMismatch(
                "\(self) got an input of shape \(inputShape), which gives an empty output of \(outputHeight) × \(outputWidth) locations; expected an input of at least \(dilation.height * (kernelSize.height - 1) + 1 - 2 * padding.height) × \(dilation.width * (kernelSize.width - 1) + 1 - 2 * padding.width).")
        }
        let outputShape = [inputShape[0], outChannels, outputHeight, outputWidth]
        // The forward pass also stores the patches [batch, H_out·W_out, patchSize].
        let locations = checkedProduct(outputHeight, outputWidth)
        guard checkedElementCount(outputShape) != nil,
              let locations, checkedElementCount([inputShape[0], locations, patchSize]) != nil
        else {
            throw CurvlinopsError.shapeMismatch(
                "\(self) got an input of shape \(inputShape), whose output \(outputShape) or unfolded patches [\(inputShape[0]), \(outputHeight)·\(outputWidth), \(patchSize)] have more entries than Int can count; expected a smaller input.")
        }
        return outputShape
    }

    /// The layer as its initialiser call with every hyperparameter as a (height, width) pair.
    public var description: String {
        "Conv2d(inChannels: \(inChannels), outChannels: \(outChannels), kernelSize: (\(kernelSize.height), \(kernelSize.width)), stride: (\(stride.height), \(stride.width)), padding: (\(padding.height), \(padding.width)), dilation: (\(dilation.height), \(dilation.width)), bias: \(hasBias))"
    }

    /// ⌊(size + 2·padding − extent) / stride⌋ + 1 with extent = dilation·(kernel − 1) + 1, or 0 when the
    /// padded size is below the extent; the initialiser checked that the extent and 2·padding fit in `Int`.
    private func outputSize(
        _ size: Int, kernel: Int, stride: Int, padding: Int, dilation: Int, inputShape: [Int]
    ) throws -> Int {
        guard let padded = checkedSum(size, 2 * padding) else {
            throw CurvlinopsError.shapeMismatch(
                "\(self) got an input of shape \(inputShape), whose padded size \(size) + 2·\(padding) is more than Int can count; expected a smaller input or padding.")
        }
        let span = padded - (dilation * (kernel - 1) + 1)
        // Floor division, so a negative span gives a size below 1.
        return span < 0 ? 0 : span / stride + 1
    }

    /// Checks that the weight's entry count, each kernel extent dilation·(kernel − 1) + 1
    /// and each 2·padding fit in `Int`, so that the shape arithmetic cannot overflow.
    private static func checkDerivedSizes(
        inChannels: Int, outChannels: Int, kernelSize: (Int, Int), padding: (Int, Int), dilation: (Int, Int)
    ) throws {
        let weightShape = [outChannels, inChannels, kernelSize.0, kernelSize.1]
        guard checkedElementCount(weightShape) != nil else {
            throw CurvlinopsError.invalidArgument(
                "Conv2d: the weight of shape \(weightShape) has more entries than Int can count; expected fewer channels or a smaller kernel.")
        }
        for (kernel, step) in [(kernelSize.0, dilation.0), (kernelSize.1, dilation.1)] {
            guard let spread = checkedProduct(step, kernel - 1), checkedSum(spread, 1) != nil else {
                throw CurvlinopsError.invalidArgument(
                    "Conv2d: got kernelSize = (\(kernelSize.0), \(kernelSize.1)) and dilation = (\(dilation.0), \(dilation.1)), whose kernel extent dilation·(kernelSize − 1) + 1 is more than Int can count; expected a smaller dilation or kernel.")
            }
        }
        for value in [padding.0, padding.1] where checkedProduct(2, value) == nil {
            throw CurvlinopsError.invalidArgument(
                "Conv2d: got padding = (\(padding.0), \(padding.1)), for which 2·padding is more than Int can count; expected each entry at most \(Int.max / 2).")
        }
    }
}
