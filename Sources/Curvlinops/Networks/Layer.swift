/// A layer of a ``Sequential`` network: its architecture, without parameter values.
///
/// A layer describes what it computes and which parameters it owns. The
/// values of those parameters live in the ``Sequential`` that contains it, so
/// one layer description serves `Float` and `Double` networks alike. Axis 0 of
/// every layer's input is the batch axis.
///
/// The library's layers are ``Linear``, ``Conv2d``, ``ReLU``, ``Sigmoid``,
/// ``Tanh``, ``Flatten`` and ``Rearrange``. The protocol is public so that
/// code can hold and inspect them, but the differentiation the curvature
/// operators need is internal: a ``Sequential`` built from a type of your own
/// that conforms to `Layer` throws ``CurvlinopsError/Kind/unsupported``.
public protocol Layer: Sendable, CustomStringConvertible {
    /// The parameters the layer owns, in PyTorch's order (weight before bias):
    /// each name local to the layer (`"weight"`, `"bias"`) and its shape.
    var parameterShapes: [(name: String, shape: [Int])] { get }

    /// Computes the shape of the output for an input of the given shape.
    ///
    /// - Parameter inputShape: The input's shape, batch axis first.
    /// - Returns: The output's shape, batch axis first.
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when the layer cannot
    ///   take an input of this shape; the message names the expected shape.
    func outputShape(forInput inputShape: [Int]) throws -> [Int]
}

/// What a layer's forward pass keeps for differentiation.
struct LayerRecord<Scalar: LapackScalar>: Sendable {
    /// The layer's input.
    var input: Tensor<Scalar>

    /// The layer's output.
    var output: Tensor<Scalar>

    /// For ``Conv2d``, the input unfolded into patches, shape
    /// [batch, S, C_in·kh·kw] with S = H_out·W_out; `nil` for other layers.
    var unfoldedInput: Tensor<Scalar>?
}

/// Cotangents a layer's vector-Jacobian product returns; `nil` where not
/// requested or identically zero.
struct LayerCotangents<Scalar: LapackScalar> {
    /// The cotangents of the layer's input, shape [k·batch, input axes…].
    var input: Tensor<Scalar>?

    /// One entry per parameter of the layer: shape [k, parameter shape…].
    var parameters: [Tensor<Scalar>?]
}

/// The differentiation every library layer implements.
///
/// k vectors are processed at once. A tangent or cotangent of an activation
/// with shape [batch, d…] is stacked as shape [k·batch, d…], vector j in rows
/// j·batch ..< (j+1)·batch, so that layers treat k·batch as their batch. A
/// tangent or cotangent of a parameter of shape [p…] is stacked as [k, p…].
/// `nil` stands for an identically zero tangent and is propagated without work.
protocol DifferentiableLayer: Layer {
    /// Draws initial parameter values as PyTorch's default initialisation does.
    func initialParameters<Scalar: LapackScalar, Generator: RandomNumberGenerator>(
        using generator: inout Generator) -> [Tensor<Scalar>]

    /// Computes the output for a validated input.
    ///
    /// - Parameters:
    ///   - input: An input whose shape ``outputShape(forInput:)`` accepted.
    ///   - parameters: The layer's parameter values, in ``parameterShapes`` order.
    func forward<Scalar: LapackScalar>(_ input: Tensor<Scalar>, parameters: [Tensor<Scalar>]) throws -> LayerRecord<Scalar>

    /// Computes the Jacobian-vector product: the output tangent for k input and parameter tangents.
    ///
    /// - Returns: Shape [k·batch, output axes…], or `nil` when every tangent is `nil`.
    func jacobianVectorProduct<Scalar: LapackScalar>(
        _ record: LayerRecord<Scalar>, parameters: [Tensor<Scalar>],
        inputTangent: Tensor<Scalar>?, parameterTangents: [Tensor<Scalar>?], count: Int) throws -> Tensor<Scalar>?

    /// Computes the vector-Jacobian product: input and parameter cotangents for k output cotangents.
    ///
    /// - Parameters:
    ///   - outputCotangent: Shape [k·batch, output axes…].
    ///   - needsInput: Whether to compute the input cotangent.
    ///   - needsParameters: For each parameter, whether to compute its cotangent.
    func vectorJacobianProduct<Scalar: LapackScalar>(
        _ record: LayerRecord<Scalar>, parameters: [Tensor<Scalar>],
        outputCotangent: Tensor<Scalar>, count: Int,
        needsInput: Bool, needsParameters: [Bool]) throws -> LayerCotangents<Scalar>

    /// Computes the layer's second-order term of the R-operator backward pass.
    ///
    /// With g = `outputGradient` (one vector, shape [batch, output axes…]) and
    /// the layer map y(x, θ), this is the product of the Hessian of gᵀy(x, θ)
    /// with respect to (x, θ) with the k tangents (ẋ, θ̇):
    ///
    /// ```
    /// input part:     ∂²(gᵀy)/∂x∂x · ẋ + ∂²(gᵀy)/∂x∂θ · θ̇
    /// parameter part: ∂²(gᵀy)/∂θ∂x · ẋ + ∂²(gᵀy)/∂θ∂θ · θ̇
    /// ```
    ///
    /// Added to the vector-Jacobian product of the output's tangent cotangent
    /// R{g}, it gives R{∂L/∂x} and R{∂L/∂θ}.
    func secondOrderTerms<Scalar: LapackScalar>(
        _ record: LayerRecord<Scalar>, parameters: [Tensor<Scalar>],
        outputGradient: Tensor<Scalar>, inputTangent: Tensor<Scalar>?,
        parameterTangents: [Tensor<Scalar>?], count: Int,
        needsInput: Bool, needsParameters: [Bool]) throws -> LayerCotangents<Scalar>
}

/// Returns the shape [k·batch, rest…] of k stacked copies of a tensor of shape [batch, rest…].
func stackedShape(_ shape: [Int], count: Int) -> [Int] {
    precondition(!shape.isEmpty, "a stacked tensor needs a batch axis")
    var result = shape
    result[0] *= count
    return result
}
