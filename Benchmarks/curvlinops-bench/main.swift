// curvlinops-bench: with no arguments, prints the OpenBLAS build in use and
// the gemm rate it reaches through the library's checked wrapper, as a quick
// check that the package links an optimised BLAS.

import CLapack
import Curvlinops
import Foundation

/// The square sizes n at which C = A·B is timed.
let sizes = [1000, 2000]

/// The number of timed runs per size. The best one is reported, because
/// other processes on the machine can only slow a run down.
let runs = 5

/// A seeded SplitMix64 generator: fast, and the same operands on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Returns an n × n matrix of entries drawn uniformly from [-1, 1).
func randomMatrix<Scalar: LapackScalar>(_ n: Int, _: Scalar.Type, using generator: inout SplitMix64) -> Matrix<Scalar> {
    var matrix = Matrix<Scalar>(zeros: n, n)
    matrix.withUnsafeMutableBufferPointer { buffer in
        for index in buffer.indices {
            buffer[index] = Scalar(Double.random(in: -1..<1, using: &generator))
        }
    }
    return matrix
}

/// Times `BLAS.gemm` on n × n operands and returns the best time in seconds.
func bestGemmSeconds<Scalar: LapackScalar>(_ n: Int, _ scalar: Scalar.Type) throws -> Double {
    var generator = SplitMix64(state: UInt64(n))
    let a = randomMatrix(n, scalar, using: &generator)
    let b = randomMatrix(n, scalar, using: &generator)
    var c = Matrix<Scalar>(zeros: n, n)

    // The first call starts OpenBLAS's threads and faults in C's pages.
    try BLAS.gemm(a, b, into: &c)

    let clock = ContinuousClock()
    var best = Double.infinity
    for _ in 0..<runs {
        let elapsed = try clock.measure { try BLAS.gemm(a, b, into: &c) }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        best = min(best, seconds)
    }
    return best
}

/// Prints one table row per size for one precision.
func reportGemm<Scalar: LapackScalar>(_ scalar: Scalar.Type) throws {
    for n in sizes {
        let seconds = try bestGemmSeconds(n, scalar)
        let gflops = 2 * pow(Double(n), 3) / seconds / 1e9
        let row = [
            Scalar.precisionName.padding(toLength: 10, withPad: " ", startingAt: 0),
            String(format: "%5d", n),
            String(format: "%9.4f", seconds),
            String(format: "%8.1f", gflops),
        ]
        print(row.joined(separator: " "))
    }
}

guard CommandLine.arguments.count == 1 else {
    let message = """
        usage: curvlinops-bench
        With no arguments, prints the OpenBLAS configuration and the sgemm and
        dgemm rates at n = \(sizes.map(String.init).joined(separator: " and ")).

        """
    FileHandle.standardError.write(Data(message.utf8))
    exit(2)
}

print("OpenBLAS \(String(cString: openblas_get_config()))")
print("core: \(String(cString: openblas_get_corename())), threads: \(openblas_get_num_threads()), processors: \(openblas_get_num_procs())")
print("")
print("gemm C = A·B on n × n matrices, best of \(runs) runs")
print("precision      n   seconds  GFLOP/s")
try reportGemm(Float.self)
try reportGemm(Double.self)
