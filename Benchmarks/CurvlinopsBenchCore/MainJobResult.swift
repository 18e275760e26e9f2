/// The main job's findings: the training summary, one table row per method,
/// and the convergence histories when they were recorded.
public struct MainJobResult: Sendable {
    /// The number of images trained and evaluated on.
    public let sampleCount: Int

    /// The width of the network's hidden layer.
    public let hiddenUnits: Int

    /// The number of network parameters P, the size of the linear system.
    public let parameterCount: Int

    /// The training loss before the first and after the last gradient step.
    public let initialLoss: Double
    public let finalLoss: Double

    /// The training accuracy of the trained network, in [0, 1].
    public let accuracy: Double

    /// The damping λ of the system (GGN + λI)·x = g.
    public let damping: Double

    /// The Neumann scale α chosen by power iteration.
    public let neumannScale: Double

    /// One row per method, the dense reference first.
    public let rows: [MainJobRow]

    /// The relative residual against the iteration count of each iterative
    /// method; empty unless the configuration records convergence.
    public let histories: [ConvergenceHistory]

    /// The row of a method by name, or `nil`.
    public func row(_ method: String) -> MainJobRow? {
        rows.first { $0.method == method }
    }
}

/// One method's solution of (GGN + λI)·x = g compared with the dense solution x*.
public struct MainJobRow: Sendable {
    /// The method's name as the table prints it.
    public let method: String

    /// ‖x − x*‖ / ‖x*‖.
    public let relativeError: Double

    /// xᵀx* / (‖x‖·‖x*‖).
    public let cosineSimilarity: Double

    /// The solver's iterations or terms, `nil` for direct methods.
    public let iterations: Int?

    /// The wall time of the method in milliseconds (see ``MainJob`` for what each includes).
    public let milliseconds: Double

    /// The solution x, in the network's parameter order.
    public let solution: [Double]

    /// ‖g − (GGN + λI)·x‖ / ‖g‖, measured with one product by the operator.
    public let relativeResidual: Double
}

/// The relative residual ‖g − A·x_m‖ / ‖g‖ of an iterative method after m
/// iterations, for several m.
public struct ConvergenceHistory: Sendable {
    /// The method's name.
    public let method: String

    /// (m, relative residual) pairs in increasing m, starting at (0, 1).
    public let points: [(iteration: Int, relativeResidual: Double)]
}

extension MainJobResult {
    /// The results table, as printed to standard output.
    public var table: String {
        let header = ["method", "rel. error", "cosine", "iterations", "time (ms)"]
        let cells = rows.map { row in
            [row.method,
             formatScientific(row.relativeError, digits: 2),
             formatFixed(row.cosineSimilarity, decimals: 6),
             row.iterations.map(String.init) ?? "-",
             formatFixed(row.milliseconds, decimals: 1)]
        }
        return formatTable(header: header, rows: cells, rightAligned: [1, 2, 3, 4])
    }

    /// The lines printed above the table: data, network, training result and system.
    public var summary: String {
        """
        digits: \(sampleCount) images, network 64-\(hiddenUnits)-10, P = \(parameterCount) parameters
        training: loss \(formatFixed(initialLoss, decimals: 4)) -> \(formatFixed(finalLoss, decimals: 4)), \
        accuracy \(formatFixed(100 * accuracy, decimals: 1)) % (chance: 10 %)
        system: (GGN + \(damping)·I)·x = g, g the gradient of the training loss; \
        errors against the dense Cholesky solve x*
        """
    }
}
