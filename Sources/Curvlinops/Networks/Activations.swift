import Foundation

/// The rectified linear unit, `y = max(x, 0)` element-wise, as PyTorch's `nn.ReLU`.
///
/// Any input shape; the output has the input's shape. The derivative at
/// `x = 0` is taken as 0, as PyTorch does; the second derivative is 0.
public struct ReLU: Layer {
    /// Creates the layer; it has no parameters.
    public init() {}

    /// None: the layer has no parameters.
    public var parameterShapes: [(name: String, shape: [Int])] { [] }

    /// Returns the input shape unchanged.
    ///
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` for an input without a batch axis.
    public func outputShape(forInput inputShape: [Int]) throws -> [Int] {
        try elementwiseOutputShape(inputShape, layer: self)
    }

    /// The layer as its initialiser call.
    public var description: String { "ReLU()" }
}

/// The logistic sigmoid, `y = 1 / (1 + e^(−x))` element-wise, as PyTorch's `nn.Sigmoid`.
///
/// Any input shape; the output has the input's shape.
public struct Sigmoid: Layer {
    /// Creates the layer; it has no parameters.
    public init() {}

    /// None: the layer has no parameters.
    public var parameterShapes: [(name: String, shape: [Int])] { [] }

    /// Returns the input shape unchanged.
    ///
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` for an input without a batch axis.
    public func outputShape(forInput inputShape: [Int]) throws -> [Int] {
        try elementwiseOutputShape(inputShape, layer: self)
    }

    /// The layer as its initialiser call.
    public var description: String { "Sigmoid()" }
}

/// The hyperbolic tangent, `y = tanh(x)` element-wise, as PyTorch's `nn.Tanh`.
///
/// Any input shape; the output has the input's shape.
public struct Tanh: Layer {
    /// Creates the layer; it has no parameters.
    public init() {}

    /// None: the layer has no parameters.
    public var parameterShapes: [(name: String, shape: [Int])] { [] }

    /// Returns the input shape unchanged.
    ///
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` for an input without a batch axis.
    public func outputShape(forInput inputShape: [Int]) throws -> [Int] {
        try elementwiseOutputShape(inputShape, layer: self)
    }

    /// The layer as its initialiser call.
    public var description: String { "Tanh()" }
}

/// The element-wise function of an activation layer, with its derivatives.
enum ActivationFunction: Sendable {
    case relu
    case sigmoid
    case tanh

    /// Whether σ'' is not identically zero.
    var hasSecondDerivative: Bool { self != .relu }
}

/// An element-wise activation y = σ(x), differentiated through σ' and σ''.
///
/// The work is done by free functions specialised for `Float` and `Double`,
/// which switch on ``ActivationFunction`` once per call rather than per entry.
protocol ElementwiseActivation: DifferentiableLayer {
    var function: ActivationFunction { get }
}

extension ReLU: ElementwiseActivation {
    var function: ActivationFunction { .relu }
}

extension Sigmoid: ElementwiseActivation {
    var function: ActivationFunction { .sigmoid }
}

extension Tanh: ElementwiseActivation {
    var function: ActivationFunction { .tanh }
}

/// Returns the output shape of an element-wise layer, the input's, which needs a batch axis.
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
        LayerRecord(input: input, output: activate(function, input), unfoldedInput: nil)
    }

    func jacobianVectorProduct<Scalar: LapackScalar>(
        _ record: LayerRecord<Scalar>, parameters: [Tensor<Scalar>],
        inputTangent: Tensor<Scalar>?, parameterTangents: [Tensor<Scalar>?], count k: Int
    ) throws -> Tensor<Scalar>? {
        guard let inputTangent else { return nil }
        return multiplyByDerivative(function, record: record, vectors: inputTangent, count: k)
    }

    func vectorJacobianProduct<Scalar: LapackScalar>(
        _ record: LayerRecord<Scalar>, parameters: [Tensor<Scalar>],
        outputCotangent: Tensor<Scalar>, count k: Int,
        needsInput: Bool, needsParameters: [Bool]
    ) throws -> LayerCotangents<Scalar> {
        LayerCotangents(
            input: needsInput ? multiplyByDerivative(function, record: record, vectors: outputCotangent, count: k) : nil,
            parameters: [])
    }

    /// Computes the input part g ⊙ σ''(x) ⊙ ẋⱼ. An activation has no parameters.
    func secondOrderTerms<Scalar: LapackScalar>(
        _ record: LayerRecord<Scalar>, parameters: [Tensor<Scalar>],
        outputGradient: Tensor<Scalar>, inputTangent: Tensor<Scalar>?,
        parameterTangents: [Tensor<Scalar>?], count k: Int,
        needsInput: Bool, needsParameters: [Bool]
    ) throws -> LayerCotangents<Scalar> {
        guard needsInput, function.hasSecondDerivative, let inputTangent else {
            return LayerCotangents(input: nil, parameters: [])
        }
        return LayerCotangents(
            input: multiplyBySecondDerivative(function, record: record, gradient: outputGradient,
                                              vectors: inputTangent, count: k),
            parameters: [])
    }
}

/// Applies σ to every entry.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func activate<Scalar: LapackScalar>(_ function: ActivationFunction, _ input: Tensor<Scalar>) -> Tensor<Scalar> {
    input.withUnsafeBufferPointer { x in
        Tensor<Scalar>(uninitializedShape: input.shape, writingEvery: { y in
            switch function {
            case .relu:
                for i in 0..<x.count { y[i] = x[i] > 0 ? x[i] : 0 }
            case .sigmoid:
                for i in 0..<x.count { y[i] = logisticSigmoid(x[i]) }
            case .tanh:
                for i in 0..<x.count { y[i] = Scalar(Foundation.tanh(Double(x[i]))) }
            }
        })
    }
}

/// Multiplies each of the k stacked copies in `vectors` by σ'(x), entry by entry.
///
/// σ' comes from the output y: ReLU 1[x > 0] (0 at x = 0, as in PyTorch),
/// sigmoid y(1 − y), tanh 1 − y².
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func multiplyByDerivative<Scalar: LapackScalar>(
    _ function: ActivationFunction, record: LayerRecord<Scalar>, vectors: Tensor<Scalar>, count k: Int
) -> Tensor<Scalar> {
    let size = record.input.count
    var derivatives = [Scalar](repeating: 0, count: size)
    record.input.withUnsafeBufferPointer { x in
        record.output.withUnsafeBufferPointer { y in
            derivatives.withUnsafeMutableBufferPointer { d in
                switch function {
                case .relu:
                    for i in 0..<size { d[i] = x[i] > 0 ? 1 : 0 }
                case .sigmoid:
                    for i in 0..<size { d[i] = y[i] * (1 - y[i]) }
                case .tanh:
                    for i in 0..<size { d[i] = 1 - y[i] * y[i] }
                }
            }
        }
    }
    return multiplyEveryCopy(vectors, by: derivatives, count: k)
}

/// Multiplies each of the k stacked copies in `vectors` by g ⊙ σ''(x), entry by entry.
///
/// σ'' from the output y: sigmoid y(1 − y)(1 − 2y), tanh −2y(1 − y²); ReLU has none.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func multiplyBySecondDerivative<Scalar: LapackScalar>(
    _ function: ActivationFunction, record: LayerRecord<Scalar>, gradient: Tensor<Scalar>,
    vectors: Tensor<Scalar>, count k: Int
) -> Tensor<Scalar> {
    let size = record.input.count
    var weights = [Scalar](repeating: 0, count: size)
    record.output.withUnsafeBufferPointer { y in
        gradient.withUnsafeBufferPointer { g in
            weights.withUnsafeMutableBufferPointer { w in
                switch function {
                case .relu:
                    break
                case .sigmoid:
                    for i in 0..<size { w[i] = g[i] * y[i] * (1 - y[i]) * (1 - 2 * y[i]) }
                case .tanh:
                    for i in 0..<size { w[i] = -2 * g[i] * y[i] * (1 - y[i] * y[i]) }
                }
            }
        }
    }
    return multiplyEveryCopy(vectors, by: weights, count: k)
}

/// Multiplies each of the k stacked copies in `vectors` element-wise by `weights`.
private func multiplyEveryCopy<Scalar: LapackScalar>(
    _ vectors: Tensor<Scalar>, by weights: [Scalar], count k: Int
) -> Tensor<Scalar> {
    let size = weights.count
    precondition(vectors.count == k * size, "multiplyEveryCopy: \(vectors.shape) is not \(k) copies of \(size) entries")
    return vectors.withUnsafeBufferPointer { source in
        weights.withUnsafeBufferPointer { w in
            Tensor(uninitializedShape: vectors.shape, writingEvery: { target in
                for j in 0..<k {
                    let offset = j * size
                    for i in 0..<size { target[offset + i] = source[offset + i] * w[i] }
                }
            })
        }
    }
}

/// Computes the logistic sigmoid 1 / (1 + e^(−x)) without overflow for large |x|.
func logisticSigmoid<Scalar: LapackScalar>(_ x: Scalar) -> Scalar {
    let value = Double(x)
    if value >= 0 {
        return Scalar(1 / (1 + Foundation.exp(-value)))
    }
    let e = Foundation.exp(value)
    return Scalar(e / (1 + e))
}
