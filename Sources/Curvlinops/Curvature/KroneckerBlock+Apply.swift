/// What one block of a Kronecker-factored operator does to each of its d_out × c matrices M.
///
/// The right factor is `nil` for a bias block, whose input factor is the 1 × 1 matrix [1].
enum KroneckerBlockAction<Scalar: LapackScalar>: Sendable {
    /// M ↦ L·M·R: the block kron(L, R) of KFAC (L = G, R = A) and of its
    /// inverse through explicit inverse factors. R must be symmetric.
    case product(left: Matrix<Scalar>, right: Matrix<Scalar>?)

    /// M ↦ Q_L·(S ∘ (Q_Lᵀ·M·Q_R))·Q_Rᵀ: the block
    /// kron(Q_L, Q_R)·diag(S)·kron(Q_L, Q_R)ᵀ of EKFAC and of exact damping,
    /// with S a d_out × c matrix and ∘ the entry-wise product.
    case eigenbasis(left: Matrix<Scalar>, right: Matrix<Scalar>?, scaling: Matrix<Scalar>)

    /// M ↦ (L_L·L_Lᵀ)⁻¹·M·(L_R·L_Rᵀ)⁻¹ from lower Cholesky factors, by triangular solves.
    case choleskySolve(left: Matrix<Scalar>, right: Matrix<Scalar>?)
}

/// Applies a block-diagonal Kronecker-factored operator to the columns of `x`.
///
/// Every block gathers its k matrices M_j from the columns of `x` into one
/// buffer, so that each factor multiplies all k of them in one gemm:
///
/// ```
/// layout (o, j, i): M_j[o, i] at o + d_out·(j + k·i)
/// as a d_out × (k·c) matrix:   L·M_j for every j is one gemm from the left
/// as a (d_out·k) × c matrix:   M_j·R for every j is one gemm from the right
/// ```
///
/// The first right multiplication reads the gathered matrices transposed and
/// the last one writes them transposed, which saves the permutation that the
/// flat layout (row-major M_j, column after column) would otherwise need.
///
/// - Parameters:
///   - actions: One action per block; the blocks must cover every entry of the flat vector once.
///   - x: The input, `size` × k.
///   - size: The flat length of the parameter vector.
/// - Returns: The output, `size` × k.
/// - Throws: ``CurvlinopsError/Kind/unsupported`` when a dimension exceeds the 32-bit BLAS range.
/// - Complexity: Per block of c columns and d_out rows, 2·k·d_out·c·(d_out + c) flops
///   for a product or a Cholesky solve and twice that for an eigenbasis action.
func applyKroneckerBlocks<Scalar: LapackScalar>(
    _ actions: [(block: KroneckerBlock, action: KroneckerBlockAction<Scalar>)],
    to x: Matrix<Scalar>, size: Int
) throws -> Matrix<Scalar> {
    precondition(x.rows == size, "applyKroneckerBlocks: x has \(x.rows) rows, expected \(size)")
    let k = x.columns
    var output = Matrix<Scalar>(zeros: size, k)
    guard k > 0 else { return output }
    try x.withUnsafeBufferPointer { input in
        try output.withUnsafeMutableBufferPointer { result in
            for (block, action) in actions {
                let flat = FlatBlockView(block: block, leadingDimension: size, count: k)
                try apply(action, on: flat, from: input, into: result)
            }
        }
    }
    return output
}

private func apply<Scalar: LapackScalar>(
    _ action: KroneckerBlockAction<Scalar>, on flat: FlatBlockView,
    from input: UnsafeBufferPointer<Scalar>, into result: UnsafeMutableBufferPointer<Scalar>
) throws {
    switch action {
    case let .product(left, right):
        var stack = try StackedMatrices<Scalar>.gather(flat, from: input, rightMultipliedBy: right, transposed: false)
        try stack.multiplyLeft(by: left, transposed: false)
        stack.scatter(flat, into: result)

    case let .eigenbasis(left, right, scaling):
        var stack = try StackedMatrices<Scalar>.gather(flat, from: input, rightMultipliedBy: right, transposed: false)
        try stack.multiplyLeft(by: left, transposed: true)
        stack.multiplyEntries(by: scaling)
        try stack.multiplyLeft(by: left, transposed: false)
        try stack.scatter(flat, into: result, rightMultipliedBy: right, transposed: true)

    case let .choleskySolve(left, right):
        var stack = try StackedMatrices<Scalar>.gather(flat, from: input, rightMultipliedBy: nil, transposed: false)
        if let right {
            try stack.solveRight(cholesky: right)
        }
        try stack.solveLeft(cholesky: left)
        stack.scatter(flat, into: result)
    }
}

/// Where the k matrices of one block sit in a flat column-major `size` × k buffer.
struct FlatBlockView {
    let block: KroneckerBlock
    /// The distance between consecutive columns: the flat size of the parameter vector.
    let leadingDimension: Int
    /// k, the number of columns.
    let count: Int

    var rows: Int { block.rows }
    var columns: Int { block.columns }
    var inputDimension: Int { block.inputDimension }
}

/// The k matrices M_j (d_out × c) of one block in the layout (o, j, i):
/// entry M_j[o, i] at `o + rows·(j + count·i)`.
struct StackedMatrices<Scalar: LapackScalar> {
    let rows: Int
    let columns: Int
    let count: Int
    var values: [Scalar]

    private var stackedRows: Int { rows * count }

    /// Gathers the block's matrices from the flat buffer, multiplied from the
    /// right by R (or Rᵀ) when R is given.
    static func gather(
        _ flat: FlatBlockView, from input: UnsafeBufferPointer<Scalar>,
        rightMultipliedBy right: Matrix<Scalar>?, transposed: Bool
    ) throws -> StackedMatrices {
        let (rows, columns, count) = (flat.rows, flat.columns, flat.count)
        guard let right else {
            return StackedMatrices(rows: rows, columns: columns, count: count,
                                   values: gatherPermuted(flat, from: input))
        }
        // The transposed stack Mᵀ_1 … Mᵀ_k (layout (i, o, j)) is a c × (d_out·k)
        // matrix whose transpose times R is the stack M_j·R in layout (o, j, i).
        let transposedStack = gatherTransposed(flat, from: input)
        var values = [Scalar](repeating: 0, count: rows * columns * count)
        try transposedStack.withUnsafeBufferPointer { a in
            try right.withUnsafeBufferPointer { b in
                try values.withUnsafeMutableBufferPointer { c in
                    try rawGemm(
                        transposeA: true, transposeB: transposed, m: rows * count, n: columns, k: columns,
                        a: a.baseAddress!, lda: columns, b: b.baseAddress!, ldb: columns,
                        c: c.baseAddress!, ldc: rows * count)
                }
            }
        }
        return StackedMatrices(rows: rows, columns: columns, count: count, values: values)
    }

    /// M_j ← op(L)·M_j for every j, one gemm.
    mutating func multiplyLeft(by left: Matrix<Scalar>, transposed: Bool) throws {
        var product = [Scalar](repeating: 0, count: values.count)
        let (rows, width) = (self.rows, columns * count)
        try values.withUnsafeBufferPointer { b in
            try left.withUnsafeBufferPointer { a in
                try product.withUnsafeMutableBufferPointer { c in
                    try rawGemm(
                        transposeA: transposed, transposeB: false, m: rows, n: width, k: rows,
                        a: a.baseAddress!, lda: rows, b: b.baseAddress!, ldb: rows,
                        c: c.baseAddress!, ldc: rows)
                }
            }
        }
        values = product
    }

    /// M_j ← S ∘ M_j for every j, with S a d_out × c matrix.
    mutating func multiplyEntries(by scaling: Matrix<Scalar>) {
        precondition(scaling.rows == rows && scaling.columns == columns,
                     "StackedMatrices.multiplyEntries: scaling is \(scaling.rows) × \(scaling.columns), expected \(rows) × \(columns)")
        let (rows, columns, count) = (self.rows, self.columns, self.count)
        values.withUnsafeMutableBufferPointer { v in
            scaling.withUnsafeBufferPointer { s in
                for i in 0..<columns {
                    let scale = s.baseAddress! + rows * i
                    for j in 0..<count {
                        let target = v.baseAddress! + rows * (j + count * i)
                        for o in 0..<rows {
                            target[o] *= scale[o]
                        }
                    }
                }
            }
        }
    }

    /// M_j ← (L·Lᵀ)⁻¹·M_j for every j, two triangular solves.
    mutating func solveLeft(cholesky lower: Matrix<Scalar>) throws {
        let (rows, width) = (self.rows, columns * count)
        try lower.withUnsafeBufferPointer { a in
            try values.withUnsafeMutableBufferPointer { b in
                try rawTrsm(leftSide: true, transpose: false, m: rows, n: width, a: a.baseAddress!, lda: rows,
                            b: b.baseAddress!, ldb: rows)
                try rawTrsm(leftSide: true, transpose: true, m: rows, n: width, a: a.baseAddress!, lda: rows,
                            b: b.baseAddress!, ldb: rows)
            }
        }
    }

    /// M_j ← M_j·(L·Lᵀ)⁻¹ for every j, two triangular solves.
    mutating func solveRight(cholesky lower: Matrix<Scalar>) throws {
        let (height, columns) = (stackedRows, self.columns)
        try lower.withUnsafeBufferPointer { a in
            try values.withUnsafeMutableBufferPointer { b in
                try rawTrsm(leftSide: false, transpose: true, m: height, n: columns, a: a.baseAddress!, lda: columns,
                            b: b.baseAddress!, ldb: height)
                try rawTrsm(leftSide: false, transpose: false, m: height, n: columns, a: a.baseAddress!, lda: columns,
                            b: b.baseAddress!, ldb: height)
            }
        }
    }

    /// Writes the matrices back into the flat buffer.
    func scatter(_ flat: FlatBlockView, into result: UnsafeMutableBufferPointer<Scalar>) {
        let (rows, count, inputDimension) = (self.rows, self.count, flat.inputDimension)
        let block = flat.block
        values.withUnsafeBufferPointer { v in
            let source = v.baseAddress!
            for j in 0..<count {
                let column = result.baseAddress! + j * flat.leadingDimension
                if block.kind != .bias {
                    let weight = column + block.weightOffset
                    for i in 0..<inputDimension {
                        let from = source + rows * (j + count * i)
                        for o in 0..<rows {
                            weight[o * inputDimension + i] = from[o]
                        }
                    }
                }
                if block.hasBiasColumn {
                    let from = source + rows * (j + count * inputDimension)
                    (column + block.biasOffset).update(from: from, count: rows)
                }
            }
        }
    }

    /// Writes M_j·op(R) back into the flat buffer; the product comes out of one
    /// gemm already in the flat layout.
    func scatter(
        _ flat: FlatBlockView, into result: UnsafeMutableBufferPointer<Scalar>,
        rightMultipliedBy right: Matrix<Scalar>?, transposed: Bool
    ) throws {
        guard let right else {
            scatter(flat, into: result)
            return
        }
        // (M_j·op(R))ᵀ = op(R)ᵀ·M_jᵀ for all j at once: a c × (d_out·k) matrix in layout (i, o, j).
        var transposedStack = [Scalar](repeating: 0, count: values.count)
        let (height, columns) = (stackedRows, self.columns)
        try right.withUnsafeBufferPointer { a in
            try values.withUnsafeBufferPointer { b in
                try transposedStack.withUnsafeMutableBufferPointer { c in
                    try rawGemm(
                        transposeA: !transposed, transposeB: true, m: columns, n: height, k: columns,
                        a: a.baseAddress!, lda: columns, b: b.baseAddress!, ldb: height,
                        c: c.baseAddress!, ldc: columns)
                }
            }
        }
        scatterTransposed(transposedStack, flat, into: result)
    }
}

/// Copies the block's matrices into layout (o, j, i).
private func gatherPermuted<Scalar: LapackScalar>(
    _ flat: FlatBlockView, from input: UnsafeBufferPointer<Scalar>
) -> [Scalar] {
    let (rows, columns, count, inputDimension) = (flat.rows, flat.columns, flat.count, flat.inputDimension)
    let block = flat.block
    return [Scalar](unsafeUninitializedCapacity: rows * columns * count) { buffer, initialized in
        let target = buffer.baseAddress!
        for j in 0..<count {
            let column = input.baseAddress! + j * flat.leadingDimension
            if block.kind != .bias {
                let weight = column + block.weightOffset
                for i in 0..<inputDimension {
                    let to = target + rows * (j + count * i)
                    for o in 0..<rows {
                        (to + o).initialize(to: weight[o * inputDimension + i])
                    }
                }
            }
            if block.hasBiasColumn {
                let to = target + rows * (j + count * inputDimension)
                to.initialize(from: column + block.biasOffset, count: rows)
            }
        }
        initialized = rows * columns * count
    }
}

/// Copies the block's matrices into layout (i, o, j), the flat layout with
/// the bias entry appended to each weight row of a joint block.
private func gatherTransposed<Scalar: LapackScalar>(
    _ flat: FlatBlockView, from input: UnsafeBufferPointer<Scalar>
) -> [Scalar] {
    let (rows, columns, count, inputDimension) = (flat.rows, flat.columns, flat.count, flat.inputDimension)
    let block = flat.block
    return [Scalar](unsafeUninitializedCapacity: rows * columns * count) { buffer, initialized in
        let target = buffer.baseAddress!
        for j in 0..<count {
            let column = input.baseAddress! + j * flat.leadingDimension
            let destination = target + columns * rows * j
            switch block.kind {
            case .weight:
                destination.initialize(from: column + block.weightOffset, count: rows * inputDimension)
            case .bias:
                destination.initialize(from: column + block.biasOffset, count: rows)
            case .joint:
                for o in 0..<rows {
                    let row = destination + columns * o
                    row.initialize(from: column + block.weightOffset + o * inputDimension, count: inputDimension)
                    (row + inputDimension).initialize(to: column[block.biasOffset + o])
                }
            }
        }
        initialized = rows * columns * count
    }
}

/// Writes matrices in layout (i, o, j) into the flat buffer.
private func scatterTransposed<Scalar: LapackScalar>(
    _ stack: [Scalar], _ flat: FlatBlockView, into result: UnsafeMutableBufferPointer<Scalar>
) {
    let (rows, columns, count, inputDimension) = (flat.rows, flat.columns, flat.count, flat.inputDimension)
    let block = flat.block
    stack.withUnsafeBufferPointer { s in
        for j in 0..<count {
            let column = result.baseAddress! + j * flat.leadingDimension
            let source = s.baseAddress! + columns * rows * j
            switch block.kind {
            case .weight:
                (column + block.weightOffset).update(from: source, count: rows * inputDimension)
            case .bias:
                (column + block.biasOffset).update(from: source, count: rows)
            case .joint:
                for o in 0..<rows {
                    let row = source + columns * o
                    (column + block.weightOffset + o * inputDimension).update(from: row, count: inputDimension)
                    column[block.biasOffset + o] = row[inputDimension]
                }
            }
        }
    }
}

/// C ← op(A)·op(B) on raw column-major buffers, with the dimensions checked for the 32-bit BLAS interface.
func rawGemm<Scalar: LapackScalar>(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    a: UnsafePointer<Scalar>, lda: Int, b: UnsafePointer<Scalar>, ldb: Int,
    c: UnsafeMutablePointer<Scalar>, ldc: Int
) throws {
    guard m > 0, n > 0 else { return }
    guard k > 0 else {
        c.update(repeating: 0, count: ldc * (n - 1) + m)
        return
    }
    Scalar.gemm(
        transposeA: transposeA, transposeB: transposeB,
        m: try lapackInteger(m, "m", routine: "gemm"), n: try lapackInteger(n, "n", routine: "gemm"),
        k: try lapackInteger(k, "k", routine: "gemm"), alpha: 1,
        a: a, lda: try lapackInteger(max(1, lda), "lda", routine: "gemm"),
        b: b, ldb: try lapackInteger(max(1, ldb), "ldb", routine: "gemm"),
        beta: 0, c: c, ldc: try lapackInteger(max(1, ldc), "ldc", routine: "gemm"))
}

/// B ← op(L)⁻¹·B (`leftSide`) or B ← B·op(L)⁻¹ for a lower triangular L, on raw buffers.
private func rawTrsm<Scalar: LapackScalar>(
    leftSide: Bool, transpose: Bool, m: Int, n: Int,
    a: UnsafePointer<Scalar>, lda: Int, b: UnsafeMutablePointer<Scalar>, ldb: Int
) throws {
    guard m > 0, n > 0 else { return }
    Scalar.trsm(
        leftSide: leftSide, lower: true, transpose: transpose, unitDiagonal: false,
        m: try lapackInteger(m, "m", routine: "trsm"), n: try lapackInteger(n, "n", routine: "trsm"),
        alpha: 1, a: a, lda: try lapackInteger(max(1, lda), "lda", routine: "trsm"),
        b: b, ldb: try lapackInteger(max(1, ldb), "ldb", routine: "trsm"))
}
