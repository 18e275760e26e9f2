import Curvlinops

/// The main job's network and its training by full-batch gradient descent.
public enum DigitsTraining {
    /// Creates the network `Sequential(Linear(64 → hidden), Tanh, Linear(hidden → 10))`
    /// with the library's seeded default initialisation.
    ///
    /// - Parameters:
    ///   - hiddenUnits: The width of the hidden layer, at least 1.
    ///   - seed: The seed of the initial weights.
    /// - Throws: ``CurvlinopsError`` for a width below 1.
    public static func makeModel(hiddenUnits: Int, seed: UInt64) throws -> Sequential<Double> {
        try Sequential<Double>(
            [try Linear(inFeatures: DigitsDataSet.featureCount, outFeatures: hiddenUnits),
             Tanh(),
             try Linear(inFeatures: hiddenUnits, outFeatures: DigitsDataSet.classCount)],
            seed: seed)
    }

    /// The loss of the main job: cross-entropy averaged over the data set.
    public static let loss = CrossEntropyLoss(reduction: .mean)

    /// Computes the gradient of the data-set loss with respect to every parameter, and the loss.
    ///
    /// - Returns: The gradient as a flat vector in `model.parameterNames`
    ///   order (each parameter flattened row-major), and the loss.
    /// - Throws: ``CurvlinopsError`` for data that do not fit the model.
    public static func gradientAndLoss(
        of model: Sequential<Double>, on data: [Batch<Double>]
    ) throws -> (gradient: [Double], loss: Double) {
        try GGNLinearOperator(model: model, loss: loss, parameters: model.parameterNames, data: data)
            .gradientAndLoss()
    }

    /// Runs `steps` steps of full-batch gradient descent, θ ← θ − lr·∇L(θ).
    ///
    /// - Parameters:
    ///   - model: The network to train; a trained copy is returned.
    ///   - data: All batches; every step uses the gradient over all of them.
    ///   - steps: The number of steps, at least 0.
    ///   - learningRate: The step size lr.
    /// - Returns: The trained network and the loss before the first and after the last step.
    /// - Throws: ``CurvlinopsError`` for data that do not fit the model, or
    ///   when a step makes a parameter non-finite (a learning rate too large).
    public static func train(
        _ model: Sequential<Double>, on data: [Batch<Double>], steps: Int, learningRate: Double
    ) throws -> (model: Sequential<Double>, initialLoss: Double, finalLoss: Double) {
        var model = model
        var (gradient, initialLoss) = try gradientAndLoss(of: model, on: data)
        var finalLoss = initialLoss
        for _ in 0..<steps {
            var offset = 0
            for (name, value) in model.namedParameters {
                var updated = value.elements
                for i in updated.indices {
                    updated[i] -= learningRate * gradient[offset + i]
                }
                offset += value.count
                try model.setParameter(named: name, to: try Tensor(shape: value.shape, elements: updated))
            }
            (gradient, finalLoss) = try gradientAndLoss(of: model, on: data)
        }
        return (model, initialLoss, finalLoss)
    }

    /// Computes the fraction of samples whose largest logit is at the true class.
    ///
    /// - Throws: ``CurvlinopsError`` for data that do not fit the model.
    public static func accuracy(of model: Sequential<Double>, on data: [Batch<Double>]) throws -> Double {
        var correct = 0
        var total = 0
        for batch in data {
            let logits = try model(batch.input)
            let classes = logits.shape[1]
            for sample in 0..<batch.size {
                let row = logits.elements[(sample * classes)..<((sample + 1) * classes)]
                let predicted = row.indices.max { row[$0] < row[$1] }! - sample * classes
                if predicted == Int(batch.target.elements[sample]) {
                    correct += 1
                }
            }
            total += batch.size
        }
        return Double(correct) / Double(max(total, 1))
    }
}
