/// The settings of the main job; ``standard`` is what `curvlinops-bench`
/// runs without arguments.
public struct MainJobConfiguration: Sendable {
    /// How many digits images to use, from the start of the file; `nil` for all 1,797.
    public var sampleCount: Int?

    /// The width of the hidden layer of `Linear(64 → hidden), Tanh, Linear(hidden → 10)`.
    public var hiddenUnits: Int

    /// The seed of the initial weights.
    public var seed: UInt64

    /// The number of full-batch gradient-descent steps.
    public var trainingSteps: Int

    /// The gradient-descent step size.
    public var learningRate: Double

    /// The images per batch of every pass over the data; the curvature is over all batches.
    public var batchSize: Int

    /// λ in (GGN + λI)·x = g, and the exact damping of the KFAC and EKFAC inverses.
    public var damping: Double

    /// CG's tolerance on the relative residual ‖g − A·x‖ / ‖g‖.
    public var cgTolerance: Double

    /// CG's iteration limit.
    public var cgMaxIterations: Int

    /// LSMR's `atol` and `btol`.
    public var lsmrTolerance: Double

    /// LSMR's iteration limit.
    public var lsmrMaxIterations: Int

    /// The number of Neumann terms K after the first.
    public var neumannTerms: Int

    /// Whether to record the relative residual of CG, LSMR and Neumann
    /// against the iteration count, for the convergence plot. It reruns each
    /// solver truncated at about 45 iteration counts, which costs about eight
    /// times the solves themselves.
    public var recordsConvergence: Bool

    /// Creates a configuration; every default is the one of ``standard``.
    public init(
        sampleCount: Int? = nil, hiddenUnits: Int = 32, seed: UInt64 = 0, trainingSteps: Int = 200,
        learningRate: Double = 0.5, batchSize: Int = 256, damping: Double = 1e-2,
        cgTolerance: Double = 1e-10, cgMaxIterations: Int = 1000,
        lsmrTolerance: Double = 1e-10, lsmrMaxIterations: Int = 1000,
        neumannTerms: Int = 1000, recordsConvergence: Bool = false
    ) {
        self.sampleCount = sampleCount
        self.hiddenUnits = hiddenUnits
        self.seed = seed
        self.trainingSteps = trainingSteps
        self.learningRate = learningRate
        self.batchSize = batchSize
        self.damping = damping
        self.cgTolerance = cgTolerance
        self.cgMaxIterations = cgMaxIterations
        self.lsmrTolerance = lsmrTolerance
        self.lsmrMaxIterations = lsmrMaxIterations
        self.neumannTerms = neumannTerms
        self.recordsConvergence = recordsConvergence
    }

    /// The configuration `curvlinops-bench` runs: all images, 32 hidden units,
    /// 200 steps of size 0.5 from seed 0, batches of 256, λ = 0.01.
    public static let standard = MainJobConfiguration()
}
