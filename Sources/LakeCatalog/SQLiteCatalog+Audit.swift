import Foundation
import GRDB
import LakeModel

extension SQLiteCatalog {
    /// Appends a line to the audit trail in the transaction making the change; `actor` defaults
    /// to this process's account (the CLI's caller; the mount daemon passes its callers').
    func audit(_ db: any SQLDatabase, _ action: String, _ id: LakeID?, _ details: [String: JSONValue] = [:], by actor: Actor? = nil,
               at time: Timestamp) throws {
        let actor = actor ?? self.actor
        try db.run(sql: #"INSERT INTO audit_log (at, uid, "user", action, entity_id, details) VALUES (?, ?, ?, ?, ?, ?)"#,
                   arguments: [time.microseconds, Int64(actor.uid), actor.user, action, id?.rawValue, ObjectRow.json(details)])
    }

    public func recordAudit(_ action: String, id: LakeID?, details: [String: JSONValue], by actor: Actor?, at time: Timestamp) throws {
        try write { db in try audit(db, action, id, details, by: actor, at: time) }
    }

    public func auditLog(id: LakeID?, uid: UInt32?, limit: Int, before: Int64?) throws -> [AuditEntry] {
        try read { db in
            var clauses: [String] = []
            var arguments: [any SQLBindable] = []
            if let id { clauses.append("entity_id = ?"); arguments.append(id.rawValue) }
            if let uid { clauses.append("uid = ?"); arguments.append(Int64(uid)) }
            if let before { clauses.append("seq < ?"); arguments.append(before) }
            let filter = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
            arguments.append(limit)
            return try db.fetchAll(sql: """
                SELECT seq, at, uid, "user", action, entity_id, details FROM audit_log \(filter) ORDER BY seq DESC LIMIT ?
                """, arguments: SQLArguments(arguments)).map { row in
                AuditEntry(seq: row["seq"], at: Timestamp(microseconds: row["at"]), uid: UInt32(truncatingIfNeeded: row["uid"] as Int64),
                           user: row["user"], action: row["action"], id: (row["entity_id"] as String?).map(LakeID.init(unchecked:)),
                           details: try ObjectRow.decode([String: JSONValue].self, row["details"]))
            }
        }
    }
}
