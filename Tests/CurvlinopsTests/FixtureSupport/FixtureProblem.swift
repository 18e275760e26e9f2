import Foundation
@testable import Curvlinops

/// A network problem of the fixture format (the `problem` object of the
/// fixtures' README, section 2), decoded into the library's types.
///
/// Every layer type, loss and setting is read from the object. A layer or
/// loss the library does not know is a `FixtureError`, so the case fails.
struct FixtureProblem<Scalar: LapackScalar> {
    /// The problem's `name`.
    let name: String

    /// The network with the fixture's parameter values.
    let model: Sequential<Scalar>

    /// The loss with its reduction.
    let loss: any Loss

    /// The mini-batches, in order.
    let data: [Batch<Scalar>]

    /// `num_data`, the total number of samples.
    let numData: Int

    /// The parameter names in the order the fixture lists them.
    let parameterNames: [String]

    /// Decodes `value`, the `problem` object found under `key`.
    init(_ value: Any?, _ key: String) throws {
        let object = try fixtureObject(value, key)
        name = try fixtureString(object["name"], "\(key).name")

        let modelObject = try fixtureObject(object["model"], "\(key).model")
        let layerObjects = try fixtureArray(modelObject["layers"], "\(key).model.layers")
        let layers = try layerObjects.enumerated().map { index, layer in
            try Self.layer(layer, "\(key).model.layers[\(index)]")
        }

        var values: [String: Tensor<Scalar>] = [:]
        var names: [String] = []
        for (index, entry) in try fixtureArray(object["parameters"], "\(key).parameters").enumerated() {
            let parameter = try fixtureObject(entry, "\(key).parameters[\(index)]")
            let parameterName = try fixtureString(parameter["name"], "\(key).parameters[\(index)].name")
            values[parameterName] = try FixtureTensor(parameter, "\(key).parameters[\(index)]").tensor(Scalar.self)
            names.append(parameterName)
        }
        model = try Sequential(layers, parameters: values)
        parameterNames = names

        let lossObject = try fixtureObject(object["loss"], "\(key).loss")
        loss = try Self.loss(lossObject, "\(key).loss")

        data = try fixtureArray(object["data"], "\(key).data").enumerated().map { index, entry in
            let batch = try fixtureObject(entry, "\(key).data[\(index)]")
            return Batch(input: try FixtureTensor(batch["X"], "\(key).data[\(index)].X").tensor(Scalar.self),
                         target: try FixtureTensor(batch["y"], "\(key).data[\(index)].y").tensor(Scalar.self))
        }
        numData = try fixtureInt(object["num_data"], "\(key).num_data")
    }

    private static func layer(_ value: Any, _ key: String) throws -> any Layer {
        let object = try fixtureObject(value, key)
        let type = try fixtureString(object["type"], "\(key).type")
        switch type {
        case "Linear":
            return try Linear(inFeatures: try fixtureInt(object["in"], "\(key).in"),
                              outFeatures: try fixtureInt(object["out"], "\(key).out"),
                              bias: try fixtureBool(object["bias"], "\(key).bias"))
        case "Conv2d":
            return try Conv2d(
                inChannels: try fixtureInt(object["in_channels"], "\(key).in_channels"),
                outChannels: try fixtureInt(object["out_channels"], "\(key).out_channels"),
                kernelSize: try pair(object["kernel_size"], "\(key).kernel_size"),
                stride: try pair(object["stride"], "\(key).stride"),
                padding: try pair(object["padding"], "\(key).padding"),
                dilation: try pair(object["dilation"], "\(key).dilation"),
                groups: try fixtureInt(object["groups"], "\(key).groups"),
                bias: try fixtureBool(object["bias"], "\(key).bias"))
        case "ReLU":
            return ReLU()
        case "Sigmoid":
            return Sigmoid()
        case "Tanh":
            return Tanh()
        case "Flatten":
            return try Flatten(startDimension: try fixtureInt(object["start_dim"], "\(key).start_dim"),
                               endDimension: try fixtureInt(object["end_dim"], "\(key).end_dim"))
        case "Rearrange":
            let permutation = try fixtureArray(object["permutation"], "\(key).permutation")
                .map { try fixtureInt($0, "\(key).permutation") }
            guard permutation == [0, 2, 1] else {
                throw FixtureError("`\(key)`: Rearrange with permutation \(permutation); the library's Rearrange is [0, 2, 1] on 3-D tensors")
            }
            return Rearrange()
        default:
            throw FixtureError("`\(key)`: unknown layer type \(type)")
        }
    }

    private static func loss(_ object: [String: Any], _ key: String) throws -> any Loss {
        let reductionName = try fixtureString(object["reduction"], "\(key).reduction")
        guard let reduction = LossReduction(rawValue: reductionName) else {
            throw FixtureError("`\(key).reduction`: unknown reduction \(reductionName)")
        }
        let type = try fixtureString(object["type"], "\(key).type")
        switch type {
        case "CrossEntropyLoss": return CrossEntropyLoss(reduction: reduction)
        case "MSELoss": return MSELoss(reduction: reduction)
        case "BCEWithLogitsLoss": return BCEWithLogitsLoss(reduction: reduction)
        default: throw FixtureError("`\(key).type`: unknown loss \(type)")
        }
    }

    private static func pair(_ value: Any?, _ key: String) throws -> (Int, Int) {
        let entries = try fixtureArray(value, key).map { try fixtureInt($0, key) }
        guard entries.count == 2 else {
            throw FixtureError("`\(key)` has \(entries.count) entries; expected 2")
        }
        return (entries[0], entries[1])
    }
}

/// Reads a JSON string.
func fixtureString(_ value: Any?, _ key: String) throws -> String {
    guard let text = value as? String else {
        throw FixtureError("`\(key)` is not a string: \(String(describing: value))")
    }
    return text
}

