/// The rules that make a case out of its members: mappings, the param union and the provision
/// union (fields with the same label and element association collapse into one, pooled).
public enum CaseUnion {
    /// A member and its object as the catalog has it.
    public typealias Member = (member: CaseMember, object: LakeObject)

    /// Applies a mapping: absent passes through, nil drops, a name renames.
    static func mapped(_ key: String, _ mapping: [String: String?]) -> String? {
        guard let entry = mapping[key] else { return key }
        return entry.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The members' params after mapping plus the case's own; a key with two different values
    /// is refused naming the key, both values and where each came from.
    public static func params(_ members: [Member], caseParams: [String: Param]) throws(InputError) -> [String: Param] {
        var union: [String: (Param, String)] = [:]
        func add(_ key: String, _ param: Param, from source: String) throws(InputError) {
            if let (existing, origin) = union[key], existing != param {
                throw InputError("param '\(key)' has two values: \(describe(existing)) from \(origin) and \(describe(param)) from \(source)")
            }
            union[key] = (param, union[key]?.1 ?? source)
        }
        for (member, object) in members {
            for key in member.paramMapping.keys where object.params[key] == nil {
                throw InputError("the param mapping for \(object.id) names '\(key)', but the object has no such param"
                    + " (it has: \(object.params.keys.sorted().joined(separator: ", ")))")
            }
            for (key, param) in object.params.sorted(by: { $0.key < $1.key }) {
                guard let name = mapped(key, member.paramMapping) else { continue }
                try add(name, param, from: object.id.rawValue)
            }
        }
        for (key, param) in caseParams.sorted(by: { $0.key < $1.key }) { try add(key, param, from: "the case's own params") }
        return union.mapValues(\.0)
    }

    static func describe(_ param: Param) -> String {
        param.value.json.compactText + (param.units.map { " \($0)" } ?? "")
    }

    /// Checks that every field mapping names a field the (READY) object has.
    public static func checkFieldMappings(_ members: [Member]) throws(InputError) {
        for (member, object) in members where object.status == .ready {
            let labels = Set(object.provisions.compactMap { provision -> String? in
                if case .field(let field) = provision { return field.label }
                return nil
            })
            for key in member.fieldMapping.keys where !labels.contains(key) {
                throw InputError("the field mapping for \(object.id) names '\(key)', but the object has no such field"
                    + " (it has: \(labels.sorted().joined(separator: ", ")))")
            }
        }
    }

    /// The union of the members' provisions after field mapping; `.failure` says why they
    /// cannot be collapsed (the case is then INVALID).
    public static func provisions(_ members: [Member]) -> Result<[Provision], UnionConflict> {
        var mapped: [[Provision]] = []
        for (member, object) in members {
            mapped.append(object.provisions.compactMap { provision -> Provision? in
                guard case .field(var field) = provision else { return provision }
                guard let label = Self.mapped(field.label, member.fieldMapping) else { return nil }
                field.label = label
                return .field(field)
            })
        }
        return Collapse.union(mapped.enumerated().map { (members[$0.offset].object.id.rawValue, $0.element) })
    }

    public static func formats(_ objects: [LakeObject]) -> [String] {
        Set(objects.map(\.format.rawValue)).sorted()
    }
}

public struct UnionConflict: Error, Equatable, Sendable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
}

/// Collapsing provisions that describe the same thing.
public enum Collapse {
    struct FieldKey: Hashable {
        var label: String
        var assoc: ElementAssoc
    }

    /// Every provision of every source; same-identity fields (and geometries) pooled.
    public static func union(_ sources: [(origin: String, provisions: [Provision])]) -> Result<[Provision], UnionConflict> {
        var order: [FieldKey] = []
        var fields: [FieldKey: [(String, Field)]] = [:]
        var geometries: [(String, Geometry)] = []
        for (origin, provisions) in sources {
            for provision in provisions {
                switch provision {
                case .field(let field):
                    let key = FieldKey(label: field.label, assoc: field.elementAssoc)
                    if fields[key] == nil { order.append(key) }
                    fields[key, default: []].append((origin, field))
                case .geometry(let geometry):
                    geometries.append((origin, geometry))
                }
            }
        }
        var result: [Provision] = []
        do {
            for key in order { result.append(.field(try pool(fields[key]!))) }
            if !geometries.isEmpty { result.append(.geometry(try pool(geometries))) }
        } catch {
            return .failure(error)
        }
        return .success(result)
    }

    /// Fields present (by label and element association) in every source, pooled over all.
    public static func intersection(_ sources: [[Provision]]) -> Result<[Provision], UnionConflict> {
        guard let first = sources.first else { return .success([]) }
        func keys(_ provisions: [Provision]) -> Set<String> {
            Set(provisions.map { provision in
                switch provision {
                case .field(let field): "field:\(field.label)|\(field.elementAssoc.rawValue)"
                case .geometry: "geometry"
                }
            })
        }
        var common = keys(first)
        for source in sources.dropFirst() { common.formIntersection(keys(source)) }
        let kept = sources.enumerated().map { index, provisions in
            ("case \(index + 1)", provisions.filter { provision in
                switch provision {
                case .field(let field): common.contains("field:\(field.label)|\(field.elementAssoc.rawValue)")
                case .geometry: common.contains("geometry")
                }
            })
        }
        return union(kept)
    }

    static func pool(_ fields: [(String, Field)]) throws(UnionConflict) -> Field {
        let (firstOrigin, first) = fields[0]
        guard fields.count > 1 else { return first }
        for (origin, field) in fields.dropFirst() {
            let what = "field '\(first.label)' (\(first.elementAssoc.rawValue))"
            if field.numComponents != first.numComponents {
                throw UnionConflict("\(what) has \(first.numComponents) component(s) in \(firstOrigin) but \(field.numComponents) in \(origin)")
            }
            if field.quantityType != first.quantityType || field.units != first.units {
                throw UnionConflict("\(what) is annotated \(annotation(first)) in \(firstOrigin) but \(annotation(field)) in \(origin)")
            }
        }
        var pooled = first
        pooled.numTuples = fields.reduce(0) { $0 + $1.1.numTuples }
        pooled.hasNan = fields.contains { $0.1.hasNan }
        if fields.contains(where: { $0.1.dataType != first.dataType }) { pooled.dataType = "mixed" }
        pooled.componentStats = first.componentStats.indices.map { index in
            ComponentStats(name: first.componentStats[index].name,
                           stats: StatsPooling.pool(fields.compactMap { $0.1.componentStats.indices.contains(index) ? $0.1.componentStats[index].stats : nil }))
        }
        pooled.magnitudeStats = StatsPooling.pool(fields.map(\.1.magnitudeStats))
        return pooled
    }

    static func annotation(_ field: Field) -> String {
        switch (field.quantityType, field.units) {
        case (nil, nil): "without a quantity type"
        case (let type?, let units): "\(type)" + (units.map { " [\($0)]" } ?? "")
        case (nil, let units?): "[\(units)]"
        }
    }

    static func pool(_ geometries: [(String, Geometry)]) throws(UnionConflict) -> Geometry {
        let (firstOrigin, first) = geometries[0]
        var pooled = first
        for (origin, geometry) in geometries.dropFirst() {
            guard geometry.units == first.units else {
                throw UnionConflict("geometry is in \(first.units ?? "undeclared units") in \(firstOrigin) but in \(geometry.units ?? "undeclared units") in \(origin)")
            }
            if let count = geometry.triangleCount { pooled.triangleCount = (pooled.triangleCount ?? 0) + count }
            if let bounds = geometry.bounds {
                pooled.bounds = pooled.bounds.map { current in
                    Bounds(min: zip(current.min, bounds.min).map { Swift.min($0, $1) }, max: zip(current.max, bounds.max).map { Swift.max($0, $1) })
                } ?? bounds
            }
        }
        return pooled
    }
}

/// What a dataset's cases have in common.
public enum DatasetSummary {
    /// A parameter is in the schema when every case has it with the same type.
    public static func paramsSchema(_ cases: [LakeCase]) -> [String: ParameterDef] {
        guard let first = cases.first else { return [:] }
        var schema: [String: ParameterDef] = [:]
        for (key, param) in first.params {
            let type = param.value.typeName
            if cases.allSatisfy({ $0.params[key]?.value.typeName == type }) { schema[key] = ParameterDef(type: type) }
        }
        return schema
    }

    public static func formats(_ cases: [LakeCase]) -> [String] {
        guard let first = cases.first else { return [] }
        var common = Set(first.formats)
        for other in cases.dropFirst() { common.formIntersection(other.formats) }
        return common.sorted()
    }
}
