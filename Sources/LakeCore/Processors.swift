import LakeFormats
import LakeModel
import LakeSystem

/// What a processor is given: the object, its bytes, its time budget and, for a manifest, its
/// children (flattened through nested manifests).
public struct ProcessingInput: Sendable {
    public struct Child: Sendable {
        public var reference: FileRef
        public var object: LakeObject?
        public var file: ReadableFile?
    }

    public var object: LakeObject
    public var file: ReadableFile
    public var budget: ProcessingBudget
    public var children: [Child]
}

/// What derives provisions from an object's bytes, chosen by format. Formats without a
/// processor are not claimed from the queue.
public struct Processors: Sendable {
    public typealias Run = @Sendable (ProcessingInput) throws -> ProcessingResult

    let table: [FileFormat: Run]

    public init(table: [FileFormat: Run]) { self.table = table }

    public var formats: Set<FileFormat> { Set(table.keys) }

    public func processor(for format: FileFormat) -> Run? { table[format] }

    /// The processors this build has. Every object passes through processing, if only to have
    /// its MD5 computed; `unknown` files have nothing else to derive.
    public static let standard = Processors(table: [
        .unknown: { _ in ProcessingResult(provisions: [], warnings: []) },
        .stl: { input in
            let geometry = try STLReader.geometry(of: input.file, units: input.object.geometryUnits, budget: input.budget)
            return ProcessingResult(provisions: [.geometry(geometry)], warnings: geometryWarnings(input.object))
        },
        .step: { input in
            let geometry = try STEPReader.geometry(of: input.file, units: input.object.geometryUnits)
            return ProcessingResult(provisions: [.geometry(geometry)], warnings: geometryWarnings(input.object))
        },
        .vtu: { input in try dataset(input, .vtu) },
        .vtp: { input in try dataset(input, .vtp) },
        .vtm: { input in try ManifestProcessor.process(input) },
    ])

    static func dataset(_ input: ProcessingInput, _ format: FileFormat) throws -> ProcessingResult {
        let (fields, mesh) = try VTKDatasetReader.read(input.file, format: format, budget: input.budget)
        var result = Annotations.apply(input.object.annotations, to: fields)
        result.mesh = mesh
        return result
    }

    static func geometryWarnings(_ object: LakeObject) -> [String] {
        guard object.geometryUnits == nil else { return [] }
        return [GeometryUnits.missingWarning(object.id)]
    }
}

public struct ProcessingResult: Sendable {
    public var provisions: [Provision]
    public var warnings: [String]
    public var mesh: MeshSummary?
    public init(provisions: [Provision], warnings: [String], mesh: MeshSummary? = nil) {
        self.provisions = provisions
        self.warnings = warnings
        self.mesh = mesh
    }
}
