import Foundation

/// The rectified linear unit, `y = max(x, 0)` element-wise, as PyTorch's `nn.ReLU`.
///
/// Any input shape; the output has the input's shape. The derivative at
/// `x = 0` is taken as 0, as PyTorch does; the second derivative is 0.
public struct ReLU: Layer {
    /// Creates the layer; it has no parameters.
    public init() {}

    public var parameterShapes: [(name: String, shape: [Int])] { [] }

    /// The input shape, unchanged.
    ///
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` for an input without a batch axis.
    public func outputShape(forInput inputShape: [Int]) throws -> [Int] {
        try elementwiseOutputShape(inputShape, layer: self)
    }

    public var description: String { "ReLU()" }
}

/// The logistic sigmoid, `y = 1 / (1 + e^(−x))` element-wise, as PyTorch's `nn.Sigmoid`.
///
/// Any input shape; the output has the input's shape.
public struct Sigmoid: Layer {
    /// Creates the layer; it has no parameters.
    public init() {}

    public var parameterShapes: [(name: String, shape: [Int])] { [] }

    /// The input shape, unchanged.
    ///
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` for an input without a batch axis.
    public func outputShape(forInput inputShape: [Int]) throws -> [Int] {
        try elementwiseOutputShape(inputShape, layer: self)
    }

    public var description: String { "Sigmoid()" }
}

/// The hyperbolic tangent, `y = tanh(x)` element-wise, as PyTorch's `nn.Tanh`.
///
/// Any input shape; the output has the input's shape.
public struct Tanh: Layer {
    /// Creates the layer; it has no parameters.
    public init() {}

    public var parameterShapes: [(name: String, shape: [Int])] { [] }

    /// The input shape, unchanged.
    ///
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` for an input without a batch axis.
    public func outputShape(forInput inputShape: [Int]) throws -> [Int] {
        try elementwiseOutputShape(inputShape, layer: self)
    }

    public var description: String { "Tanh()" }
}

/// An element-wise activation y = σ(x), differentiated through σ' and σ''.
protocol ElementwiseActivation: DifferentiableLayer {
    /// σ(x).
    func value<Scalar: LapackScalar>(_ x: Scalar) -> Scalar

    /// σ'(x), given x and y = σ(x).
    func firstDerivative<Scalar: LapackScalar>(input x: Scalar, output y: Scalar) -> Scalar

    /// σ''(x), given x and y = σ(x).
    func secondDerivative<Scalar: LapackScalar>(input x: Scalar, output y: Scalar) -> Scalar

    /// Whether σ'' is not identically zero.
    var hasSecondDerivative: Bool { get }
}

extension ReLU: ElementwiseActivation {
    func value<Scalar: LapackScalar>(_ x: Scalar) -> Scalar { x > 0 ? x : 0 }
    func firstDerivative<Scalar: LapackScalar>(input x: Scalar, output y: Scalar) -> Scalar { x > 0 ? 1 : 0 }
    func secondDerivative<Scalar: LapackScalar>(input x: Scalar, output y: Scalar) -> Scalar { 0 }
    var hasSecondDerivative: Bool { false }
}

extension Sigmoid: ElementwiseActivation {
    func value<Scalar: LapackScalar>(_ x: Scalar) -> Scalar { logisticSigmoid(x) }
    func firstDerivative<Scalar: LapackScalar>(input x: Scalar, output y: Scalar) -> Scalar { y * (1 - y) }
    func secondDerivative<Scalar: LapackScalar>(input x: Scalar, output y: Scalar) -> Scalar { y * (1 - y) * (1 - 2 * y) }
    var hasSecondDerivative: Bool { true }
}

extension Tanh: ElementwiseActivation {
    func value<Scalar: LapackScalar>(_ x: Scalar) -> Scalar { Scalar(Foundation.tanh(Double(x))) }
    func firstDerivative<Scalar: LapackScalar>(input x: Scalar, output y: Scalar) -> Scalar { 1 - y * y }
    func secondDerivative<Scalar: LapackScalar>(input x: Scalar, output y: Scalar) -> Scalar { -2 * y * (1 - y * y) }
    var hasSecondDerivative: Bool { true }
}

/// The output shape of an element-wise layer: the input's, which needs a batch axis.
func elementwiseOutputShape(_ inputShape: [Int], layer: any Layer) throws -> [Int] {
    guard !inputShape.isEmpty else {
        throw CurvlinopsError.shapeMismatch("\(layer) got a scalar input; expected a batch axis.")
    }
    return inputShape
}

extension ElementwiseActivation {
    func initialParameters<Scalar: LapackScalar, Generator: RandomNumberGenerator>(
        using generator: inout Generator
    ) -> [Tensor<Scalar>] { [] }

    func forward<Scalar: LapackScalar>(_ input: Tensor<Scalar>, parameters: [Tensor<Scalar>]) throws -> LayerRecord<Scalar> {
        let output = input.withUnsafeBufferPointer { x in
            Tensor<Scalar>(shape: input.shape) { y in
                for i in 0..<x.count { y[i] = value(x[i]) }
            }
        }
        return LayerRecord(input: input, output: output, unfoldedInput: nil)
    }

    func jacobianVectorProduct<Scalar: LapackScalar>(
        _ record: LayerRecord<Scalar>, parameters: [Tensor<Scalar>],
        inputTangent: Tensor<Scalar>?, parameterTangents: [Tensor<Scalar>?], count k: Int
    ) throws -> Tensor<Scalar>? {
        guard let inputTangent else { return nil }
        return multiplyByFirstDerivative(inputTangent, record: record, count: k)
    }

    func vectorJacobianProduct<Scalar: LapackScalar>(
        _ record: LayerRecord<Scalar>, parameters: [Tensor<Scalar>],
        outputCotangent: Tensor<Scalar>, count k: Int,
        needsInput: Bool, needsParameters: [Bool]
    ) throws -> LayerCotangents<Scalar> {
        LayerCotangents(input: needsInput ? multiplyByFirstDerivative(outputCotangent, record: record, count: k) : nil,
                        parameters: [])
    }

    /// The input part g ⊙ σ''(x) ⊙ ẋⱼ; an activation has no parameters.
    func secondOrderTerms<Scalar: LapackScalar>(
        _ record: LayerRecord<Scalar>, parameters: [Tensor<Scalar>],
        outputGradient: Tensor<Scalar>, inputTangent: Tensor<Scalar>?,
        parameterTangents: [Tensor<Scalar>?], count k: Int,
        needsInput: Bool, needsParameters: [Bool]
    ) throws -> LayerCotangents<Scalar> {
        guard needsInput, hasSecondDerivative, let inputTangent else {
            return LayerCotangents(input: nil, parameters: [])
        }
        let size = record.input.count
        let weights = record.input.withUnsafeBufferPointer { x in
            record.output.withUnsafeBufferPointer { y in
                outputGradient.withUnsafeBufferPointer { g in
                    (0..<size).map { i in g[i] * secondDerivative(input: x[i], output: y[i]) }
                }
            }
        }
        return LayerCotangents(input: multiplyEveryCopy(inputTangent, by: weights, count: k), parameters: [])
    }

    /// Multiplies each of the k stacked copies in `vectors` by σ'(x) element-wise.
    private func multiplyByFirstDerivative<Scalar: LapackScalar>(
        _ vectors: Tensor<Scalar>, record: LayerRecord<Scalar>, count k: Int
    ) -> Tensor<Scalar> {
        let size = record.input.count
        let derivatives = record.input.withUnsafeBufferPointer { x in
            record.output.withUnsafeBufferPointer { y in
                (0..<size).map { i in firstDerivative(input: x[i], output: y[i]) }
            }
        }
        return multiplyEveryCopy(vectors, by: derivatives, count: k)
    }
}

/// Multiplies each of the k stacked copies in `vectors` element-wise by `weights`.
private func multiplyEveryCopy<Scalar: LapackScalar>(
    _ vectors: Tensor<Scalar>, by weights: [Scalar], count k: Int
) -> Tensor<Scalar> {
    let size = weights.count
    precondition(vectors.count == k * size, "multiplyEveryCopy: \(vectors.shape) is not \(k) copies of \(size) entries")
    return vectors.withUnsafeBufferPointer { source in
        weights.withUnsafeBufferPointer { w in
            Tensor(shape: vectors.shape) { target in
                for j in 0..<k {
                    let offset = j * size
                    for i in 0..<size { target[offset + i] = source[offset + i] * w[i] }
                }
            }
        }
    }
}

/// The logistic sigmoid 1 / (1 + e^(−x)), computed without overflow for large |x|.
func logisticSigmoid<Scalar: LapackScalar>(_ x: Scalar) -> Scalar {
    let value = Double(x)
    if value >= 0 {
        return Scalar(1 / (1 + Foundation.exp(-value)))
    }
    let e = Foundation.exp(value)
    return Scalar(e / (1 + e))
}
