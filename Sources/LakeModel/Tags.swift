/// Tags: a mutable JSON object on an entity.
public enum Tags {
    /// Parses `KEY=VALUE` from `--tag`; VALUE is JSON when it parses, otherwise a string.
    public static func parse(assignment text: String) throws(InputError) -> (key: String, value: JSONValue) {
        let (key, rest) = try Assignment.split(text, what: "--tag", example: "KEY=VALUE, e.g. project=wing or priority=3")
        return (key, try Assignment.jsonOrString(rest, what: "--tag '\(text)'"))
    }

    /// Parses a whole tags object (`--tags JSON`); it must be a JSON object.
    public static func parse(object text: String) throws(InputError) -> [String: JSONValue] {
        let value: JSONValue
        do { value = try JSONValue(parsing: text) } catch {
            throw InputError("--tags '\(text)' is not valid JSON; give a JSON object like '{\"project\":\"wing\"}' ('{}' clears)")
        }
        guard let members = value.objectValue else {
            throw InputError("--tags must be a JSON object like '{\"project\":\"wing\"}', got \(value.compactText)")
        }
        return members
    }
}
