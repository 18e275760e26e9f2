import Foundation

/// A deterministic random number generator (the SplitMix64 algorithm), so
/// that initialisation and Monte-Carlo sampling repeat exactly for a given
/// seed on every platform.
///
/// Its streams are not PyTorch's: a network initialised with the same seed
/// in PyTorch has other values.
struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator whose stream is fixed by `seed`.
    init(seed: UInt64) {
        state = seed
    }

    /// Creates a generator for one of several separate streams of one seed,
    /// for example one stream per mini-batch.
    init(seed: UInt64, stream: UInt64) {
        // An odd multiplier spreads consecutive stream numbers over all 64 bits
        // before SplitMix64's own mixing.
        var mixer = SeededGenerator(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        state = mixer.next()
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Draws a uniform sample from the open interval (0, 1), in double precision.
    mutating func nextOpenUnitInterval() -> Double {
        // 53 random bits, shifted by half a step so that neither 0 nor 1 occurs.
        (Double(next() >> 11) + 0.5) / 9_007_199_254_740_992.0
    }

    /// Draws a standard normal sample by the Box–Muller transform.
    mutating func nextStandardNormal() -> Double {
        let radius = (-2 * Foundation.log(nextOpenUnitInterval())).squareRoot()
        return radius * Foundation.cos(2 * Double.pi * nextOpenUnitInterval())
    }
}
