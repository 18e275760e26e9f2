/// The validated inputs every curvature operator is built on: a network, a
/// loss, the selected parameters and the data set, with the scaling of the
/// data-set loss.
///
/// The data-set loss is `L = κ·ρ²·Σ_{n,t} l(f_{n,t}, y_{n,t})` over all
/// batches (see ``Loss``), with κ = 1/(N·T) for `.mean` using the total N.
/// The operators' flat vectors concatenate the selected parameters in the
/// order given, each flattened row-major.
struct CurvatureProblem<Scalar: LapackScalar>: Sendable {
    /// The operator's name, for messages.
    let owner: String

    let model: Sequential<Scalar>
    let loss: any DifferentiableLoss

    /// The selected parameter names, in block order.
    let parameterNames: [String]

    /// For each block, the parameter's position in `model.parameterNames`.
    let parameterPositions: [Int]

    /// The shape of each block.
    let parameterShapes: [[Int]]

    /// The offset of each block in the flat vector.
    let blockOffsets: [Int]

    let data: [Batch<Scalar>]

    /// The total number of samples N.
    let numData: Int

    /// The number of loss terms per sample, T.
    let termsPerExample: Int

    /// The entries per loss term, C.
    let classes: Int

    /// κ·ρ², the factor between the sum-form loss and L.
    let lossScale: Scalar

    /// ρ², the per-term factor of MSE and BCE under `.mean` (1/C), else 1.
    let rho2: Scalar

    /// κ, 1/(N·T) under `.mean`, else 1.
    let kappa: Scalar

    /// The number of entries of the largest batch's model output, N_b·T·C.
    let largestOutputCount: Int

    /// Validates everything an operator needs before any work.
    ///
    /// - Throws: ``CurvlinopsError`` naming `owner` and the argument.
    ///   `invalidArgument`: empty data, an empty, unknown or repeated parameter
    ///   name, or a class index out of range. `shapeMismatch`: an input that
    ///   does not fit the network or gives an output with an axis of size 0
    ///   (no loss terms), a target that does not fit the output, or
    ///   batches whose per-sample output shapes differ. `nonFiniteValue`: NaN
    ///   or infinite inputs or targets. `unsupported`: a loss type of your own.
    init(owner: String, model: Sequential<Scalar>, loss: any Loss, parameters: [String], data: [Batch<Scalar>]) throws {
        self.owner = owner
        self.model = model
        self.loss = try loss.differentiable(owner: owner)
        self.data = data

        (parameterPositions, parameterShapes, blockOffsets) = try Self.selectParameters(
            parameters, of: model, owner: owner)
        parameterNames = parameters

        let (layout, largestOutputCount) = try Self.validateData(data, model: model, loss: self.loss, owner: owner)
        self.largestOutputCount = largestOutputCount
        numData = data.reduce(0) { $0 + $1.size }
        termsPerExample = layout.termsPerExample
        classes = layout.classes
        (kappa, rho2) = self.loss.scaling(numberOfSamples: numData, layout: layout)
        lossScale = kappa * rho2
    }

    /// The most stacked activation entries per layer that one block of
    /// columns may take; `applyOverData` splits the columns into blocks below it.
    var maxStackedEntries = 1 << 18

    /// The length P of the flat vector.
    var flatSize: Int { parameterShapes.reduce(0) { $0 + $1.reduce(1, *) } }

    private static func selectParameters(
        _ names: [String], of model: Sequential<Scalar>, owner: String
    ) throws -> ([Int], [[Int]], [Int]) {
        guard !names.isEmpty else {
            throw CurvlinopsError.invalidArgument(
                "\(owner): parameters is empty; expected one or more of the model's parameters \(model.parameterNames).")
        }
        var positions: [Int] = []
        var offsets: [Int] = []
        var offset = 0
        for (index, name) in names.enumerated() {
            guard let position = model.parameterNames.firstIndex(of: name) else {
                throw CurvlinopsError.invalidArgument(
                    "\(owner): parameters[\(index)] = \"\(name)\" is not a parameter of the model; expected one of \(model.parameterNames).")
            }
            if let first = positions.firstIndex(of: position) {
                throw CurvlinopsError.invalidArgument(
                    "\(owner): parameters[\(index)] = \"\(name)\" repeats parameters[\(first)]; expected each parameter at most once.")
            }
            positions.append(position)
            offsets.append(offset)
            offset += model.parameterValues[position].count
        }
        return (positions, positions.map { model.parameterValues[$0].shape }, offsets)
    }

    /// Checks that `samples` output gradients of the largest batch, as Monte-Carlo
    /// sampling keeps them at once, take a number of bytes that `Int` can count.
    ///
    /// - Parameter argument: The argument that sets the count, with its value, for the
    ///   message, e.g. `"samples = 5"`.
    /// - Throws: ``CurvlinopsError/Kind/invalidArgument`` naming the count and the batch's output entries.
    func checkSampledGradientSize(samples: Int, argument: String) throws {
        guard let count = checkedProduct(samples, largestOutputCount), checkedByteCount(count, of: Scalar.self) != nil else {
            throw CurvlinopsError.invalidArgument(
                "\(owner): got \(argument); the \(samples) sampled gradients of the largest batch, each with \(largestOutputCount) output entries, would take \(samples) · \(largestOutputCount) values of \(Scalar.self), more bytes than Int can count. Expected fewer samples.")
        }
    }

    /// Checks every batch and returns the term layout of the first (the
    /// per-sample layout is the same for all) and the largest output's entry count.
    private static func validateData(
        _ data: [Batch<Scalar>], model: Sequential<Scalar>, loss: any DifferentiableLoss, owner: String
    ) throws -> (layout: LossTermLayout, largestOutputCount: Int) {
        guard !data.isEmpty else {
            throw CurvlinopsError.invalidArgument("\(owner): data is empty; expected at least one batch.")
        }
        var firstOutputShape: [Int]?
        var firstLayout: LossTermLayout?
        var largestOutputCount = 0
        for (index, batch) in data.enumerated() {
            let argument = "data[\(index)]"
            if let flat = batch.input.firstNonFiniteIndex {
                throw CurvlinopsError.nonFinite(
                    "\(owner): \(argument).input contains \(batch.input.elements[flat]) at flat index \(flat); expected finite values.")
            }
            let outputShape = try prefixingErrors("\(owner): \(argument).input: ") {
                try model.outputShape(forInput: batch.input.shape)
            }
            let layout = try prefixingErrors("\(owner): \(argument): ") {
                try loss.termLayout(outputShape: outputShape)
            }
            try prefixingErrors("\(owner): ") {
                try loss.validateTarget(batch.target, outputShape: outputShape, argument: "\(argument).target")
            }
            if let firstOutputShape, Array(firstOutputShape.dropFirst()) != Array(outputShape.dropFirst()) {
                throw CurvlinopsError.shapeMismatch(
                    "\(owner): \(argument) gives a model output of shape \(outputShape), but data[0] gives \(firstOutputShape); expected every batch to have the same shape after the batch axis.")
            }
            firstOutputShape = firstOutputShape ?? outputShape
            firstLayout = firstLayout ?? layout
            // Sequential.outputShape has checked that the count fits in Int.
            largestOutputCount = max(largestOutputCount, outputShape.reduce(1, *))
        }
        return (firstLayout!, largestOutputCount)
    }
}

/// Runs `body` and prefixes the message of a ``CurvlinopsError`` it throws.
func prefixingErrors<T>(_ prefix: String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as CurvlinopsError {
        throw CurvlinopsError(error.kind, prefix + error.message)
    }
}
