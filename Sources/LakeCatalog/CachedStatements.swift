import GRDB

extension Database {
    /// Runs a statement whose SQL is a literal, compiled once per connection (GRDB keeps it):
    /// compiling costs more than running the small statements every upload and processing step
    /// makes, and GRDB's authorizer runs at each compile. Only literals: SQL built from values
    /// would fill the cache for as long as the daemon runs.
    func run(sql: StaticString, arguments: StatementArguments = StatementArguments()) throws {
        try cachedStatement(sql: sql.description).execute(arguments: arguments)
    }
}
