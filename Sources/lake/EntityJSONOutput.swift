#if canImport(Glibc)
import Glibc
#endif
import LakeModel
import LakeSystem

/// Prints what `print(LakeJSON.string(make(entities), pretty: true))` would, the objects', cases'
/// or datasets' provisions laid out from compact text and written a MiB at a time (`EntityJSON`):
/// a page of a thousand processed files is hundreds of MB of JSON, which the encoder took seconds
/// to write and the process held three times over.
func printEntityJSON<E: HoldsProvisions, T: Encodable>(_ entities: [E], depth: Int, _ make: ([E]) -> T) throws {
    fflush(nil)   // whatever `print` buffered goes first
    var failure: (any Error)?
    try EntityJSON.write(entities, depth: depth, make) { bytes in
        guard failure == nil, !bytes.isEmpty else { return }
        do { try Syscall.writeAll(STDOUT_FILENO, UnsafeRawBufferPointer(bytes), path: "stdout") } catch { failure = error }
    }
    if let failure { throw failure }
    print("")
}

/// One object, case or dataset, printed as `print(LakeJSON.string(entity, pretty: true))` would.
func printEntityJSON<E: HoldsProvisions & Encodable>(_ entity: E) throws {
    try printEntityJSON([entity], depth: 0) { $0[0] }
}
