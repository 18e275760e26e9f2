import Curvlinops
import Foundation

/// The handwritten-digits data: 8 × 8 grey-level images of the digits 0–9.
///
/// The file the package ships, `digits.csv`, is scikit-learn's copy
/// (`sklearn.datasets.load_digits`) of the UCI "Optical Recognition of
/// Handwritten Digits" data set by E. Alpaydin and C. Kaynak, licensed
/// CC BY 4.0: 1,797 lines, no header, each with the 64 pixel values 0–16
/// (row-major) and then the label.
public struct DigitsDataSet: Sendable {
    /// The number of pixels per image.
    public static let featureCount = 64

    /// The number of classes.
    public static let classCount = 10

    /// The pixel values divided by 16, so in [0, 1]; `count` × 64, row-major.
    public let features: [Double]

    /// The digit of each image, 0–9.
    public let labels: [Int]

    /// The number of images.
    public var count: Int { labels.count }

    /// Parses the CSV text and scales the pixel values by 1/16.
    ///
    /// - Parameter csv: Lines of 65 comma-separated integers: 64 pixel values
    ///   in 0...16, then the label in 0...9. Blank lines are ignored.
    /// - Throws: ``BenchError`` naming the line and column of the first entry
    ///   that is not such an integer, or of a line with another number of
    ///   entries, or when there are no lines.
    public init(csv: String) throws {
        var features: [Double] = []
        var labels: [Int] = []
        let width = Self.featureCount + 1
        for (lineIndex, line) in csv.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let text = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if text.isEmpty { continue }
            let fields = text.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == width else {
                throw BenchError("digits.csv line \(lineIndex + 1): got \(fields.count) entries; expected \(width) (64 pixels and the label).")
            }
            for (column, field) in fields.enumerated() {
                let limit = column < Self.featureCount ? 16 : Self.classCount - 1
                guard let value = Int(field), (0...limit).contains(value) else {
                    throw BenchError("digits.csv line \(lineIndex + 1), column \(column + 1): got \"\(field)\"; expected an integer in 0...\(limit).")
                }
                if column < Self.featureCount {
                    features.append(Double(value) / 16)
                } else {
                    labels.append(value)
                }
            }
        }
        guard !labels.isEmpty else {
            throw BenchError("digits.csv: no data lines; expected 65 comma-separated integers per line.")
        }
        self.features = features
        self.labels = labels
    }

    private init(features: [Double], labels: [Int]) {
        self.features = features
        self.labels = labels
    }

    /// Returns the first `count` images, or all of them when `count` is `nil` or larger.
    public func prefix(_ count: Int?) -> DigitsDataSet {
        let kept = min(count ?? self.count, self.count)
        return DigitsDataSet(features: Array(features[0..<(kept * Self.featureCount)]), labels: Array(labels[0..<kept]))
    }

    /// Cuts the images, in order, into batches of `batchSize` (the last one may be smaller).
    ///
    /// - Parameter batchSize: The images per batch, at least 1.
    /// - Returns: Batches with inputs `[batch, 64]` and class labels for ``CrossEntropyLoss``.
    public func batches<Scalar: LapackScalar>(of batchSize: Int, as _: Scalar.Type = Scalar.self) -> [Batch<Scalar>] {
        precondition(batchSize >= 1, "batch size \(batchSize) below 1")
        return stride(from: 0, to: count, by: batchSize).map { start in
            let end = min(start + batchSize, count)
            let pixels = features[(start * Self.featureCount)..<(end * Self.featureCount)].map { Scalar($0) }
            // The pixel count matches the shape by construction.
            let input = try! Tensor(shape: [end - start, Self.featureCount], elements: pixels)
            return Batch(input: input, classLabels: Array(labels[start..<end]))
        }
    }
}
