#if canImport(Glibc)
import Glibc
#endif
import LakeModel
import LakeSystem

/// Prints what `print(LakeJSON.string(make(objects), pretty: true))` would, the objects'
/// provisions laid out from compact text and written a MiB at a time (`ObjectsJSON`): a page of a
/// thousand processed files is hundreds of MB of JSON, which the encoder took seconds to write
/// and the process held three times over.
func printObjectsJSON<T: Encodable>(_ objects: [LakeObject], depth: Int, _ make: ([LakeObject]) -> T) throws {
    fflush(nil)   // whatever `print` buffered goes first
    var failure: (any Error)?
    ObjectsJSON.write(objects, depth: depth, make) { bytes in
        guard failure == nil, !bytes.isEmpty else { return }
        do { try Syscall.writeAll(STDOUT_FILENO, UnsafeRawBufferPointer(bytes), path: "stdout") } catch { failure = error }
    }
    if let failure { throw failure }
    print("")
}
