/// The sizes of one convolution applied to one input shape.
struct ConvolutionGeometry {
    let batch: Int
    let channels: Int
    let height: Int
    let width: Int
    let outputHeight: Int
    let outputWidth: Int

    /// The number of output locations S = H_out·W_out.
    var locations: Int { outputHeight * outputWidth }
}

extension Conv2d {
    /// The geometry for an input of the given shape, which must be valid.
    func geometry(forInput shape: [Int]) -> ConvolutionGeometry {
        // The shape was validated by the forward pass; a failure here is a bug.
        let output = try! outputShape(forInput: shape)
        return ConvolutionGeometry(
            batch: shape[0], channels: shape[1], height: shape[2], width: shape[3],
            outputHeight: output[2], outputWidth: output[3])
    }

    /// Unfolds an input [batch, C, H, W] into its patches (im2col).
    ///
    /// ```
    /// patches[n, p·W_out + q, (c·kh + i)·kw + j] = xpad[n, c, p·sh + i·dh, q·sw + j·dw]
    /// ```
    ///
    /// - Returns: Shape [batch, S, C·kh·kw]; entries over the padding are 0.
    /// - Complexity: O(batch · S · C·kh·kw).
    func unfold<Scalar: LapackScalar>(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        let g = geometry(forInput: input.shape)
        let (kh, kw) = (kernelSize.height, kernelSize.width)
        let size = patchSize
        return input.withUnsafeBufferPointer { source in
            Tensor(shape: [g.batch, g.locations, size]) { patches in
                for n in 0..<g.batch {
                    for p in 0..<g.outputHeight {
                        for q in 0..<g.outputWidth {
                            let row = patches.baseAddress! + ((n * g.outputHeight + p) * g.outputWidth + q) * size
                            for c in 0..<g.channels {
                                let plane = source.baseAddress! + (n * g.channels + c) * g.height * g.width
                                for i in 0..<kh {
                                    let y = p * stride.height + i * dilation.height - padding.height
                                    guard y >= 0, y < g.height else { continue }
                                    for j in 0..<kw {
                                        let x = q * stride.width + j * dilation.width - padding.width
                                        guard x >= 0, x < g.width else { continue }
                                        row[(c * kh + i) * kw + j] = plane[y * g.width + x]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Folds patch cotangents back onto the input (col2im), the adjoint of ``unfold(_:)``.
    ///
    /// Each patch entry is added to the input entry it was read from; entries
    /// over the padding are dropped.
    ///
    /// - Parameters:
    ///   - patches: Shape [batch, S, C·kh·kw].
    ///   - inputShape: The shape [batch, C, H, W] of the input the patches belong to.
    /// - Complexity: O(batch · S · C·kh·kw).
    func fold<Scalar: LapackScalar>(_ patches: Tensor<Scalar>, inputShape: [Int]) -> Tensor<Scalar> {
        let g = geometry(forInput: inputShape)
        let (kh, kw) = (kernelSize.height, kernelSize.width)
        let size = patchSize
        precondition(patches.count == g.batch * g.locations * size, "fold: patches \(patches.shape) do not fit \(inputShape)")
        return patches.withUnsafeBufferPointer { source in
            Tensor(shape: inputShape) { image in
                for n in 0..<g.batch {
                    for p in 0..<g.outputHeight {
                        for q in 0..<g.outputWidth {
                            let row = source.baseAddress! + ((n * g.outputHeight + p) * g.outputWidth + q) * size
                            for c in 0..<g.channels {
                                let plane = image.baseAddress! + (n * g.channels + c) * g.height * g.width
                                for i in 0..<kh {
                                    let y = p * stride.height + i * dilation.height - padding.height
                                    guard y >= 0, y < g.height else { continue }
                                    for j in 0..<kw {
                                        let x = q * stride.width + j * dilation.width - padding.width
                                        guard x >= 0, x < g.width else { continue }
                                        plane[y * g.width + x] += row[(c * kh + i) * kw + j]
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
