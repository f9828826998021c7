import LakeCatalog
import LakeModel
import LakeSystem

/// Human-readable views of objects.
enum ObjectText {
    static func line(_ object: LakeObject) -> String {
        let size = ByteCount.text(object.size)
        var text = "\(object.status.rawValue.padding(14)) \(object.id)  \(object.format.rawValue.padding(7)) \(size.padding(10)) \(object.name)"
        if let reason = object.failureReason { text += "\n    reason: \(reason)" }
        if let damage = object.file.blob?.damage { text += "\n    DAMAGED: \(damage.reason)" }
        return text
    }

    /// Why a queued object is still waiting.
    static func held(_ queued: QueuedObject, now: Timestamp) -> String {
        let why: String
        if queued.status == .processing, let until = queued.leaseExpiresAt, until > now {
            let seconds = Int((until.microseconds - now.microseconds) / 1_000_000) + 1
            why = "being processed by \(queued.leaseOwner ?? "another worker"); if that worker died, its lease "
                + "expires in \(seconds) s (\(until.rfc3339)) and the next `lake process` or mount daemon takes it over"
        } else if queued.unsettledChildren > 0 {
            why = "waits for \(queued.unsettledChildren) block\(queued.unsettledChildren == 1 ? "" : "s") it references to finish processing"
        } else if let until = queued.blocksAwaitedUntil, until > now {
            why = "a manifest waiting for blocks not yet stored beside it, until \(until.rfc3339)"
        } else {
            why = "waiting (no processor in this lake can take its format)"
        }
        return "WAITING        \(queued.id)  \(why)"
    }

    static func table(_ objects: [LakeObject]) -> String {
        var lines = ["\("ID".padding(30)) \("STATUS".padding(14)) \("FORMAT".padding(7)) \("SIZE".padding(10)) \("CREATED".padding(20)) NAME"]
        for object in objects {
            let created = String(object.createdAt.rfc3339.prefix(19)) + "Z"
            lines.append("\(object.id.rawValue.padding(30)) \(object.status.rawValue.padding(14)) \(object.format.rawValue.padding(7)) "
                + "\(ByteCount.text(object.size).padding(10)) \(created.padding(20)) \(object.name)")
        }
        return lines.joined(separator: "\n")
    }

    /// `3,442,951 points, 3,375,000 cells (HEXAHEDRON 3,375,000); bounds [-10 -10 -10]..[10 10 10]`
    static func meshLine(_ mesh: MeshSummary) -> String {
        let types = mesh.cellTypes.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) \(grouped($0.value))" }
        var line = "\(grouped(mesh.points)) points, \(grouped(mesh.cells)) cells"
        if !types.isEmpty { line += " (" + types.joined(separator: ", ") + ")" }
        if let bounds = mesh.bounds {
            // (+ 0 turns a coordinate of -0 into 0: "-0" reads as a typo.)
            func vector(_ values: [Double]) -> String { "[" + values.map { JSONValue.number($0 + 0).compactText }.joined(separator: " ") + "]" }
            line += "; bounds \(vector(bounds.min))..\(vector(bounds.max))"
        }
        return line
    }

    /// 3442951 as 3,442,951.
    static func grouped(_ n: Int64) -> String {
        let digits = Array(String(n.magnitude))
        var text = ""
        for (i, digit) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { text += "," }
            text.append(digit)
        }
        return (n < 0 ? "-" : "") + text
    }

    static func details(_ object: LakeObject) -> String {
        var lines: [String] = []
        func add(_ key: String, _ value: String) { lines.append("\((key + ":").padding(14)) \(value)") }
        add("id", object.id.rawValue)
        add("name", object.name)
        if !object.description.isEmpty { add("description", object.description) }
        add("file", "\(object.file.name) (\(ByteCount.text(object.size)))")
        if let blob = object.file.blob {
            add("sha256", blob.contentHash.sha256)
            add("md5", blob.contentHash.md5 ?? "(computed when processed)")
            if let damage = blob.damage {
                add("DAMAGED", "\(damage.reason) (found by \(damage.foundBy) at \(damage.foundAt.rfc3339)); "
                    + "its bytes are not served until `lake verify` finds them intact")
            }
        }
        add("format", object.format.rawValue)
        add("status", object.status.rawValue)
        if let trash = object.trash {
            add("TRASHED", "since \(trash.trashedAt.rfc3339) by \(trash.trashedBy); lake trash restore \(object.id) brings it back")
        }
        if let reason = object.failureReason { add("failure", reason) }
        add("created", "\(object.createdAt.rfc3339) by \(object.createdBy)")
        add("owner", "\(SystemUser.name(uid: object.owner.uid)):\(SystemGroup.name(gid: object.owner.gid)), mode \(object.owner.octal)")
        if let uploaded = object.uploadedAt { add("uploaded", uploaded.rfc3339) }
        if let processed = object.processedAt { add("processed", processed.rfc3339) }
        if let units = object.geometryUnits { add("geometry", "units \(units)") }
        if let mesh = object.mesh { add("mesh", meshLine(mesh)) }
        if !object.params.isEmpty {
            lines.append("params:")
            for key in object.params.keys.sorted() {
                let param = object.params[key]!
                lines.append("  \(key) = \(param.value.json.compactText)\(param.units.map { " [\($0)]" } ?? "")")
            }
        }
        if !object.tags.isEmpty { add("tags", JSONValue.object(object.tags).compactText) }
        if !object.annotations.isEmpty {
            lines.append("annotations:")
            for a in object.annotations {
                lines.append("  \(a.label):\(a.elementAssoc.rawValue) = \(a.quantityType)\(a.units.map { " [\($0)]" } ?? "")")
            }
        }
        if !object.contentReferences.isEmpty {
            lines.append("references:")
            for ref in object.contentReferences { lines.append("  \(ref.path) -> \(ref.objectId?.rawValue ?? "(missing)")") }
        }
        let geometries = object.provisions.filter { if case .geometry = $0 { return true } else { return false } }
        if !geometries.isEmpty {
            lines.append("provisions:")
            for provision in geometries { lines.append("  " + describe(provision)) }
        }
        let fields = object.provisions.compactMap { if case .field(let f) = $0 { return f } else { return nil } }
        if !fields.isEmpty {
            lines.append("fields:")
            lines += FieldTable.render(fields).map { "  " + $0 }
        }
        if !object.warnings.isEmpty {
            lines.append("warnings:")
            for warning in object.warnings { lines.append("  - \(warning)") }
        }
        return lines.joined(separator: "\n")
    }

    static func describe(_ provision: Provision) -> String {
        switch provision {
        case .geometry(let g):
            var text = "geometry  units \(g.units ?? "(not declared)")"
            if let count = g.triangleCount { text += "  triangles \(count)" }
            if let b = g.bounds { text += "  bounds (\(b.min.map(number).joined(separator: ", "))) .. (\(b.max.map(number).joined(separator: ", ")))" }
            return text
        case .field(let f):
            return "field  \(f.label) (\(f.elementAssoc.rawValue), \(f.numComponents) components, \(f.numTuples) tuples, \(f.dataType))"
        }
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
