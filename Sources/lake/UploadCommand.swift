import ArgumentParser
import Foundation
import LakeCore
import LakeModel
import LakeSystem

struct UploadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upload",
        abstract: "Upload files; each becomes an object. Waits until each is processed unless --no-wait.")

    @OptionGroup var options: StoreOptions

    @Argument(help: "Files to upload.")
    var files: [String] = []

    @Option(name: .customLong("files-from"), help: ArgumentHelp(
        "Also upload the files named in FILE, one per line, or NUL-separated when it holds a NUL byte (find -print0); - reads standard input.",
        valueName: "FILE"))
    var filesFrom: String?

    @Option(help: "The object's name (default: the file name). Only with one file.")
    var name: String?

    @Option(help: "A description of the object.")
    var description: String = ""

    @Option(name: .customLong("param"), help: "KEY=VALUE[@UNITS]: an immutable parameter; VALUE is JSON (number, bool, \"string\", [1,2,3]) or a bare word.")
    var params: [String] = []

    @Option(name: .customLong("tag"), help: "KEY=VALUE: a tag; VALUE is JSON or a bare word.")
    var tags: [String] = []

    @Option(help: "Length units of STL/STEP geometry: \(GeometryUnits.valid.joined(separator: ", ")).")
    var geometryUnits: String?

    @Option(name: .customLong("annotate"), help: "LABEL:POINT|CELL=QUANTITY[@UNITS]: what a field means, e.g. p:POINT=PRESSURE@Pa.")
    var annotations: [String] = []

    @Flag(help: "Return once the bytes are stored (UPLOADED), without waiting for processing.")
    var noWait = false

    @Flag(help: "Print the result as JSON.")
    var json = false

    func validate() throws {
        if files.isEmpty && filesFrom == nil { throw ValidationError("give at least one file to upload (or --files-from LIST)") }
        if name != nil && files.count > 1 { throw ValidationError("--name names one object; it cannot be used with \(files.count) files") }
    }

    /// Parses every option before anything is stored, so a typo changes nothing.
    func request(for path: String, bytes: [UInt8]?) throws -> UploadRequest {
        var parsedParams: [String: Param] = [:]
        for text in params {
            let (key, param) = try parsing { () throws(InputError) in try Param.parse(assignment: text) }
            if let existing = parsedParams[key], existing != param {
                throw usageFailure("--param \(key) is given twice with different values")
            }
            parsedParams[key] = param
        }
        var parsedTags: [String: JSONValue] = [:]
        for text in tags {
            let (key, value) = try parsing { () throws(InputError) in try Tags.parse(assignment: text) }
            parsedTags[key] = value
        }
        var parsedAnnotations: [FieldAnnotation] = []
        for text in annotations {
            let annotation = try parsing { () throws(InputError) in try FieldAnnotation.parse(text) }
            if parsedAnnotations.contains(where: { $0.label == annotation.label && $0.elementAssoc == annotation.elementAssoc }) {
                throw usageFailure("--annotate names \(annotation.label):\(annotation.elementAssoc.rawValue) twice")
            }
            parsedAnnotations.append(annotation)
        }
        let units = try geometryUnits.map { text in try parsing { () throws(InputError) in try GeometryUnits.parse(text) } }
        return UploadRequest(path: path, name: name, description: description, params: parsedParams, tags: parsedTags,
                             geometryUnits: units, annotations: parsedAnnotations, createdBy: Account.current.name, pathBytes: bytes)
    }

    func run() throws {
        var paths = (files + LongCommandLines.rest()).map(GivenPath.init(argument:))
        if let filesFrom {
            paths += try reportingErrors { try FileList.read(filesFrom) }
            if paths.isEmpty { throw usageFailure("--files-from \(filesFrom) names no file") }
        }
        if name != nil && paths.count > 1 { throw usageFailure("--name names one object; it cannot be used with \(paths.count) files") }
        let requests = try paths.map { try request(for: $0.text, bytes: $0.bytes) }
        let outcome = try reportingErrors { () throws -> UploadOutcome in
            let store = try options.openStore()
            _ = try Recovery(store: store).run()
            // Many files' blobs are synced together, in batches, as the mount's are; everything
            // is durable once the settler has stopped, before anything is reported or processed.
            // One file alone is synced by itself: a batch would only add a sync of the whole
            // filesystem (`syncfs`), which also waits for whatever else is being written to it.
            let batched = requests.count > 1 || requests.contains { FileFormat(inferredFrom: $0.path) == .vtm }
            let settler = batched ? BlobSettler(store: store, logger: store.logger) : nil
            try settler?.start(checkpoints: false)
            let uploader = Uploader(store: store, settler: settler)
            var outcome = UploadOutcome()
            var trees: [UploadedTree] = []
            defer { settler?.stop() }
            for request in requests {
                var bar: ProgressBar?
                let progress = { (path: String, done: Int64, total: Int64) in
                    if bar?.label != Path.lastComponent(of: path) {
                        bar?.finish()
                        bar = ProgressBar(label: Path.lastComponent(of: path), total: total)
                    }
                    bar?.update(done)
                }
                do throws(UploadError) {
                    trees.append(try uploader.uploadTree(request, progress: progress))
                    bar?.finish()
                } catch {
                    bar?.finish()
                    outcome.failures.append(.init(path: request.path, reason: error.reason))
                }
            }
            settler?.stop()
            var settled: [LakeID: LakeObject] = [:]
            for tree in trees {
                for object in tree.descendants + [tree.root] { settled[object.id] = object }
            }
            if !noWait && !trees.isEmpty {
                let display = ProcessingDisplay(sizes: settled.values.map(\.size))
                let wait = ProcessingWait(worker: ProcessingWorker(store: store, watch: display.watch))
                defer { display.stop() }
                for object in try wait.untilSettled(trees.flatMap(\.allIDs)) { settled[object.id] = object }
                outcome.queued = settled.values.filter { !$0.status.isTerminal && !wait.canProcess($0) }.map(\.id)
            }
            outcome.objects = trees.map { settled[$0.root.id]! }
            outcome.children = Dictionary(uniqueKeysWithValues: trees.map { tree in
                (tree.root.id, tree.descendants.map { settled[$0.id]! })
            })
            return outcome
        }
        try report(outcome)
        if !outcome.failures.isEmpty || outcome.objects.contains(where: { $0.status == ObjectStatus.failed }) {
            throw ExitCode.failure
        }
    }

    func report(_ outcome: UploadOutcome) throws {
        if json {
            try printEntityJSON(outcome.objects, depth: 2) { UploadOutcome.JSONView(succeeded: $0, failed: outcome.failures) }
        } else {
            for object in outcome.objects {
                print(ObjectText.line(object))
                for child in outcome.children[object.id] ?? [] { print("  " + ObjectText.line(child)) }
            }
            if !outcome.queued.isEmpty {
                print("note: \(outcome.queued.count) object\(outcome.queued.count == 1 ? " waits" : "s wait") in the processing queue "
                    + "for a format this lake cannot process; they stay UPLOADED until a lake that can runs `lake process`.")
            }
        }
        for failure in outcome.failures { printError("\(failure.path): \(failure.reason)") }
        for object in outcome.objects where object.status == .failed {
            printError("\(object.file.name): processing failed (object \(object.id)): \(object.failureReason ?? "no reason recorded")")
        }
    }
}

struct UploadOutcome {
    struct Failure: Encodable {
        var path: String
        var reason: String
    }

    var objects: [LakeObject] = []
    var children: [LakeID: [LakeObject]] = [:]
    var failures: [Failure] = []
    var queued: [LakeID] = []

    struct JSONView: Encodable {
        var succeeded: [LakeObject]
        var failed: [Failure]
    }
}
