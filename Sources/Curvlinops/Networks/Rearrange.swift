/// Moves the last axis to position 1, as einops'
/// `Rearrange("batch ... c -> batch c ...")`.
///
/// An input `[batch, d1, …, dm, c]` becomes `[batch, c, d1, …, dm]`. On a
/// sequence output `[batch, T, C]` it is the transpose `y[n, c, t] = x[n, t, c]`,
/// which puts the class axis where ``CrossEntropyLoss`` expects it. A 2-D input
/// is returned unchanged. An input with an axis of size 0 gives an empty
/// output of the moved shape (`[2, 3, 0]` becomes `[2, 0, 3]`).
public struct Rearrange: Layer {
    /// Creates the layer; it has no parameters.
    public init() {}

    /// None: the layer has no parameters.
    public var parameterShapes: [(name: String, shape: [Int])] { [] }

    /// `[batch, c, d1, …, dm]` for an input `[batch, d1, …, dm, c]`.
    ///
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` for an input with fewer than 2 axes.
    public func outputShape(forInput inputShape: [Int]) throws -> [Int] {
        guard inputShape.count >= 2 else {
            throw CurvlinopsError.shapeMismatch(
                "\(self) got an input of shape \(inputShape); expected at least 2 axes [batch, …, c].")
        }
        return [inputShape[0], inputShape[inputShape.count - 1]] + Array(inputShape[1..<(inputShape.count - 1)])
    }

    /// The layer in einops' notation.
    public var description: String { "Rearrange(\"batch ... c -> batch c ...\")" }
}

extension Rearrange: DifferentiableLayer {
    func initialParameters<Scalar: LapackScalar, Generator: RandomNumberGenerator>(
        using generator: inout Generator
    ) -> [Tensor<Scalar>] { [] }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func forward<Scalar: LapackScalar>(_ input: Tensor<Scalar>, parameters: [Tensor<Scalar>]) throws -> LayerRecord<Scalar> {
        let outputShape = try outputShape(forInput: input.shape)
        return LayerRecord(input: input, output: moveLastAxis(input, inputShape: input.shape, count: 1, newShape: outputShape),
                           unfoldedInput: nil)
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func jacobianVectorProduct<Scalar: LapackScalar>(
        _ record: LayerRecord<Scalar>, parameters: [Tensor<Scalar>],
        inputTangent: Tensor<Scalar>?, parameterTangents: [Tensor<Scalar>?], count k: Int
    ) throws -> Tensor<Scalar>? {
        guard let inputTangent else { return nil }
        return moveLastAxis(inputTangent, inputShape: record.input.shape, count: k,
                            newShape: stackedShape(record.output.shape, count: k))
    }

    /// The inverse move: axis 1 back to the end.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func vectorJacobianProduct<Scalar: LapackScalar>(
        _ record: LayerRecord<Scalar>, parameters: [Tensor<Scalar>],
        outputCotangent: Tensor<Scalar>, count k: Int,
        needsInput: Bool, needsParameters: [Bool]
    ) throws -> LayerCotangents<Scalar> {
        guard needsInput else { return LayerCotangents(input: nil, parameters: []) }
        let shape = record.input.shape
        guard record.input.count > 0 else {
            return LayerCotangents(input: Tensor(zeros: stackedShape(shape, count: k)), parameters: [])
        }
        let classes = shape[shape.count - 1]
        let positions = record.input.count / (shape[0] * classes)
        let moved = outputCotangent.swappingAxes(
            outer: k * shape[0], first: classes, second: positions, inner: 1,
            newShape: stackedShape(shape, count: k))
        return LayerCotangents(input: moved, parameters: [])
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

    /// Moves the last axis of k stacked tensors of shape `inputShape` to position 1.
    private func moveLastAxis<Scalar: LapackScalar>(
        _ tensor: Tensor<Scalar>, inputShape: [Int], count k: Int, newShape: [Int]
    ) -> Tensor<Scalar> {
        // An empty tensor has nothing to move, and its axis sizes cannot be divided out.
        guard tensor.count > 0 else { return Tensor(zeros: newShape) }
        let classes = inputShape[inputShape.count - 1]
        let positions = inputShape.dropFirst().reduce(1, *) / classes
        return tensor.swappingAxes(outer: k * inputShape[0], first: positions, second: classes, inner: 1, newShape: newShape)
    }
}
