/// One named, timed piece of work in one precision.
///
/// The names are shared with the Python reference's benchmark, which times
/// the same work under the same names, so results can be joined on
/// (`workload`, `dtype`).
public struct Workload {
    /// The workload's name, such as `cg-dense-1000x4-100it`.
    public let name: String

    /// The precision: `float32` or `float64`.
    public let dtype: String

    /// The number of timed runs unless `--runs` overrides it.
    public let defaultRuns: Int

    /// Builds the untimed inputs and returns the work to time.
    let prepare: () throws -> TimedWork

    init(name: String, dtype: String, defaultRuns: Int = 5, prepare: @escaping () throws -> TimedWork) {
        self.name = name
        self.dtype = dtype
        self.defaultRuns = defaultRuns
        self.prepare = prepare
    }
}

/// The timed part of a workload.
struct TimedWork {
    /// One run of the work. It throws when the work fails or does not do
    /// what the workload's name promises (for example fewer iterations).
    let run: () throws -> Void

    /// The floating-point operations of one run by the model in ``flopModel``,
    /// for the GFLOP/s column; `nil` when the workload reports none.
    let flops: Double?

    /// The counting rule behind ``flops``, printed under the table.
    let flopModel: String?

    init(flops: Double? = nil, flopModel: String? = nil, run: @escaping () throws -> Void) {
        self.run = run
        self.flops = flops
        self.flopModel = flopModel
    }
}

/// The timings of one workload.
public struct WorkloadMeasurement: Sendable {
    /// The workload's name.
    public let name: String

    /// The precision: `float32` or `float64`.
    public let dtype: String

    /// The wall time of each timed run in seconds, in run order (the warm-up run excluded).
    public let seconds: [Double]

    /// The floating-point operations of one run, if the workload counts them.
    public let flops: Double?

    /// The number of timed runs.
    public var runs: Int { seconds.count }

    /// The minimum time of a run.
    public var minimum: Double { seconds.min() ?? .nan }

    /// The maximum time of a run.
    public var maximum: Double { seconds.max() ?? .nan }

    /// The median run: the middle one, or the mean of the middle two for an even count.
    public var median: Double {
        let sorted = seconds.sorted()
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// The achieved rate at the median time, in GFLOP/s, if the workload counts flops.
    public var gigaflopsPerSecond: Double? {
        flops.map { $0 / median / 1e9 }
    }

    /// The measurement as one line of JSON with the keys `workload`, `dtype`,
    /// `median_s`, `min_s`, `max_s` and `runs`, in that order.
    public var jsonLine: String {
        "{\"workload\": \"\(name)\", \"dtype\": \"\(dtype)\", \"median_s\": \(median), "
            + "\"min_s\": \(minimum), \"max_s\": \(maximum), \"runs\": \(runs)}"
    }
}
