import LakeModel
import LakeSystem

/// `solid … facet normal n n n / outer loop / vertex x y z ×3 / endloop / endfacet … endsolid`.
struct ASCIISTLParser {
    var tokens: TokenReader

    init(file: ReadableFile, budget: ProcessingBudget) {
        tokens = TokenReader(file: file, budget: budget)
    }

    mutating func expect(_ keyword: String, context: String) throws {
        guard let token = try tokens.next() else {
            throw FormatError("ASCII STL ends early at line \(tokens.line): expected '\(keyword)' \(context) (truncated file?)")
        }
        guard token.elementsEqual(keyword.utf8) else {
            throw FormatError("ASCII STL line \(tokens.line): expected '\(keyword)' \(context), found '\(String(decoding: token.prefix(40), as: UTF8.self))'")
        }
    }

    mutating func coordinates(_ what: String) throws -> [Double] {
        var values: [Double] = []
        for axis in ["x", "y", "z"] {
            guard let token = try tokens.next() else {
                throw FormatError("ASCII STL ends early at line \(tokens.line) inside a \(what) (truncated file?)")
            }
            let value = try TokenReader.number(token, line: tokens.line, what: "the \(axis) of a \(what)")
            guard value.isFinite else {
                throw FormatError("ASCII STL line \(tokens.line): the \(axis) of a \(what) is not a finite number")
            }
            values.append(value)
        }
        return values
    }

    mutating func parse(units: String?) throws -> Geometry {
        try expect("solid", context: "at the start of an ASCII STL file")
        _ = try tokens.restOfLine()
        var bounds = BoundsAccumulator()
        var triangles: Int64 = 0
        var solids = 1
        while true {
            guard let token = try tokens.next() else {
                throw FormatError("ASCII STL ends at line \(tokens.line) without 'endsolid' (truncated file?)")
            }
            if token.elementsEqual("facet".utf8) {
                try expect("normal", context: "after 'facet'")
                _ = try coordinates("facet normal")
                try expect("outer", context: "after a facet normal")
                try expect("loop", context: "after 'outer'")
                for _ in 0..<3 {
                    try expect("vertex", context: "in a facet loop (a facet has exactly 3 vertices)")
                    bounds.add(try coordinates("vertex"))
                }
                try expect("endloop", context: "after 3 vertices")
                try expect("endfacet", context: "after 'endloop'")
                triangles += 1
            } else if token.elementsEqual("endsolid".utf8) {
                _ = try tokens.restOfLine()
                // Some writers put several solids in one file.
                guard let following = try tokens.next() else { break }
                guard following.elementsEqual("solid".utf8) else {
                    throw FormatError("ASCII STL line \(tokens.line): unexpected '\(String(decoding: following.prefix(40), as: UTF8.self))' after 'endsolid'")
                }
                _ = try tokens.restOfLine()
                solids += 1
            } else {
                throw FormatError("ASCII STL line \(tokens.line): expected 'facet' or 'endsolid', found '\(String(decoding: token.prefix(40), as: UTF8.self))'")
            }
        }
        return Geometry(units: units, triangleCount: triangles, bounds: bounds.bounds)
    }
}
