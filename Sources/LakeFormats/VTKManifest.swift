import LakeSystem

/// A `.vtm` manifest: the relative paths of its datasets, in document order.
public enum VTKManifest {
    public static func references(of file: ReadableFile, budget: ProcessingBudget = .unlimited) throws -> [String] {
        let document = try VTKDocument.read(file, budget: budget)
        guard document.type == "vtkMultiBlockDataSet" else {
            throw FormatError("a .vtm file must hold vtkMultiBlockDataSet, but this one holds \(document.type)")
        }
        guard !document.references.isEmpty else {
            throw FormatError("the manifest references no datasets (no <DataSet file=…>)")
        }
        return document.references
    }
}
