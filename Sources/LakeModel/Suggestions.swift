/// "Did you mean …": the known names closest to a misspelt one (case-insensitive edit distance,
/// at most a third of the name's length), best first.
public enum Suggestions {
    public static func closest(to text: String, among names: [String], limit: Int = 3) -> [String] {
        // A name is short: a long text is no misspelling, and its table would cost length².
        guard text.unicodeScalars.count <= 64 else { return [] }
        let wanted = Array(text.uppercased().unicodeScalars)
        let allowed = max(1, wanted.count / 3)
        let scored = names.compactMap { name -> (String, Int)? in
            let distance = editDistance(wanted, Array(name.uppercased().unicodeScalars))
            return distance <= allowed ? (name, distance) : nil
        }
        return scored.sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }.prefix(limit).map(\.0)
    }

    /// "; did you mean A or B?", or "" when nothing is close.
    public static func phrase(for text: String, among names: [String]) -> String {
        let found = closest(to: text, among: names)
        guard !found.isEmpty else { return "" }
        return "; did you mean \(found.count == 1 ? found[0] : found.dropLast().joined(separator: ", ") + " or " + found.last!)?"
    }

    /// Edits (insert, delete, replace, swap of neighbours) from `a` to `b`: "lable" is one from
    /// "label".
    static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var table = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}
