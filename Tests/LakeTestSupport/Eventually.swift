import Foundation

/// Waits until `condition` holds, checking it every 50 ms, for at most `seconds`: a test waits
/// for what it needs to see, never for a fixed time, so a busy machine only makes it slower.
public func eventually(_ seconds: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        usleep(50_000)
    }
    return try condition()
}
