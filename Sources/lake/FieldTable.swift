import LakeModel

/// The fields of an object as a table, each with a small text histogram of its magnitude.
enum FieldTable {
    static let header = ["LABEL", "ASSOC", "COMP", "TUPLES", "MIN", "MAX", "MEAN", "STDEV", "QUANTITY", "MAGNITUDE HISTOGRAM"]

    static func render(_ fields: [Field]) -> [String] {
        var rows = [header]
        for field in fields {
            let s = field.magnitudeStats
            let quantity = field.quantityType.map { q in field.units.map { "\(q) [\($0)]" } ?? q } ?? "-"
            var label = field.label
            if field.hasNan { label += " (NaN)" }
            rows.append([label, field.elementAssoc.rawValue, String(field.numComponents), String(field.numTuples),
                         number(s.min), number(s.max), number(s.mean), number(s.stdev), quantity, sparkline(s.hist128)])
            if field.numComponents > 1 {
                for component in field.componentStats {
                    let c = component.stats
                    rows.append(["  ." + component.name, "", "", "", number(c.min), number(c.max), number(c.mean), number(c.stdev), "", ""])
                }
            }
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ")
        }
    }

    static func number(_ value: Double?) -> String {
        guard let value else { return "null" }
        if value == value.rounded() && abs(value) < 1e12 { return String(Int64(value)) }
        let magnitude = abs(value)
        if magnitude >= 1e-3 && magnitude < 1e6 {
            var text = String(value)
            if text.count > 10 { text = String(format6(value)) }
            return text
        }
        return format6(value)
    }

    static func format6(_ value: Double) -> String {
        // Six significant digits without Foundation's formatter.
        let exponent = Int((log10(abs(value))).rounded(.down))
        if exponent >= -3 && exponent < 6 {
            let scale = pow10(5 - exponent)
            return String((value * scale).rounded() / scale)
        }
        let mantissa = value / pow10(exponent)
        return String((mantissa * 1e5).rounded() / 1e5) + "e" + String(exponent)
    }

    static func pow10(_ n: Int) -> Double {
        var result = 1.0
        for _ in 0..<abs(n) { result *= 10 }
        return n >= 0 ? result : 1 / result
    }

    static func log10(_ x: Double) -> Double {
        var exponent = 0.0
        var v = x
        while v >= 10 { v /= 10; exponent += 1 }
        while v < 1 && v > 0 { v *= 10; exponent -= 1 }
        return exponent
    }

    /// 128 bins folded into 16 characters from ▁ to █ (space for an empty group).
    static func sparkline(_ hist: [Int64]) -> String {
        guard hist.count == 128 else { return "" }
        let groups = stride(from: 0, to: 128, by: 8).map { hist[$0..<($0 + 8)].reduce(0, +) }
        let peak = groups.max() ?? 0
        guard peak > 0 else { return "(empty)" }
        let levels = Array("▁▂▃▄▅▆▇█")
        return String(groups.map { count -> Character in
            count == 0 ? " " : levels[min(7, Int(Double(count) / Double(peak) * 7.999))]
        })
    }
}
