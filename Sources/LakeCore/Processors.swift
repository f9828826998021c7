import LakeFormats
import LakeModel
import LakeSystem

/// What derives provisions from an object's bytes, chosen by format. Formats without a
/// processor here are not claimed from the queue: their objects wait until a lake that has
/// one processes them (VTK arrives with the VTK readers).
public struct Processors: Sendable {
    public typealias Run = @Sendable (LakeObject, ReadableFile, ProcessingBudget) throws -> ProcessingResult

    let table: [FileFormat: Run]

    public init(table: [FileFormat: Run]) { self.table = table }

    public var formats: Set<FileFormat> { Set(table.keys) }

    public func processor(for format: FileFormat) -> Run? { table[format] }

    /// The processors this build has. Every object passes through processing, if only to have
    /// its MD5 computed; `unknown` files have nothing else to derive.
    public static let standard = Processors(table: [
        .unknown: { _, _, _ in ProcessingResult(provisions: [], warnings: []) },
        .stl: { object, file, budget in
            let geometry = try STLReader.geometry(of: file, units: object.geometryUnits, budget: budget)
            return ProcessingResult(provisions: [.geometry(geometry)], warnings: geometryWarnings(object))
        },
        .vtu: { object, file, budget in
            ProcessingResult(provisions: try VTKDatasetReader.fields(of: file, format: .vtu, budget: budget).map(Provision.field), warnings: [])
        },
        .vtp: { object, file, budget in
            ProcessingResult(provisions: try VTKDatasetReader.fields(of: file, format: .vtp, budget: budget).map(Provision.field), warnings: [])
        },
        .step: { object, file, _ in
            let geometry = try STEPReader.geometry(of: file, units: object.geometryUnits)
            return ProcessingResult(provisions: [.geometry(geometry)], warnings: geometryWarnings(object))
        },
    ])

    static func geometryWarnings(_ object: LakeObject) -> [String] {
        guard object.geometryUnits == nil else { return [] }
        return ["no geometry units were declared; set them once with `lake object update \(object.id) --geometry-units mm` (valid: \(GeometryUnits.valid.joined(separator: ", ")))"]
    }
}

public struct ProcessingResult: Sendable {
    public var provisions: [Provision]
    public var warnings: [String]
    public init(provisions: [Provision], warnings: [String]) {
        self.provisions = provisions
        self.warnings = warnings
    }
}
