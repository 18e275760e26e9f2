/// A linear map between spaces of parameter-shaped blocks, applied without
/// forming its matrix.
///
/// An operator maps a list of tensors of shapes ``inputShapes`` to a list of
/// tensors of shapes ``outputShapes``, as curvature matrices act on lists of
/// parameter tensors. Its *flat form* concatenates the blocks, each flattened
/// row-major, into one vector of length ``inputSize``; k vectors form the k
/// columns of a column-major ``Matrix``.
///
/// Conforming types implement ``apply(_:)-(Matrix<Scalar>)`` on the flat form,
/// ``adjoint()`` and, where a cheaper way exists, ``dense()``. The protocol
/// extension supplies the vector and block forms, the sizes and the input
/// checks. Conformers are `Sendable`: `apply` may be called from several threads
/// at once, and must not change any state a caller can observe, except a
/// solver's report of its last apply.
///
/// The library checks what a conformer's `apply` returns wherever it uses the
/// result: in sums, scalings, compositions, the solvers, and the vector, block
/// and dense forms. A result that is not ``outputSize`` × k throws
/// ``CurvlinopsError/Kind/shapeMismatch``, and one with NaN or infinite values
/// throws ``CurvlinopsError/Kind/numericalBreakdown``. Both messages name the
/// conforming type.
public protocol LinearOperator<Scalar>: Sendable {
    /// The scalar type, `Float` or `Double`.
    associatedtype Scalar: LapackScalar

    /// The shapes of the input blocks, in order; `[[n]]` for a plain vector space.
    var inputShapes: [[Int]] { get }

    /// The shapes of the output blocks, in order.
    var outputShapes: [[Int]] { get }

    /// Applies the operator to the columns of `x`.
    ///
    /// - Parameter x: An ``inputSize`` × k matrix whose columns are flat input vectors.
    /// - Returns: The ``outputSize`` × k matrix of the images of the columns.
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when `x` has the wrong
    ///   number of rows, ``CurvlinopsError/Kind/nonFiniteValue`` when it contains
    ///   NaN or infinite entries, and whatever the operator's own work throws.
    func apply(_ x: Matrix<Scalar>) throws -> Matrix<Scalar>

    /// Returns the adjoint (transpose) operator, which maps output blocks to input blocks.
    func adjoint() -> any LinearOperator<Scalar>

    /// Returns the operator's matrix, ``outputSize`` × ``inputSize``.
    ///
    /// The default applies the operator to the identity matrix in one batch.
    ///
    /// - Complexity: One apply on ``inputSize`` columns, and
    ///   ``outputSize`` × ``inputSize`` memory.
    func dense() throws -> Matrix<Scalar>
}

extension LinearOperator {
    /// The length of a flat input vector: the sum of the sizes of ``inputShapes``.
    ///
    /// The library's operators reject shapes whose entry count overflows `Int`
    /// when they are built; for a conforming type whose shapes overflow, reading
    /// this property traps.
    public var inputSize: Int { flatSize(of: inputShapes) }

    /// The length of a flat output vector: the sum of the sizes of ``outputShapes``.
    ///
    /// Traps, as ``inputSize`` does, when the entry count overflows `Int`.
    public var outputSize: Int { flatSize(of: outputShapes) }

    /// Whether the input and output spaces have the same size.
    public var isSquare: Bool { inputSize == outputSize }

    /// Materialises the operator by applying it to the identity matrix in one batch.
    ///
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when `apply` returns a
    ///   matrix that is not ``outputSize`` × ``inputSize``,
    ///   ``CurvlinopsError/Kind/numericalBreakdown`` when it returns NaN or
    ///   infinite values; and whatever ``apply(_:)-(Matrix<Scalar>)`` throws.
    /// - Complexity: One apply on ``inputSize`` columns, and
    ///   ``outputSize`` × ``inputSize`` memory.
    public func dense() throws -> Matrix<Scalar> {
        try checkedApply(Matrix.identity(inputSize), owner: "\(operatorName).dense", role: "the operator")
    }

    /// Applies the operator to one flat vector.
    ///
    /// - Parameter x: A vector of ``inputSize`` entries.
    /// - Returns: The image, ``outputSize`` entries.
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when `x` does not have
    ///   ``inputSize`` entries or `apply` returns the wrong number of entries,
    ///   ``CurvlinopsError/Kind/numericalBreakdown`` when it returns NaN or
    ///   infinite values; otherwise as ``apply(_:)-(Matrix<Scalar>)``.
    public func apply(_ x: [Scalar]) throws -> [Scalar] {
        guard x.count == inputSize else {
            throw CurvlinopsError.shapeMismatch(
                "\(operatorName).apply: x has \(x.count) entries; expected inputSize = \(inputSize) (input shapes \(inputShapes)).")
        }
        let column = try Matrix(rows: x.count, columns: 1, columnMajor: x)
        return try checkedApply(column, owner: "\(operatorName).apply", role: "the operator").elements
    }

    /// Applies the operator to one vector given as parameter-shaped blocks.
    ///
    /// - Parameter blocks: One tensor per entry of ``inputShapes``, with that shape.
    /// - Returns: One tensor per entry of ``outputShapes``.
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when the number of
    ///   blocks or a block's shape differs from ``inputShapes``,
    ///   ``CurvlinopsError/Kind/nonFiniteValue`` naming the block that contains a
    ///   NaN or infinite entry; otherwise as ``apply(_:)-([Scalar])``.
    /// - Complexity: One apply on a single column, plus copies of the blocks.
    public func apply(blocks: [Tensor<Scalar>]) throws -> [Tensor<Scalar>] {
        guard blocks.count == inputShapes.count else {
            throw CurvlinopsError.shapeMismatch(
                "\(operatorName).apply(blocks:): got \(blocks.count) blocks; expected \(inputShapes.count) with shapes \(inputShapes).")
        }
        for (index, (block, shape)) in zip(blocks, inputShapes).enumerated() {
            guard block.shape == shape else {
                throw CurvlinopsError.shapeMismatch(
                    "\(operatorName).apply(blocks:): block \(index) has shape \(block.shape); expected \(shape).")
            }
            if let position = block.elements.firstIndex(where: { !$0.isFinite }) {
                throw CurvlinopsError.nonFinite(
                    "\(operatorName).apply(blocks:): block \(index) has \(block.elements[position]) at flat index \(position); expected finite values.")
            }
        }
        var flat: [Scalar] = []
        flat.reserveCapacity(inputSize)
        for block in blocks {
            flat.append(contentsOf: block.elements)
        }
        let image = try apply(flat)
        var result: [Tensor<Scalar>] = []
        var offset = 0
        for shape in outputShapes {
            let size = flatSize(of: [shape])
            result.append(try Tensor(shape: shape, elements: Array(image[offset..<(offset + size)])))
            offset += size
        }
        return result
    }

    /// A short name for messages: the type name without generic arguments.
    var operatorName: String {
        let full = String(describing: Self.self)
        return full.split(separator: "<").first.map(String.init) ?? full
    }

    /// Checks that `x` is a valid flat input: ``inputSize`` rows and finite entries.
    ///
    /// Conformers call this first in ``apply(_:)-(Matrix<Scalar>)``.
    ///
    /// - Parameter x: The flat input passed to `apply`.
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when `x` does not have
    ///   ``inputSize`` rows, ``CurvlinopsError/Kind/nonFiniteValue`` naming the
    ///   first column that contains a NaN or infinite entry.
    /// - Complexity: O(rows × columns) for the finiteness scan.
    public func validateInput(_ x: Matrix<Scalar>) throws {
        guard x.rows == inputSize else {
            throw CurvlinopsError.shapeMismatch(
                "\(operatorName).apply: X has \(x.rows) rows; expected inputSize = \(inputSize) (input shapes \(inputShapes)).")
        }
        guard x.isFinite else {
            let column = (0..<x.columns).first { j in x.column(j).contains { !$0.isFinite } } ?? 0
            throw CurvlinopsError.nonFinite(
                "\(operatorName).apply: column \(column) of X contains NaN or infinite entries; expected finite values.")
        }
    }
}

/// Returns the number of entries of a list of block shapes, or `nil` when
/// the count overflows `Int`.
///
/// Shapes with a negative size are not rejected here; ``validateShapes`` does that.
func checkedFlatSize(of shapes: [[Int]]) -> Int? {
    var total = 0
    for shape in shapes {
        guard let size = checkedSize(of: shape) else { return nil }
        let (sum, overflow) = total.addingReportingOverflow(size)
        guard !overflow else { return nil }
        total = sum
    }
    return total
}

/// Returns the number of entries of a list of block shapes that is known to fit in `Int`.
func flatSize(of shapes: [[Int]]) -> Int {
    guard let size = checkedFlatSize(of: shapes) else {
        preconditionFailure("The block shapes \(shapes) hold more entries than Int.max = \(Int.max).")
    }
    return size
}

/// Checks a list of block shapes supplied by a caller: no negative size, and
/// an entry count, per block and in total, that fits in `Int`.
///
/// - Throws: ``CurvlinopsError/Kind/invalidArgument`` naming `owner`,
///   `argument` and the offending shape.
func validateShapes(_ shapes: [[Int]], argument: String, owner: String) throws {
    for (index, shape) in shapes.enumerated() where shape.contains(where: { $0 < 0 }) {
        throw CurvlinopsError.invalidArgument("\(owner): \(argument)[\(index)] = \(shape) has a negative size; expected sizes ≥ 0.")
    }
    for (index, shape) in shapes.enumerated() where checkedSize(of: shape) == nil {
        throw CurvlinopsError.invalidArgument(
            "\(owner): \(argument)[\(index)] = \(shape) has more entries than Int.max = \(Int.max); expected a shape whose sizes multiply to at most Int.max.")
    }
    guard checkedFlatSize(of: shapes) != nil else {
        throw CurvlinopsError.invalidArgument(
            "\(owner): \(argument) = \(shapes) hold more entries in total than Int.max = \(Int.max); expected at most Int.max entries.")
    }
}

/// Checks the input and output shapes of an operator given to `owner`, so
/// that its sizes can be computed without overflow.
///
/// - Throws: As ``validateShapes(_:argument:owner:)``, naming
///   `argument.inputShapes` or `argument.outputShapes`.
func validateOperatorShapes<Scalar>(_ linearOperator: any LinearOperator<Scalar>, argument: String, owner: String) throws {
    try validateShapes(linearOperator.inputShapes, argument: "\(argument).inputShapes", owner: owner)
    try validateShapes(linearOperator.outputShapes, argument: "\(argument).outputShapes", owner: owner)
}
