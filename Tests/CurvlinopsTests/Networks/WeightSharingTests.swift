import XCTest
@testable import Curvlinops

/// The internal API Kronecker-factored curvature is built from: layer inputs
/// and output gradients by weight-sharing position, Hessian square roots of
/// the losses, and sampled gradients.
final class WeightSharingTests: XCTestCase {
    /// a_{n,s}[(c·kh + i)·kw + j] = xpad[n, c, p·sh + i·dh, q·sw + j·dw], s = p·W_out + q.
    func testConvolutionInputsArePatches() throws {
        var generator = SeededGenerator(seed: 41)
        let layer = try Conv2d(inChannels: 2, outChannels: 3, kernelSize: (2, 3), stride: (2, 1), padding: (1, 1), dilation: (1, 2))
        let model = try Sequential<Double>([layer], seed: 0)
        let input = randomTensor([2, 2, 5, 6], using: &generator)
        let pass = try model.forwardPass(input)
        let patches = model.weightSharingInputs(of: pass, layer: 0)
        let (outputHeight, outputWidth) = (pass.output.shape[2], pass.output.shape[3])
        XCTAssertEqual(patches.shape, [2, outputHeight * outputWidth, 12])

        for n in 0..<2 {
            for p in 0..<outputHeight {
                for q in 0..<outputWidth {
                    for c in 0..<2 {
                        for i in 0..<2 {
                            for j in 0..<3 {
                                let y = p * 2 + i - 1
                                let x = q + 2 * j - 1
                                let expected = (y >= 0 && y < 5 && x >= 0 && x < 6) ? input[n, c, y, x] : 0
                                XCTAssertEqual(patches[n, p * outputWidth + q, (c * 2 + i) * 3 + j], expected)
                            }
                        }
                    }
                }
            }
        }
    }

    func testLinearInputsAreSequencePositions() throws {
        var generator = SeededGenerator(seed: 42)
        let model = try Sequential<Double>([try Linear(inFeatures: 3, outFeatures: 2), Tanh(), try Linear(inFeatures: 2, outFeatures: 2)], seed: 0)
        let input = randomTensor([2, 4, 3], using: &generator)
        let pass = try model.forwardPass(input)
        XCTAssertEqual(model.weightLayerIndices, [0, 2])
        XCTAssertEqual(model.weightSharingInputs(of: pass, layer: 0).shape, [2, 4, 3])
        XCTAssertEqual(model.weightSharingInputs(of: pass, layer: 0).elements, input.elements)
        XCTAssertEqual(model.weightSharingInputs(of: pass, layer: 2).elements, pass.records[1].output.elements)
    }

    /// Σ_{n,s} g_{n,s}·a_{n,s}ᵀ is the weight gradient and Σ_{n,s} g_{n,s} the
    /// bias gradient, for each of k cotangents.
    func testOutputGradientsReproduceParameterGradients() throws {
        var generator = SeededGenerator(seed: 43)
        for problem in try NetworkTestProblems.all() {
            let model = problem.model
            let layers = Set(model.weightLayerIndices)
            let batch = problem.data[0]
            let pass = try model.forwardPass(batch.input)
            let k = 2
            let cotangents = randomTensor(stackedShape(pass.output.shape, count: k), using: &generator)
            let gradients = try model.weightSharingOutputGradients(
                of: pass, outputCotangents: cotangents, count: k, layers: layers)
            let reference = try model.vectorJacobianProducts(
                pass, outputCotangents: cotangents, count: k, parameters: Set(model.parameterNames.indices))

            for layer in layers {
                let inputs = model.weightSharingInputs(of: pass, layer: layer)
                let g = gradients[layer]!
                let (batchSize, positions, inFeatures) = (inputs.shape[0], inputs.shape[1], inputs.shape[2])
                let outFeatures = g.shape[3]
                XCTAssertEqual(g.shape, [k, batchSize, positions, outFeatures], "\(problem.name) layer \(layer)")

                var weight = [Double](repeating: 0, count: k * outFeatures * inFeatures)
                var bias = [Double](repeating: 0, count: k * outFeatures)
                for j in 0..<k {
                    for n in 0..<batchSize {
                        for s in 0..<positions {
                            for o in 0..<outFeatures {
                                bias[j * outFeatures + o] += g[j, n, s, o]
                                for i in 0..<inFeatures {
                                    weight[(j * outFeatures + o) * inFeatures + i] += g[j, n, s, o] * inputs[n, s, i]
                                }
                            }
                        }
                    }
                }
                let weightPosition = model.parameterNames.firstIndex(of: "\(layer).weight")!
                assertClose(weight, reference.parameters[weightPosition]!.elements, rtol: 1e-13,
                            "\(problem.name) layer \(layer) weight")
                if let biasPosition = model.parameterNames.firstIndex(of: "\(layer).bias") {
                    assertClose(bias, reference.parameters[biasPosition]!.elements, rtol: 1e-13,
                                "\(problem.name) layer \(layer) bias")
                }
            }
        }
    }

    /// Σ_c S[:, c]·S[:, c]ᵀ = ∇²l term by term: the C probes of the Hessian
    /// square roots, used as gradients in the outer-product map, reproduce the
    /// Hessian product.
    func testHessianSquareRootsReproduceLossHessian() throws {
        var generator = SeededGenerator(seed: 44)
        for problem in try NetworkTestProblems.all() {
            let loss = try problem.loss.differentiable(owner: "test")
            let output = try problem.model(problem.data[0].input)
            let terms = LossTerms(loss: loss, output: output, layout: try loss.termLayout(outputShape: output.shape))
            let probes = terms.hessianSquareRoots()
            XCTAssertEqual(probes.shape, stackedShape(output.shape, count: terms.layout.classes), problem.name)

            let tangents = randomTensor(stackedShape(output.shape, count: 3), using: &generator)
            let fromRoots = terms.gradientOuterProducts(probes, samples: terms.layout.classes, tangents: tangents, count: 3)
            let direct = terms.hessianProducts(tangents, count: 3)
            assertClose(fromRoots.elements, direct.elements, rtol: 1e-14, atol: 1e-15, "\(problem.name): S·Sᵀ")
        }
    }

    /// Sampled targets drawn under one seed repeat, and their mean outer
    /// product approaches the loss Hessian. The error falls as 1/√M: with
    /// M = 4·10⁴ it is near 0.5 % of the largest entry for these problems, so
    /// the bound of 3 % is several standard deviations away, while a wrong
    /// sampling distribution (such as a 10 % error in the MSE variance) fails.
    func testSampledGradientsHaveLossHessianAsSecondMoment() throws {
        var generator = SeededGenerator(seed: 45)
        let names: Set = ["mlp_tanh_ce_mean", "mlp_sigmoid_no_bias_mse_mean", "sequence_tanh_ce_sum", "sequence_relu_bce_mean"]
        for problem in try NetworkTestProblems.all() where names.contains(problem.name) {
            let loss = try problem.loss.differentiable(owner: "test")
            let output = try problem.model(problem.data[0].input)
            let terms = LossTerms(loss: loss, output: output, layout: try loss.termLayout(outputShape: output.shape))
            let samples = 40_000
            var sampler = SeededGenerator(seed: 1)
            let gradients = terms.sampledGradients(samples: samples, using: &sampler)
            var repeatSampler = SeededGenerator(seed: 1)
            XCTAssertEqual(gradients, terms.sampledGradients(samples: samples, using: &repeatSampler), problem.name)

            let tangents = randomTensor(stackedShape(output.shape, count: 2), using: &generator)
            var estimate = terms.gradientOuterProducts(gradients, samples: samples, tangents: tangents, count: 2)
            estimate.scale(by: 1 / Double(samples))
            let exact = terms.hessianProducts(tangents, count: 2)
            assertClose(estimate.elements, exact.elements, rtol: 0.03, "\(problem.name): sampled second moment")
        }
    }
}
