extension Tensor {
    /// Creates a tensor whose entries `fill` writes into a buffer of
    /// `shape.reduce(1, *)` zeros.
    ///
    /// The buffer starts zeroed, so `fill` may accumulate into it.
    init(shape: [Int], fill: (UnsafeMutableBufferPointer<Scalar>) throws -> Void) rethrows {
        self.init(zeros: shape)
        try elements.withUnsafeMutableBufferPointer { buffer in
            try fill(buffer)
        }
    }

    /// Creates a tensor whose entries `write` must set, every one of them: the
    /// buffer starts uninitialised, which saves zeroing memory that a gemm
    /// with β = 0 or a full copy overwrites.
    init(uninitializedShape shape: [Int], writingEvery write: (UnsafeMutableBufferPointer<Scalar>) throws -> Void) rethrows {
        let count = shape.reduce(1, *)
        let elements = try [Scalar](unsafeUninitializedCapacity: count) { buffer, initializedCount in
            try write(buffer)
            initializedCount = count
        }
        self.init(uncheckedShape: shape, elements: elements)
    }

    /// Creates a tensor for a gemm with β = 0 to overwrite; its entries are uninitialised.
    init(gemmOutputShape shape: [Int]) {
        self.init(uninitializedShape: shape, writingEvery: { _ in })
    }

    /// Calls `body` with a pointer to the row-major entries.
    ///
    /// - Parameter body: A closure that reads the entries; the pointer is
    ///   valid only during the call.
    /// - Returns: What `body` returns.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Scalar>) throws -> R) rethrows -> R {
        try elements.withUnsafeBufferPointer(body)
    }

    /// Calls `body` with a mutable pointer to the row-major entries.
    ///
    /// - Parameter body: A closure that reads and writes the entries; the
    ///   pointer is valid only during the call.
    /// - Returns: What `body` returns.
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (inout UnsafeMutableBufferPointer<Scalar>) throws -> R
    ) rethrows -> R {
        try elements.withUnsafeMutableBufferPointer(body)
    }

    /// Returns the same entries under another shape with the same count (checked by a precondition).
    func reshapedUnchecked(_ newShape: [Int]) -> Tensor {
        Tensor(uncheckedShape: newShape, elements: elements)
    }

    /// Creates a tensor from a shape the library computed itself, trapping
    /// instead of throwing when the shape does not fit the entries.
    init(uncheckedShape shape: [Int], elements: [Scalar]) {
        precondition(shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == elements.count,
                     "Tensor shape \(shape) does not fit \(elements.count) entries")
        // With the precondition met, the throwing initialiser cannot fail.
        self = try! Tensor(shape: shape, elements: elements)
    }

    /// The flat index of the first non-finite entry, or `nil` when every entry is finite.
    var firstNonFiniteIndex: Int? {
        elements.withUnsafeBufferPointer { buffer in
            buffer.firstIndex { !$0.isFinite }
        }
    }

    /// Adds `scale · other` to this tensor in place; the counts must agree.
    mutating func add(_ other: Tensor, scaledBy scale: Scalar = 1) {
        precondition(other.count == count, "Tensor.add: \(other.shape) and \(shape) differ in size")
        guard count > 0 else { return }
        elements.withUnsafeMutableBufferPointer { y in
            other.elements.withUnsafeBufferPointer { x in
                Scalar.axpy(n: Int32(truncatingIfNeeded: x.count), alpha: scale, x: x.baseAddress!, incx: 1,
                            y: y.baseAddress!, incy: 1)
            }
        }
    }

    /// Multiplies every entry by `scale` in place.
    mutating func scale(by scale: Scalar) {
        guard count > 0 else { return }
        elements.withUnsafeMutableBufferPointer { x in
            Scalar.scal(n: Int32(truncatingIfNeeded: x.count), alpha: scale, x: x.baseAddress!, incx: 1)
        }
    }
}
