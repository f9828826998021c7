import LakeFormats
import LakeModel
import LakeSystem

/// A VTM is READY when every block it references is READY; its fields are the union of its
/// blocks' fields, computed over all their values together (exact pooled statistics).
enum ManifestProcessor {
    static func process(_ input: ProcessingInput) throws -> ProcessingResult {
        // The manifest itself must still be a valid manifest.
        let references = try VTKManifest.references(of: input.file, budget: input.budget)
        guard !input.children.isEmpty else {
            throw FormatError("the manifest references \(references.count) dataset(s) (\(references.prefix(3).joined(separator: ", ")))"
                + " but none was uploaded with it; upload it with `lake upload` from its folder, or copy the folder"
                + " with its blocks into incoming/ (`cp -r run.vtm run/ <mount>/incoming/`)")
        }
        var blocks: [VTKDatasetReader.Block] = []
        for child in input.children {
            let path = child.reference.path
            guard let object = child.object else {
                let recorded = input.object.warnings.first { $0.hasPrefix("reference '\(path)'") }
                // No reason recorded: a block the manifest waited for in incoming/ never came. A
                // reference with `.` or `..` inside is said as the path it resolves to.
                var target = "'\(path)'"
                if case .inside(let resolved) = ManifestReference.resolve(path), resolved != path {
                    target = "'\(resolved)' (what '\(path)' resolves to)"
                }
                throw FormatError(recorded ?? "block '\(path)' never arrived: no file was copied to \(target) beside the manifest"
                    + " in incoming/ while it waited for its blocks; copy the manifest together with its blocks"
                    + " (`cp -r run.vtm run/ <mount>/incoming/`) or upload it with `lake upload`")
            }
            guard object.status == .ready else {
                throw FormatError("block '\(path)' (\(object.id)) \(object.status == .failed ? "failed" : "is not processed"): "
                    + (object.failureReason ?? object.status.rawValue))
            }
            guard object.format == .vtu || object.format == .vtp, let file = child.file else {
                throw FormatError("block '\(path)' is a .\(object.format.rawValue) file; a manifest's blocks must be .vtu or .vtp datasets")
            }
            blocks.append(VTKDatasetReader.Block(file: file, format: object.format, name: path))
        }
        let (fields, mesh) = try VTKDatasetReader.read(blocks, budget: input.budget)
        var result = Annotations.apply(input.object.annotations, to: fields)
        result.mesh = mesh
        return result
    }
}
