/// Compact JSON laid out as `LakeJSON`'s pretty encoder lays it out (two spaces per level, one
/// member or element per line, `" : "` after keys, an empty array or object as `[`, an empty line
/// and `]`), without decoding it: the layout only adds whitespace outside strings, so the text
/// can be re-laid byte by byte. `StoredObject` uses it to put a processed file's stored
/// provisions into its `object.json` without decoding and re-encoding every histogram.
public enum PrettyJSON {
    /// Appends `compact` laid out as the value of a member at `depth` (1 for a member of the
    /// top-level object) to `output`. Returns false, with `output` unspecified, when `compact` is
    /// not well-formed enough to lay out (an unterminated string, unbalanced brackets).
    public static func append(_ compact: String, depth: Int, to output: inout [UInt8]) -> Bool {
        var text = compact
        return text.withUTF8 { append($0, depth: depth, to: &output) }
    }

    static func append(_ input: UnsafeBufferPointer<UInt8>, depth startDepth: Int, to output: inout [UInt8]) -> Bool {
        guard !input.isEmpty else { return false }
        // A histogram's numbers are a few digits each, laid out one per line under ten or more
        // spaces: the output is about three times the input, made of runs copied whole.
        output.reserveCapacity(output.count + 3 * input.count)
        var depth = startDepth
        var closers: [UInt8] = []   // what each open container must end with
        var i = 0
        let n = input.count
        while i < n {
            let byte = input[i]
            switch byte {
            case quote:
                // Copied as is up to the closing quote; an escaped quote does not close it.
                let start = i
                i += 1
                while i < n && input[i] != quote { i += input[i] == backslash ? 2 : 1 }
                guard i < n else { return false }
                i += 1
                output.append(contentsOf: UnsafeBufferPointer(rebasing: input[start..<i]))
                continue
            case openBrace, openBracket:
                let close = byte == openBrace ? closeBrace : closeBracket
                var next = i + 1
                while next < n && isSpace(input[next]) { next += 1 }
                output.append(byte)
                if next < n && input[next] == close {
                    output.append(newline)
                    lineBreak(depth, &output)
                    output.append(close)
                    i = next + 1
                    continue
                }
                depth += 1
                closers.append(close)
                lineBreak(depth, &output)
            case closeBrace, closeBracket:
                guard closers.popLast() == byte else { return false }
                depth -= 1
                lineBreak(depth, &output)
                output.append(byte)
            case comma:
                output.append(comma)
                lineBreak(depth, &output)
            case colon:
                output.append(contentsOf: keySeparator)
            case space, newline, tab, carriageReturn:
                break   // compact text has none; any other layout is replaced by this one
            default:
                // A number, true, false or null: up to the next byte that means something else.
                let start = i
                i += 1
                while i < n && !isStructural(input[i]) { i += 1 }
                output.append(contentsOf: UnsafeBufferPointer(rebasing: input[start..<i]))
                continue
            }
            i += 1
        }
        return closers.isEmpty
    }

    /// A newline and the indentation of `depth`, copied from one buffer of spaces.
    private static func lineBreak(_ depth: Int, _ output: inout [UInt8]) {
        let width = 1 + 2 * depth
        if width <= newlineAndSpaces.count {
            newlineAndSpaces.withUnsafeBufferPointer { output.append(contentsOf: UnsafeBufferPointer(rebasing: $0[..<width])) }
        } else {
            output.append(newline)
            output.append(contentsOf: repeatElement(space, count: width - 1))
        }
    }

    private static let newlineAndSpaces: [UInt8] = [newline] + Array(repeating: space, count: 128)
    private static let keySeparator: [UInt8] = Array(" : ".utf8)

    private static func isStructural(_ byte: UInt8) -> Bool {
        switch byte {
        case quote, openBrace, closeBrace, openBracket, closeBracket, comma, colon, space, newline, tab, carriageReturn: return true
        default: return false
        }
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == space || byte == newline || byte == tab || byte == carriageReturn
    }

    private static let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
    private static let openBrace = UInt8(ascii: "{"), closeBrace = UInt8(ascii: "}")
    private static let openBracket = UInt8(ascii: "["), closeBracket = UInt8(ascii: "]")
    private static let comma = UInt8(ascii: ","), colon = UInt8(ascii: ":")
    private static let space = UInt8(ascii: " "), newline = UInt8(ascii: "\n")
    private static let tab = UInt8(ascii: "\t"), carriageReturn = UInt8(ascii: "\r")
}
