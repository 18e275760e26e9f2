/// One mini-batch of data: inputs and targets, batch axis first.
///
/// A data set is a list of batches, of possibly unequal sizes. Curvature
/// operators treat the list as one data set of N = Σ batch sizes samples.
/// With ``LossReduction/mean`` they divide by N (and by T, and by C where the
/// loss documents it) once, rather than averaging per-batch averages.
public struct Batch<Scalar: LapackScalar>: Sendable {
    /// The inputs, in the shape the network's first layer takes, e.g.
    /// `[batch, features]`, `[batch, T, features]` or `[batch, C, H, W]`.
    public var input: Tensor<Scalar>

    /// The targets, in the layout the loss documents: class indices stored as
    /// whole numbers for ``CrossEntropyLoss`` (shape `[batch]` or `[batch, T]`),
    /// values of the output's shape for ``MSELoss`` and ``BCEWithLogitsLoss``.
    public var target: Tensor<Scalar>

    /// Creates a batch; its shapes are checked where it is used.
    public init(input: Tensor<Scalar>, target: Tensor<Scalar>) {
        self.input = input
        self.target = target
    }

    /// Creates a batch with one class label per sample, for ``CrossEntropyLoss``.
    ///
    /// - Parameters:
    ///   - input: The inputs, batch axis first.
    ///   - classLabels: One class index per sample; the target has shape `[classLabels.count]`.
    public init(input: Tensor<Scalar>, classLabels: [Int]) {
        self.input = input
        self.target = Tensor(uncheckedShape: [classLabels.count], elements: classLabels.map { Scalar($0) })
    }

    /// The number of samples, the size of the input's axis 0 (0 for a scalar input).
    public var size: Int { input.shape.first ?? 0 }
}
