import Curvlinops
import Foundation

/// The seeded generator of the benchmark's random inputs: Steele, Lea and
/// Flood's SplitMix64, so that every run times the same problems.
///
/// Its streams are not NumPy's or PyTorch's: the Python reference times
/// problems of the same sizes and distributions, not the same numbers.
public struct BenchRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator whose stream is fixed by `seed`.
    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Draws a sample uniform in the open interval (0, 1), from 53 random bits.
    public mutating func nextOpenUnitInterval() -> Double {
        (Double(next() >> 11) + 0.5) * 0x1.0p-53
    }

    /// Draws a standard normal sample by the Box–Muller transform.
    public mutating func nextStandardNormal() -> Double {
        let radius = (-2 * Foundation.log(nextOpenUnitInterval())).squareRoot()
        return radius * Foundation.cos(2 * Double.pi * nextOpenUnitInterval())
    }

    /// Draws `count` standard normal samples.
    public mutating func standardNormals(_ count: Int) -> [Double] {
        (0..<count).map { _ in nextStandardNormal() }
    }

    /// Draws a rows × columns matrix of standard normal entries, column by column.
    public mutating func gaussianMatrix<Scalar: LapackScalar>(
        _ rows: Int, _ columns: Int, as _: Scalar.Type = Scalar.self
    ) -> Matrix<Scalar> {
        let values = standardNormals(rows * columns).map { Scalar($0) }
        // The count matches rows · columns by construction.
        return try! Matrix(rows: rows, columns: columns, columnMajor: values)
    }
}
