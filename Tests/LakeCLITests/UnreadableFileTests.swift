import Foundation
import LakeTestSupport
import Testing

@Suite struct UnreadableFileTests {
    /// Root reads every file, so this runs `lake` as `nobody` (setpriv) against a store nobody owns.
    @Test func anUnreadableFileIsReportedAndNothingIsStored() throws {
        guard getuid() == 0 else { return }
        let lake = LakeBinary()
        try lake.initStore()
        _ = try Command.output("/bin/chown", ["-R", "65534:65534", lake.store])
        _ = try Command.output("/bin/chmod", ["755", lake.directory.path])
        let secret = lake.directory.write("secret.stl", Fixtures.asciiSTL())
        let open = lake.directory.write("open.stl", Fixtures.asciiSTL())
        _ = try Command.output("/bin/chmod", ["600", secret])
        _ = try Command.output("/bin/chmod", ["644", open])
        let script = "\(LakeBinary.executable) upload \(secret) \(open) --store \(lake.store) --geometry-units mm 2>&1; echo \"status=$?\""
        let output = try Command.output("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups",
                                                             "/bin/sh", "-c", script])
        #expect(output.contains("secret.stl: permission denied"), "\(output)")
        #expect(output.contains("status=1"))
        #expect(output.contains("READY") && output.contains("open.stl"))
        let listed = try lake.json(try lake.run(["object", "ls", "--json"]))
        let objects = listed["objects"] as! [[String: Any]]
        #expect(objects.map { $0["name"] as? String } == ["open.stl"])
        #expect(objects.first?["created_by"] as? String == "nobody")
    }
}
