/// The map that one block of a Kronecker-factored operator applies to each of its d_out × c matrices M.
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
/// flat layout (row-major M_j, column after column) would otherwise need. Two
/// buffers of the largest block's size serve all blocks in turn, because
/// fresh memory costs a page fault per page on first touch.
///
/// - Parameters:
///   - actions: One action per block; the blocks must cover every entry of the flat vector once.
///   - x: The input, `size` × k.
///   - size: The flat length of the parameter vector.
/// - Returns: The output, `size` × k.
/// - Throws: ``CurvlinopsError/Kind/unsupported`` when a dimension exceeds the 32-bit BLAS range.
/// - Complexity: Per block of c columns and d_out rows, 2·k·d_out·c·(d_out + c) flops
///   for a product and twice that for an eigenbasis action;
///   2·k·max(d_out·c) scalars of workspace.
func applyKroneckerBlocks<Scalar: LapackScalar>(
    _ actions: [(block: KroneckerBlock, action: KroneckerBlockAction<Scalar>)],
    to x: Matrix<Scalar>, size: Int
) throws -> Matrix<Scalar> {
    precondition(x.rows == size, "applyKroneckerBlocks: x has \(x.rows) rows, expected \(size)")
    let k = x.columns
    var output = Matrix<Scalar>(zeros: size, k)
    guard k > 0, let largest = actions.map({ $0.block.rows * $0.block.columns }).max() else { return output }
    let workspace = KroneckerWorkspace<Scalar>(capacity: largest * k)
    try x.withUnsafeBufferPointer { input in
        try output.withUnsafeMutableBufferPointer { result in
            for (block, action) in actions {
                let flat = FlatBlockView(block: block, leadingDimension: size, count: k)
                var stack = StackedMatrices(flat: flat, workspace: workspace)
                try stack.apply(action, from: input, into: result)
            }
        }
    }
    return output
}

/// Two scratch buffers that the blocks of one apply share.
///
/// Thread safety: an instance belongs to one apply call and is never shared.
final class KroneckerWorkspace<Scalar: LapackScalar> {
    let first: UnsafeMutablePointer<Scalar>
    let second: UnsafeMutablePointer<Scalar>

    init(capacity: Int) {
        first = .allocate(capacity: capacity)
        second = .allocate(capacity: capacity)
    }

    deinit {
        first.deallocate()
        second.deallocate()
    }
}

/// The place of one block's k matrices in a flat column-major `size` × k buffer.
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

/// The k matrices M_j (d_out × c) of one block, in the layout (o, j, i) —
/// entry M_j[o, i] at `o + rows·(j + count·i)` — in `current`, with `spare`
/// for the result of the next gemm.
struct StackedMatrices<Scalar: LapackScalar> {
    let flat: FlatBlockView
    private var current: UnsafeMutablePointer<Scalar>
    private var spare: UnsafeMutablePointer<Scalar>
    // Keeps the buffers alive while the pointers are in use.
    private let workspace: KroneckerWorkspace<Scalar>

    private var rows: Int { flat.rows }
    private var columns: Int { flat.columns }
    private var count: Int { flat.count }
    private var stackedRows: Int { flat.rows * flat.count }

    init(flat: FlatBlockView, workspace: KroneckerWorkspace<Scalar>) {
        self.flat = flat
        self.workspace = workspace
        self.current = workspace.first
        self.spare = workspace.second
    }

    /// Reads the block from `input`, applies the action and writes the block into `result`.
    mutating func apply(
        _ action: KroneckerBlockAction<Scalar>,
        from input: UnsafeBufferPointer<Scalar>, into result: UnsafeMutableBufferPointer<Scalar>
    ) throws {
        switch action {
        case let .product(left, right):
            try gather(from: input, rightMultipliedBy: right)
            try multiplyLeft(by: left, transposed: false)
            scatter(into: result)

        case let .eigenbasis(left, right, scaling):
            try gather(from: input, rightMultipliedBy: right)
            try multiplyLeft(by: left, transposed: true)
            multiplyEntries(by: scaling)
            try multiplyLeft(by: left, transposed: false)
            try scatter(into: result, rightMultipliedByTransposeOf: right)
        }
    }

    private mutating func swapBuffers() {
        swap(&current, &spare)
    }

    /// Gathers the block's matrices, multiplied from the right by R when R is given.
    private mutating func gather(
        from input: UnsafeBufferPointer<Scalar>, rightMultipliedBy right: Matrix<Scalar>?
    ) throws {
        guard let right else {
            gatherPermuted(flat, from: input, into: current)
            return
        }
        // The transposed stack Mᵀ_1 … Mᵀ_k (layout (i, o, j)) is a c × (d_out·k)
        // matrix whose transpose times R is the stack M_j·R in layout (o, j, i).
        gatherTransposed(flat, from: input, into: current)
        let (height, columns, source, target) = (stackedRows, self.columns, current, spare)
        try right.withUnsafeBufferPointer { b in
            try rawGemm(
                transposeA: true, transposeB: false, m: height, n: columns, k: columns,
                a: source, lda: columns, b: b.baseAddress!, ldb: columns, c: target, ldc: height)
        }
        swapBuffers()
    }

    /// M_j ← op(L)·M_j for every j, one gemm.
    private mutating func multiplyLeft(by left: Matrix<Scalar>, transposed: Bool) throws {
        let (rows, width, source, target) = (self.rows, columns * count, current, spare)
        try left.withUnsafeBufferPointer { a in
            try rawGemm(
                transposeA: transposed, transposeB: false, m: rows, n: width, k: rows,
                a: a.baseAddress!, lda: rows, b: source, ldb: rows, c: target, ldc: rows)
        }
        swapBuffers()
    }

    /// M_j ← S ∘ M_j for every j, with S a d_out × c matrix.
    private func multiplyEntries(by scaling: Matrix<Scalar>) {
        precondition(scaling.rows == rows && scaling.columns == columns,
                     "StackedMatrices.multiplyEntries: scaling is \(scaling.rows) × \(scaling.columns), expected \(rows) × \(columns)")
        let (rows, columns, count, values) = (self.rows, self.columns, self.count, current)
        scaling.withUnsafeBufferPointer { s in
            for i in 0..<columns {
                let scale = s.baseAddress! + rows * i
                for j in 0..<count {
                    let target = values + rows * (j + count * i)
                    for o in 0..<rows {
                        target[o] *= scale[o]
                    }
                }
            }
        }
    }

    /// Writes the matrices back into the flat buffer.
    private func scatter(into result: UnsafeMutableBufferPointer<Scalar>) {
        scatterPermuted(flat, from: current, into: result)
    }

    /// Writes M_j·Rᵀ back into the flat buffer; the product comes out of one
    /// gemm already in the flat layout.
    private mutating func scatter(
        into result: UnsafeMutableBufferPointer<Scalar>, rightMultipliedByTransposeOf right: Matrix<Scalar>?
    ) throws {
        guard let right else {
            scatter(into: result)
            return
        }
        // (M_j·Rᵀ)ᵀ = R·M_jᵀ for all j at once: a c × (d_out·k) matrix in layout (i, o, j).
        let (height, columns, source, target) = (stackedRows, self.columns, current, spare)
        try right.withUnsafeBufferPointer { a in
            try rawGemm(
                transposeA: false, transposeB: true, m: columns, n: height, k: columns,
                a: a.baseAddress!, lda: columns, b: source, ldb: height, c: target, ldc: columns)
        }
        swapBuffers()
        scatterTransposed(flat, from: current, into: result)
    }
}

/// Copies the block's matrices into layout (o, j, i).
private func gatherPermuted<Scalar: LapackScalar>(
    _ flat: FlatBlockView, from input: UnsafeBufferPointer<Scalar>, into target: UnsafeMutablePointer<Scalar>
) {
    let (rows, count, inputDimension) = (flat.rows, flat.count, flat.inputDimension)
    let block = flat.block
    for j in 0..<count {
        let column = input.baseAddress! + j * flat.leadingDimension
        if block.kind != .bias {
            transposeTile(
                from: column + block.weightOffset, rowStride: inputDimension, columnStride: 1,
                to: target + rows * j, rowStride: 1, columnStride: rows * count,
                rows: rows, columns: inputDimension)
        }
        if block.hasBiasColumn {
            (target + rows * (j + count * inputDimension)).update(from: column + block.biasOffset, count: rows)
        }
    }
}

/// Copies the block's matrices into layout (i, o, j), the flat layout with
/// the bias entry appended to each weight row of a joint block.
private func gatherTransposed<Scalar: LapackScalar>(
    _ flat: FlatBlockView, from input: UnsafeBufferPointer<Scalar>, into target: UnsafeMutablePointer<Scalar>
) {
    let (rows, columns, count, inputDimension) = (flat.rows, flat.columns, flat.count, flat.inputDimension)
    let block = flat.block
    for j in 0..<count {
        let column = input.baseAddress! + j * flat.leadingDimension
        let destination = target + columns * rows * j
        switch block.kind {
        case .weight:
            destination.update(from: column + block.weightOffset, count: rows * inputDimension)
        case .bias:
            destination.update(from: column + block.biasOffset, count: rows)
        case .joint:
            for o in 0..<rows {
                let row = destination + columns * o
                row.update(from: column + block.weightOffset + o * inputDimension, count: inputDimension)
                row[inputDimension] = column[block.biasOffset + o]
            }
        }
    }
}

/// Writes matrices in layout (o, j, i) into the flat buffer.
private func scatterPermuted<Scalar: LapackScalar>(
    _ flat: FlatBlockView, from source: UnsafeMutablePointer<Scalar>, into result: UnsafeMutableBufferPointer<Scalar>
) {
    let (rows, count, inputDimension) = (flat.rows, flat.count, flat.inputDimension)
    let block = flat.block
    for j in 0..<count {
        let column = result.baseAddress! + j * flat.leadingDimension
        if block.kind != .bias {
            transposeTile(
                from: source + rows * j, rowStride: 1, columnStride: rows * count,
                to: column + block.weightOffset, rowStride: inputDimension, columnStride: 1,
                rows: rows, columns: inputDimension)
        }
        if block.hasBiasColumn {
            (column + block.biasOffset).update(from: source + rows * (j + count * inputDimension), count: rows)
        }
    }
}

/// Writes matrices in layout (i, o, j) into the flat buffer.
private func scatterTransposed<Scalar: LapackScalar>(
    _ flat: FlatBlockView, from source: UnsafeMutablePointer<Scalar>, into result: UnsafeMutableBufferPointer<Scalar>
) {
    let (rows, columns, count, inputDimension) = (flat.rows, flat.columns, flat.count, flat.inputDimension)
    let block = flat.block
    for j in 0..<count {
        let column = result.baseAddress! + j * flat.leadingDimension
        let stack = source + columns * rows * j
        switch block.kind {
        case .weight:
            (column + block.weightOffset).update(from: stack, count: rows * inputDimension)
        case .bias:
            (column + block.biasOffset).update(from: stack, count: rows)
        case .joint:
            for o in 0..<rows {
                let row = stack + columns * o
                (column + block.weightOffset + o * inputDimension).update(from: row, count: inputDimension)
                column[block.biasOffset + o] = row[inputDimension]
            }
        }
    }
}

/// Copies a rows × columns matrix between two strided layouts in square
/// tiles, so that both the reads and the writes stay within a few cache lines.
@inline(__always)
private func transposeTile<Scalar>(
    from source: UnsafePointer<Scalar>, rowStride sourceRowStride: Int, columnStride sourceColumnStride: Int,
    to target: UnsafeMutablePointer<Scalar>, rowStride targetRowStride: Int, columnStride targetColumnStride: Int,
    rows: Int, columns: Int
) {
    let tile = 16
    for rowStart in stride(from: 0, to: rows, by: tile) {
        let rowEnd = min(rowStart + tile, rows)
        for columnStart in stride(from: 0, to: columns, by: tile) {
            let columnEnd = min(columnStart + tile, columns)
            for row in rowStart..<rowEnd {
                let from = source + row * sourceRowStride
                let to = target + row * targetRowStride
                for column in columnStart..<columnEnd {
                    to[column * targetColumnStride] = from[column * sourceColumnStride]
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
