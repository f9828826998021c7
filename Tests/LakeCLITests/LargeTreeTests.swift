import Foundation
import LakeTestSupport
import Testing

/// A 100,000-object lake lists and walks through the mount without running out of descriptors
/// (this machine allows 20,000 open files; the mount holds none per inode).
@Suite struct LargeTreeTests {
    @Test func aHundredThousandObjectsListAndWalk() throws {
        let mounted = try MountedLake(mount: false)
        let upload = try mounted.lake.run(["upload", mounted.lake.directory.write("one.txt", "shared bytes"), "--json"])
        let object = (try mounted.lake.json(upload)["succeeded"] as! [[String: Any]])[0]
        let blob = ((object["file"] as! [String: Any])["blob"] as! [String: Any])["id"] as! String
        // 99,999 more objects sharing that blob, written straight into the catalog.
        let insert = """
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 99999)
            INSERT INTO objects (id, name, description, file_name, blob_id, format, status, created_at, uploaded_at,
                                 processed_at, created_by)
            SELECT printf('obj-0000000000%016d', i), 'f' || i || '.txt', '', 'f' || i || '.txt', '\(blob)', 'unknown', 'READY',
                   1800000000000000, 1800000000000000, 1800000000000000, 'test' FROM n;
            """
        #expect(try Shell.run("sqlite3 '\(mounted.store)/catalog.sqlite' \"\(insert)\"").status == 0)
        try mounted.mount()
        #expect(try Shell.run("ls '\(mounted.path("objects"))' | wc -l").output.trimmingCharacters(in: .whitespacesAndNewlines) == "100000")
        let walk = try Shell.run("find '\(mounted.path("objects"))' -type f 2>&1 | wc -l")
        // file, <file-name> and object.json in each folder.
        #expect(walk.output.trimmingCharacters(in: .whitespacesAndNewlines) == "300000", "\(walk.output)")
        let pid = try Shell.run("pgrep -f '[l]ake mount \(mounted.mountpoint) '").output.trimmingCharacters(in: .whitespacesAndNewlines)
        let descriptors = try Shell.run("ls /proc/\(pid)/fd | wc -l").output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect((Int(descriptors) ?? .max) < 300, "the daemon holds \(descriptors) descriptors")
    }
}
