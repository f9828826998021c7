import ArgumentParser
import Foundation
import LakeCatalog
import LakeModel

/// The one place where errors become what the user sees: a message on stderr and exit status 1.
/// Mistakes in the command line itself are `ValidationError`s that argument-parser reports with
/// the usage (exit status 64).
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ValidationError {
        throw error
    } catch let error as ExitCode {
        throw error
    } catch let error as InputError {
        throw usageFailure(error.message)
    } catch let error as CatalogError {
        // "No object with id …" must say where it looked: a shell without $LAKE_STORE looks
        // in the default store, which may not be the one meant.
        if case .notFound = error, let store = OpenedStore.description.withLock({ $0 }) {
            printError("\(error) in the store at \(store)")
        } else {
            printError("\(error)")
        }
        throw ExitCode.failure
    } catch {
        printError("\(error)")
        throw ExitCode.failure
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("lake: error: \(message)\n".utf8))
}

func printWarning(_ message: String) {
    FileHandle.standardError.write(Data("lake: warning: \(message)\n".utf8))
}

/// A mistake in what the user typed, found after parsing: the message, and exit status 64
/// (EX_USAGE) as argument-parser uses for its own usage errors.
func usageFailure(_ message: String) -> ExitCode {
    printError(message)
    return ExitCode(64)
}

/// Runs a model parser; its error becomes a usage failure.
func parsing<T>(_ body: () throws(InputError) -> T) throws -> T {
    do { return try body() } catch { throw usageFailure(error.message) }
}
