/// A feed-forward network that applies its layers in order, as PyTorch's
/// `nn.Sequential`, together with the values of its parameters.
///
/// Parameters are named as PyTorch names them: layer `i` (0-based position in
/// ``layers``, parameter-free layers included) owns `"i.weight"` and `"i.bias"`.
/// ``parameterNames`` lists them in PyTorch's `named_parameters()` order: by
/// layer, weight before bias. Layer layouts are documented on each layer;
/// axis 0 of the input is always the batch axis.
///
/// ```swift
/// let model = try Sequential<Double>(
///     [try Linear(inFeatures: 6, outFeatures: 5), ReLU(), try Linear(inFeatures: 5, outFeatures: 4)],
///     seed: 0)
/// let logits = try model(input)          // input: Tensor<Double> of shape [batch, 6]
/// ```
///
/// `Sequential` is a value: changing a parameter with ``setParameter(named:to:)``
/// changes this copy only, and an operator built from a network keeps the
/// values it was built with.
public struct Sequential<Scalar: LapackScalar>: Sendable {
    /// The layers, applied in order.
    public let layers: [any Layer]

    /// The parameter names, in PyTorch's `named_parameters()` order.
    public let parameterNames: [String]

    /// The parameter values, one per entry of ``parameterNames``.
    public private(set) var parameterValues: [Tensor<Scalar>]

    /// The layers as the library's differentiable layers; the same list as ``layers``.
    let differentiableLayers: [any DifferentiableLayer]

    /// For each layer, the positions of its parameters in ``parameterNames``.
    let parameterRanges: [Range<Int>]

    /// Creates a network from its layers and the values of all parameters.
    ///
    /// - Parameters:
    ///   - layers: At least one layer of the library.
    ///   - parameters: A value for every parameter, keyed by its PyTorch name
    ///     (`"0.weight"`), with the shape the layer documents.
    /// - Throws: ``CurvlinopsError/Kind/invalidArgument`` for no layers, a
    ///   missing or unknown parameter name, or parameters whose size in bytes
    ///   exceeds `Int.max`.
    ///   ``CurvlinopsError/Kind/shapeMismatch`` for a value of the wrong shape.
    ///   ``CurvlinopsError/Kind/nonFiniteValue`` for a value with NaN or
    ///   infinite entries. ``CurvlinopsError/Kind/unsupported`` for a layer
    ///   type of your own.
    public init(_ layers: [any Layer], parameters: [String: Tensor<Scalar>]) throws {
        let (differentiable, names, shapes, ranges) = try Self.describe(layers)
        for name in parameters.keys.sorted() where !names.contains(name) {
            throw CurvlinopsError.invalidArgument(
                "Sequential: parameters contains \"\(name)\", which is not a parameter of the layers; expected names among \(names).")
        }
        var values: [Tensor<Scalar>] = []
        for (name, shape) in zip(names, shapes) {
            guard let value = parameters[name] else {
                throw CurvlinopsError.invalidArgument(
                    "Sequential: parameters has no value for \"\(name)\"; expected a tensor of shape \(shape).")
            }
            try Self.validate(value, name: name, shape: shape)
            values.append(value)
        }
        self.layers = layers
        self.differentiableLayers = differentiable
        self.parameterNames = names
        self.parameterRanges = ranges
        self.parameterValues = values
    }

    /// Creates a network with PyTorch's default initialisation, drawn from a
    /// seeded generator.
    ///
    /// Each layer documents its distribution (uniform in ±1/√fan-in for
    /// ``Linear`` and ``Conv2d``). The values are reproducible for a seed but
    /// are not the values PyTorch draws for the same seed.
    ///
    /// - Parameters:
    ///   - layers: At least one layer of the library.
    ///   - seed: The seed of the generator the values are drawn from.
    /// - Throws: ``CurvlinopsError/Kind/invalidArgument`` for no layers, or
    ///   parameters whose size in bytes exceeds `Int.max`;
    ///   ``CurvlinopsError/Kind/unsupported`` for a layer type of your own.
    ///   Parameters that fit in `Int` but not in the machine's memory end the
    ///   process when they are allocated, as an `Array` of that size would.
    /// - Complexity: One draw per parameter entry.
    public init(_ layers: [any Layer], seed: UInt64) throws {
        let (differentiable, names, _, ranges) = try Self.describe(layers)
        var generator = SeededGenerator(seed: seed)
        var values: [Tensor<Scalar>] = []
        for layer in differentiable {
            values += layer.initialParameters(using: &generator) as [Tensor<Scalar>]
        }
        self.layers = layers
        self.differentiableLayers = differentiable
        self.parameterNames = names
        self.parameterRanges = ranges
        self.parameterValues = values
    }

    /// The parameters as (name, value) pairs, in ``parameterNames`` order.
    public var namedParameters: [(name: String, value: Tensor<Scalar>)] {
        Array(zip(parameterNames, parameterValues))
    }

    /// The shape of each parameter, in ``parameterNames`` order.
    public var parameterShapes: [[Int]] { parameterValues.map(\.shape) }

    /// The total number of parameter entries.
    public var parameterCount: Int { parameterValues.reduce(0) { $0 + $1.count } }

    /// Returns the value of one parameter.
    ///
    /// - Parameter name: A PyTorch parameter name such as `"0.weight"`.
    /// - Throws: ``CurvlinopsError/Kind/invalidArgument`` for an unknown name.
    public func parameter(named name: String) throws -> Tensor<Scalar> {
        parameterValues[try parameterIndex(of: name, owner: "Sequential.parameter(named:)")]
    }

    /// Replaces the value of one parameter.
    ///
    /// - Parameters:
    ///   - name: A PyTorch parameter name such as `"0.weight"`.
    ///   - value: The new value, of the parameter's shape, with finite entries.
    /// - Throws: ``CurvlinopsError/Kind/invalidArgument`` for an unknown name,
    ///   ``CurvlinopsError/Kind/shapeMismatch`` for another shape,
    ///   ``CurvlinopsError/Kind/nonFiniteValue`` for NaN or infinite entries.
    public mutating func setParameter(named name: String, to value: Tensor<Scalar>) throws {
        let index = try parameterIndex(of: name, owner: "Sequential.setParameter(named:to:)")
        try Self.validate(value, name: name, shape: parameterValues[index].shape)
        parameterValues[index] = value
    }

    /// Computes the shape of the output for an input of the given shape.
    ///
    /// - Parameter inputShape: The input's shape, batch axis first.
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when some layer cannot
    ///   take the shape it receives, the message naming the layer and both
    ///   shapes, or when a layer's output would have more entries than `Int` can count.
    public func outputShape(forInput inputShape: [Int]) throws -> [Int] {
        guard let batch = inputShape.first, batch >= 1 else {
            throw CurvlinopsError.shapeMismatch(
                "Sequential: got an input of shape \(inputShape); expected a batch axis of size at least 1 first.")
        }
        var shape = inputShape
        for (index, layer) in layers.enumerated() {
            do {
                shape = try layer.outputShape(forInput: shape)
            } catch let error as CurvlinopsError {
                throw CurvlinopsError(error.kind, "Sequential: layer \(index): \(error.message)")
            }
            guard checkedElementCount(shape) != nil else {
                throw CurvlinopsError.shapeMismatch(
                    "Sequential: layer \(index) (\(layer)) gives an output of shape \(shape) for the input \(inputShape), which has more entries than Int can count; expected a smaller input.")
            }
        }
        return shape
    }

    /// Computes the network's output for a batch of inputs.
    ///
    /// - Parameter input: A tensor whose shape fits the first layer, batch axis first.
    /// - Returns: The output of the last layer.
    /// - Throws: ``CurvlinopsError/Kind/shapeMismatch`` when the input does not
    ///   fit (see ``outputShape(forInput:)``); ``CurvlinopsError/Kind/nonFiniteValue``
    ///   when it contains NaN or infinite entries.
    /// - Complexity: One gemm per ``Linear`` and ``Conv2d`` layer.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func callAsFunction(_ input: Tensor<Scalar>) throws -> Tensor<Scalar> {
        if let index = input.firstNonFiniteIndex {
            throw CurvlinopsError.nonFinite(
                "Sequential: the input contains \(input.elements[index]) at flat index \(index); expected finite values.")
        }
        return try forwardPass(input).output
    }

    /// Returns the position of a parameter in ``parameterNames``, or throws `invalidArgument` naming `owner`.
    func parameterIndex(of name: String, owner: String) throws -> Int {
        guard let index = parameterNames.firstIndex(of: name) else {
            throw CurvlinopsError.invalidArgument(
                "\(owner): \"\(name)\" is not a parameter of the model; expected one of \(parameterNames).")
        }
        return index
    }

    /// Returns the values of the parameters of layer `index`, in the layer's order.
    func parameters(ofLayer index: Int) -> [Tensor<Scalar>] {
        Array(parameterValues[parameterRanges[index]])
    }

    private static func describe(
        _ layers: [any Layer]
    ) throws -> ([any DifferentiableLayer], [String], [[Int]], [Range<Int>]) {
        guard !layers.isEmpty else {
            throw CurvlinopsError.invalidArgument("Sequential: got no layers; expected at least one.")
        }
        var differentiable: [any DifferentiableLayer] = []
        var names: [String] = []
        var shapes: [[Int]] = []
        var ranges: [Range<Int>] = []
        for (index, layer) in layers.enumerated() {
            guard let known = layer as? any DifferentiableLayer else {
                throw CurvlinopsError(.unsupported,
                    "Sequential: layer \(index) (\(layer)) is not one of the library's layers (Linear, Conv2d, ReLU, Sigmoid, Tanh, Flatten, Rearrange); the library cannot differentiate it.")
            }
            differentiable.append(known)
            let start = names.count
            for (name, shape) in layer.parameterShapes {
                names.append("\(index).\(name)")
                shapes.append(shape)
            }
            ranges.append(start..<names.count)
        }
        try checkParameterBytes(names: names, shapes: shapes)
        return (differentiable, names, shapes, ranges)
    }

    /// Checks that every parameter, and all of them together, has a size in bytes
    /// that `Int` can count, so that allocating the values cannot overflow.
    private static func checkParameterBytes(names: [String], shapes: [[Int]]) throws {
        var total = 0
        for (name, shape) in zip(names, shapes) {
            guard let count = checkedElementCount(shape), let bytes = checkedByteCount(count, of: Scalar.self) else {
                throw CurvlinopsError.invalidArgument(
                    "Sequential: parameter \"\(name)\" of shape \(shape) takes more bytes of \(Scalar.self) than Int can count; expected a smaller layer.")
            }
            guard let sum = checkedSum(total, bytes) else {
                throw CurvlinopsError.invalidArgument(
                    "Sequential: the parameters up to \"\(name)\" take more bytes of \(Scalar.self) than Int can count; expected smaller layers.")
            }
            total = sum
        }
    }

    private static func validate(_ value: Tensor<Scalar>, name: String, shape: [Int]) throws {
        guard value.shape == shape else {
            throw CurvlinopsError.shapeMismatch(
                "Sequential: parameter \"\(name)\" got a value of shape \(value.shape); expected \(shape).")
        }
        if let index = value.firstNonFiniteIndex {
            throw CurvlinopsError.nonFinite(
                "Sequential: parameter \"\(name)\" contains \(value.elements[index]) at flat index \(index); expected finite values.")
        }
    }
}

extension Sequential: CustomStringConvertible {
    /// The layers one per line with their positions, as PyTorch prints an `nn.Sequential`.
    public var description: String {
        let lines = layers.enumerated().map { "  (\($0.offset)): \($0.element)" }
        return "Sequential<\(Scalar.self)>(\n" + lines.joined(separator: "\n") + "\n)"
    }
}
