/// Merges a range of axes into one, as PyTorch's `nn.Flatten`.
///
/// With the defaults (`startDimension = 1`, `endDimension = −1`) an input
/// `[batch, d1, d2, …]` becomes `[batch, d1·d2·…]`; the entries keep their
/// row-major order, so for a convolution output `[batch, C, H, W]` the flat
/// index is `c·H·W + h·W + w`. Flattening moves no data.
public struct Flatten: Layer {
    /// The first axis merged; at least 1, because axis 0 is the batch axis.
    public let startDimension: Int

    /// The last axis merged; negative values count from the end (−1 is the last axis).
    public let endDimension: Int

    /// Creates a flattening layer.
    ///
    /// - Parameters:
    ///   - startDimension: The first axis merged. Default 1, PyTorch's.
    ///   - endDimension: The last axis merged, negative from the end. Default −1, PyTorch's.
    /// - Throws: ``CurvlinopsError/Kind/unsupported`` when `startDimension` is
    ///   below 1: the batch axis cannot be merged, because the library stacks
    ///   several tangent vectors along it.
    public init(startDimension: Int = 1, endDimension: Int = -1) throws {
        guard startDimension >= 1 else {
            throw CurvlinopsError(.unsupported,
                                  "Flatten: got startDimension = \(startDimension); expected at least 1 (axis 0 is the batch axis).")
        }
        self.startDimension = startDimension
        self.endDimension = endDimension
    }

    /// None: the layer has no parameters.
    public var parameterShapes: [(name: String, shape: [Int])] { [] }

    /// The input shape with the axes `startDimension…endDimension` merged.
    ///
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when the range does not
    ///   fit the input's axes.
    public func outputShape(forInput inputShape: [Int]) throws -> [Int] {
        let end = endDimension < 0 ? inputShape.count + endDimension : endDimension
        guard startDimension < inputShape.count, end < inputShape.count, startDimension <= end else {
            throw CurvlinopsError.shapeMismatch(
                "\(self) got an input of shape \(inputShape); the axes \(startDimension) through \(endDimension) do not exist in it.")
        }
        let merged = inputShape[startDimension...end].reduce(1, *)
        return Array(inputShape[..<startDimension]) + [merged] + Array(inputShape[(end + 1)...])
    }

    /// The layer as its initialiser call.
    public var description: String { "Flatten(startDimension: \(startDimension), endDimension: \(endDimension))" }
}

extension Flatten: DifferentiableLayer {
    func initialParameters<Scalar: LapackScalar, Generator: RandomNumberGenerator>(
        using generator: inout Generator
    ) -> [Tensor<Scalar>] { [] }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func forward<Scalar: LapackScalar>(_ input: Tensor<Scalar>, parameters: [Tensor<Scalar>]) throws -> LayerRecord<Scalar> {
        LayerRecord(input: input, output: input.reshapedUnchecked(try outputShape(forInput: input.shape)), unfoldedInput: nil)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func jacobianVectorProduct<Scalar: LapackScalar>(
        _ record: LayerRecord<Scalar>, parameters: [Tensor<Scalar>],
        inputTangent: Tensor<Scalar>?, parameterTangents: [Tensor<Scalar>?], count k: Int
    ) throws -> Tensor<Scalar>? {
        inputTangent?.reshapedUnchecked(stackedShape(record.output.shape, count: k))
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func vectorJacobianProduct<Scalar: LapackScalar>(
        _ record: LayerRecord<Scalar>, parameters: [Tensor<Scalar>],
        outputCotangent: Tensor<Scalar>, count k: Int,
        needsInput: Bool, needsParameters: [Bool]
    ) throws -> LayerCotangents<Scalar> {
        LayerCotangents(
            input: needsInput ? outputCotangent.reshapedUnchecked(stackedShape(record.input.shape, count: k)) : nil,
            parameters: [])
    }

    /// None: a linear map without parameters has no second-order terms.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func secondOrderTerms<Scalar: LapackScalar>(
        _ record: LayerRecord<Scalar>, parameters: [Tensor<Scalar>],
        outputGradient: Tensor<Scalar>, inputTangent: Tensor<Scalar>?,
        parameterTangents: [Tensor<Scalar>?], count k: Int,
        needsInput: Bool, needsParameters: [Bool]
    ) throws -> LayerCotangents<Scalar> {
        LayerCotangents(input: nil, parameters: [])
    }
}
