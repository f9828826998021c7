import Foundation
import LakeTestSupport

enum PeakMemory {
    /// Runs `lake` and returns its exit status and peak resident memory in KiB. A small Python
    /// parent runs it: a child spawned straight from the (large) test process would inherit the
    /// test process's memory high-water mark, which Linux keeps across exec.
    static func measure(_ arguments: [String]) throws -> (Int32, Int) {
        let script = "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
            + "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
        let output = try Command.output("/usr/bin/env", ["python3", "-c", script, LakeBinary.executable] + arguments)
        let fields = output.split(separator: " ").map { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1 }
        return (Int32(fields[0]), fields.count > 1 ? fields[1] : -1)
    }
}
