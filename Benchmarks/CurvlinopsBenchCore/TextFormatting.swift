import Foundation

/// `value` with `decimals` digits after the point, right-aligned in `width` characters.
func formatFixed(_ value: Double, width: Int = 0, decimals: Int) -> String {
    String(format: "%\(width).\(decimals)f", value)
}

/// `value` in scientific notation with `digits` significant digits, e.g. `3.14e-05`.
func formatScientific(_ value: Double, digits: Int = 3) -> String {
    String(format: "%.\(max(digits - 1, 0))e", value)
}

/// Formats a plain-text table: a header row, a rule, and the rows, each column
/// padded to its widest entry. Columns listed in `rightAligned` are aligned right.
func formatTable(header: [String], rows: [[String]], rightAligned: Set<Int>) -> String {
    let widths = header.indices.map { column in
        ([header] + rows).map { $0[column].count }.max() ?? 0
    }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { column, cell in
            let padding = String(repeating: " ", count: widths[column] - cell.count)
            return rightAligned.contains(column) ? padding + cell : cell + padding
        }.joined(separator: "  ")
    }
    let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
    return ([line(header), rule] + rows.map(line)).joined(separator: "\n")
}
