/// A multi-dimensional array of real numbers in row-major order, laid out as
/// PyTorch lays out a contiguous tensor.
///
/// The last index varies fastest: element `[i0, i1, …, id]` of a tensor of
/// shape `[n0, n1, …, nd]` is at flat index `((i0·n1 + i1)·n2 + …)·nd + id`.
/// A parameter block of a ``LinearOperator`` is a `Tensor` of the parameter's
/// shape; its flat form is ``elements``. A scalar has shape `[]` and one element.
public struct Tensor<Scalar: LapackScalar>: Sendable, Equatable {
    /// The size of each axis.
    public let shape: [Int]

    /// The entries in row-major order; `shape.reduce(1, *)` of them.
    public internal(set) var elements: [Scalar]

    /// Creates a tensor from its shape and row-major entries.
    ///
    /// - Parameters:
    ///   - shape: The size of each axis; every size at least 0.
    ///   - elements: The entries, last index fastest.
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when the count of
    ///   entries does not match the shape or a size is negative.
    public init(shape: [Int], elements: [Scalar]) throws {
        try Self.checkShape(shape, count: elements.count, context: "Tensor(shape:elements:)", argument: "elements")
        self.shape = shape
        self.elements = elements
    }

    /// Creates a tensor of zeros.
    ///
    /// Like `Array(repeating:count:)`, this initializer does not throw: a
    /// negative size, or sizes whose product exceeds `Int.max`, is a
    /// programming error and traps. A shape that does fit but needs more memory
    /// than the machine has also ends the process, as an `Array` of that many
    /// entries would. Check sizes from users or files before calling it, or
    /// use ``init(shape:elements:)``, which throws.
    ///
    /// - Parameter shape: The size of each axis, each at least 0.
    public init(zeros shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor shape \(shape) has a negative size")
        guard let count = checkedElementCount(shape) else {
            preconditionFailure("Tensor shape \(shape) has more entries than Int can count")
        }
        self.shape = shape
        self.elements = Array(repeating: 0, count: count)
    }

    /// The number of entries.
    public var count: Int { elements.count }

    /// The number of axes.
    public var rank: Int { shape.count }

    /// The entry at a multi-index; an index out of range traps, as for `Array`.
    public subscript(_ index: Int...) -> Scalar {
        get { elements[flatIndex(index)] }
        set { elements[flatIndex(index)] = newValue }
    }

    /// The same entries under another shape with the same number of entries.
    ///
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when the counts differ.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        try Self.checkShape(newShape, count: count, context: "Tensor.reshaped(_:)", argument: "the tensor")
        return try Tensor(shape: newShape, elements: elements)
    }

    /// Whether every entry is finite.
    public var isFinite: Bool { elements.allSatisfy { $0.isFinite } }

    /// Checks that `shape` has non-negative sizes whose product is `count`.
    static func checkShape(_ shape: [Int], count: Int, context: String, argument: String) throws {
        if let axis = shape.firstIndex(where: { $0 < 0 }) {
            throw CurvlinopsError.shapeMismatch(
                "\(context): shape \(shape) has size \(shape[axis]) on axis \(axis); expected sizes ≥ 0.")
        }
        guard let expected = checkedSize(of: shape) else {
            throw CurvlinopsError.shapeMismatch("\(context): shape \(shape) has more entries than Int can count.")
        }
        guard count == expected else {
            throw CurvlinopsError.shapeMismatch(
                "\(context): \(argument) has \(count) entries; expected \(expected) for shape \(shape).")
        }
    }

    func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "Tensor index \(index) has \(index.count) axes; the tensor has \(shape.count)")
        var flat = 0
        for (axis, i) in index.enumerated() {
            precondition(i >= 0 && i < shape[axis], "Tensor index \(index) out of range for shape \(shape)")
            flat = flat * shape[axis] + i
        }
        return flat
    }
}

/// Returns the number of entries of a tensor or block shape, or `nil` when the product overflows `Int`.
func checkedSize(of shape: [Int]) -> Int? {
    // A zero size makes the block empty however large the other sizes are.
    if shape.contains(0) {
        return 0
    }
    var product = 1
    for size in shape {
        let (next, overflow) = product.multipliedReportingOverflow(by: size)
        guard !overflow else { return nil }
        product = next
    }
    return product
}
