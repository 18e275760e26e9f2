import Foundation

/// A self-contained SVG line plot of relative residuals against the
/// iteration count, with a logarithmic residual axis; one line per method.
///
/// The file needs no fonts, scripts or style sheets beyond the SVG itself.
public struct ConvergencePlot {
    /// The lines to draw.
    public let histories: [ConvergenceHistory]

    /// The plot's title.
    public let title: String

    private let width = 760.0
    private let height = 460.0
    private let margin = (left: 78.0, right: 150.0, top: 44.0, bottom: 56.0)
    private let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]

    /// The smallest residual drawn; smaller ones (an exact 0) sit on the bottom edge.
    private let floor = 1e-17

    /// Creates a plot of `histories`.
    public init(histories: [ConvergenceHistory], title: String) {
        self.histories = histories
        self.title = title
    }

    /// The SVG document.
    public var svg: String {
        let maxIteration = max(1, histories.flatMap { $0.points.map(\.iteration) }.max() ?? 1)
        let residuals = histories.flatMap { $0.points.map { max($0.relativeResidual, floor) } }
        let lowDecade = Int((log10(residuals.min() ?? 1e-3)).rounded(.down))
        let highDecade = max(Int((log10(residuals.max() ?? 1)).rounded(.up)), lowDecade + 1)
        let plotWidth = width - margin.left - margin.right
        let plotHeight = height - margin.top - margin.bottom

        func x(_ iteration: Int) -> Double {
            margin.left + plotWidth * Double(iteration) / Double(maxIteration)
        }
        func y(_ residual: Double) -> Double {
            let position = (log10(max(residual, floor)) - Double(lowDecade)) / Double(highDecade - lowDecade)
            return margin.top + plotHeight * (1 - position)
        }

        var parts: [String] = []
        parts.append("""
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <title>\(escaped(title))</title>
            <rect x="0" y="0" width="\(Int(width))" height="\(Int(height))" fill="white"/>
            <text x="\(number(margin.left + plotWidth / 2))" y="24" text-anchor="middle" font-size="14">\(escaped(title))</text>
            """)

        // Grid and residual axis: one line per decade.
        for decade in lowDecade...highDecade {
            let position = y(pow(10, Double(decade)))
            parts.append("""
                <line x1="\(number(margin.left))" y1="\(number(position))" x2="\(number(margin.left + plotWidth))" \
                y2="\(number(position))" stroke="#dddddd"/>
                <text x="\(number(margin.left - 6))" y="\(number(position + 4))" text-anchor="end">1e\(decade)</text>
                """)
        }

        // Iteration axis.
        for tick in Self.ticks(upTo: maxIteration) {
            let position = x(tick)
            parts.append("""
                <line x1="\(number(position))" y1="\(number(margin.top + plotHeight))" x2="\(number(position))" \
                y2="\(number(margin.top + plotHeight + 5))" stroke="black"/>
                <text x="\(number(position))" y="\(number(margin.top + plotHeight + 19))" text-anchor="middle">\(tick)</text>
                """)
        }
        parts.append("""
            <rect x="\(number(margin.left))" y="\(number(margin.top))" width="\(number(plotWidth))" \
            height="\(number(plotHeight))" fill="none" stroke="black"/>
            <text x="\(number(margin.left + plotWidth / 2))" y="\(number(height - 14))" text-anchor="middle">iteration (CG, LSMR) or term (Neumann)</text>
            <text x="18" y="\(number(margin.top + plotHeight / 2))" text-anchor="middle" \
            transform="rotate(-90 18 \(number(margin.top + plotHeight / 2)))">relative residual ‖g − A·x‖ / ‖g‖</text>
            """)

        // One line and one legend entry per method.
        for (index, history) in histories.enumerated() {
            let color = colors[index % colors.count]
            let coordinates = history.points.map { "\(number(x($0.iteration))),\(number(y($0.relativeResidual)))" }
            parts.append("""
                <polyline fill="none" stroke="\(color)" stroke-width="2" points="\(coordinates.joined(separator: " "))"/>
                """)
            let legendY = margin.top + 14 + 20 * Double(index)
            let legendX = margin.left + plotWidth + 14
            parts.append("""
                <line x1="\(number(legendX))" y1="\(number(legendY - 4))" x2="\(number(legendX + 22))" \
                y2="\(number(legendY - 4))" stroke="\(color)" stroke-width="2"/>
                <text x="\(number(legendX + 28))" y="\(number(legendY))">\(escaped(history.method))</text>
                """)
        }
        parts.append("</svg>\n")
        return parts.joined(separator: "\n")
    }

    /// Writes the SVG document to `path`.
    ///
    /// - Throws: ``BenchError`` naming the path when the file cannot be written.
    public func write(to path: String) throws {
        do {
            // Not atomic: an atomic write replaces a symlink or device file at
            // the path by a regular file.
            try svg.write(toFile: path, atomically: false, encoding: .utf8)
        } catch {
            throw BenchError("--plot \(path): could not write the file: \(error.localizedDescription)")
        }
    }

    /// Round tick values 0, s, 2s, … ≤ `last`, with s = 1, 2 or 5 times a power of 10, about 5 to 10 ticks.
    static func ticks(upTo last: Int) -> [Int] {
        let rough = max(1, Double(last) / 8)
        let power = pow(10, (log10(rough)).rounded(.down))
        let step = [1.0, 2.0, 5.0, 10.0].map { $0 * power }.first { $0 >= rough } ?? 10 * power
        let stepSize = max(1, Int(step))
        return Array(stride(from: 0, through: last, by: stepSize))
    }

    private func number(_ value: Double) -> String {
        String(format: "%.1f", value)
    }

    private func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;")
            .replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
