import LakeSystem
import Testing
@testable import LakeCore

/// Arguments whose bytes are not UTF-8: found again among the process's own, and passed to a
/// session's child only where they decode, byte for byte, to what the daemon checked.
@Suite struct ArgumentBytesTests {
    let latin1: [UInt8] = Array("r".utf8) + [0xE9] + Array("sultat.vtu".utf8)

    @Test func theArgumentsBytesAreFoundWhenOnlyOneMatches() {
        let decoded = String(decoding: latin1, as: UTF8.self)
        #expect(decoded == "r\u{FFFD}sultat.vtu")
        #expect(RawArguments.Index([Array("upload".utf8), latin1]).undecodedBytes(of: decoded) == latin1)
        // Text that is its own bytes needs none, even with a U+FFFD of its own.
        #expect(RawArguments.Index([Array("plain.vtu".utf8)]).undecodedBytes(of: "plain.vtu") == nil)
        let replacement = Array("r\u{FFFD}sultat.vtu".utf8)
        #expect(RawArguments.Index([replacement]).undecodedBytes(of: decoded) == nil)
        // A name that holds U+FFFD itself beside one that decodes to it: two files, which is which unknown.
        #expect(RawArguments.Index([replacement, latin1]).undecodedBytes(of: decoded) == nil)
        // Two arguments that decode alike: which was meant cannot be told.
        var other = latin1
        other[1] = 0xE8
        #expect(RawArguments.Index([latin1, other]).undecodedBytes(of: decoded) == nil)
        #expect(RawArguments.Index([latin1, latin1]).undecodedBytes(of: decoded) == latin1)
        #expect(RawArguments.Index([]).undecodedBytes(of: decoded) == nil)
        // Compared as bytes, not as canonically equivalent strings: NFD is not NFC.
        let nfc = Array("caf\u{E9}".utf8) + [0xFF], nfd = Array("cafe\u{301}".utf8) + [0xFF]
        #expect(RawArguments.Index([nfc, nfd]).undecodedBytes(of: String(decoding: nfc, as: UTF8.self)) == nfc)
    }

    @Test func aSessionsChildGetsTheBytesOnlyWhereTheyDecodeToWhatWasChecked() {
        let name = String(decoding: latin1, as: UTF8.self)
        let run = SessionProtocol.Run(
            arguments: ["upload", name, "--store", "/srv/st\u{FFFD}re", "--store=/srv/x\u{FFFD}", "other\u{FFFD}", "café"],
            environment: [:],
            argumentBytes: [Array("upload".utf8), latin1, Array("--store".utf8), Array("/srv/st".utf8) + [0xF6] + Array("re".utf8),
                            Array("--store=/srv/x".utf8) + [0xFF], Array("other".utf8) + [0xFF, 0x00], Array("cafe\u{301}".utf8)])
        #expect(run.bytes(ofArgument: 0) == Array("upload".utf8))
        #expect(run.bytes(ofArgument: 1) == latin1)
        // The store is the folder the daemon compared with its own: never other bytes.
        #expect(run.bytes(ofArgument: 3) == Array("/srv/st\u{FFFD}re".utf8))
        #expect(run.bytes(ofArgument: 4) == Array("--store=/srv/x\u{FFFD}".utf8))
        // A NUL cannot be an argument; other bytes that are equivalent text are not the text.
        #expect(run.bytes(ofArgument: 5) == Array("other\u{FFFD}".utf8))
        #expect(run.bytes(ofArgument: 6) == Array("café".utf8))
        // An older client sends no bytes.
        let old = SessionProtocol.Run(arguments: ["upload", name], environment: [:])
        #expect(old.bytes(ofArgument: 1) == Array(name.utf8))
    }

    @Test func pathsAsBytes() {
        #expect(PathBytes.lastComponent(of: Array("a/b/".utf8) + latin1) == latin1)
        #expect(PathBytes.lastComponent(of: latin1 + [UInt8(ascii: "/")]) == latin1)
        #expect(PathBytes.parent(of: Array("/d/".utf8) + latin1) == Array("/d".utf8))
        #expect(PathBytes.parent(of: latin1) == Array(".".utf8))
        #expect(PathBytes.parent(of: Array("/x".utf8)) == Array("/".utf8))
        #expect(PathBytes.join(latin1, "run/run_0.vtu") == latin1 + Array("/run/run_0.vtu".utf8))
        #expect(PathBytes.text(latin1) == "r\\xe9sultat.vtu")
    }
}
