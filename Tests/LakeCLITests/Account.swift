import Foundation
import Testing

/// An unprivileged account made with `useradd` (once per machine), and how to run a shell
/// command as it: tests of what other accounts may and may not do on a shared lake.
struct Account {
    let name: String
    let uid: String
    let gid: String

    func run(_ command: String) throws -> Shell.Result {
        // Braces, so a redirection inside the command does not take its errors along.
        let quoted = "'" + ("{ " + command + "; } 2>&1").replacingOccurrences(of: "'", with: "'\\''") + "'"
        return try Shell.run("setpriv --reuid=\(uid) --regid=\(gid) --clear-groups sh -c \(quoted)")
    }

    static func make(_ name: String) throws -> Account {
        if try Shell.run("id -u \(name)").status != 0 {
            // Two test processes may race to make it; whichever loses finds it made.
            _ = try Shell.run("useradd --no-create-home --user-group --shell /usr/sbin/nologin \(name) 2>&1")
        }
        let uid = try Shell.run("id -u \(name)").output.trimmingCharacters(in: .whitespacesAndNewlines)
        let gid = try Shell.run("id -g \(name)").output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(Int(uid) != nil && Int(gid) != nil, "no account \(name)")
        return Account(name: name, uid: uid, gid: gid)
    }
}
