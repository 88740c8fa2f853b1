import Foundation

/// The experiment database: sweeps, their runs, per-layer redundancy and similarity matrices in
/// one SQLite file (docs/SCHEMA.md).
///
/// Opening for writing creates the file when needed, turns on WAL journaling (readers never block
/// the writer) and foreign keys, and applies the migrations this build knows that the file lacks.
/// Before anything is written the file is checked: a file that is not SQLite, a SQLite file that
/// is not an experiment database, or a database from a newer schema version is refused with an
/// error and left byte-for-byte unchanged.
///
/// Several processes may open the same file: every write runs in a `BEGIN IMMEDIATE` transaction
/// and waits on the busy timeout, so none fails with "database is locked".
public final class ExperimentDatabase: @unchecked Sendable {
    /// How to open the database.
    public enum AccessMode: Sendable, Equatable {
        /// Create if missing, migrate, allow writes.
        case readWrite
        /// Open an existing database without changing it (no migration; an older schema is read as is).
        case readOnly
    }

    /// The file's path.
    public let path: String
    /// The connection (one per `ExperimentDatabase`; open one per thread or process).
    public let connection: SQLiteConnection
    /// Whether `runs` has the columns of `v2_training` (always after opening for writing; a file
    /// opened read-only keeps the schema it was written with).
    private(set) var hasTrainingColumns = false
    /// Whether `runs` has the columns of `v3_provenance_seeds_epochs` (and the `epochs` table exists).
    private(set) var hasProvenanceColumns = false

    /// Opens (and for `.readWrite`, creates and migrates) the database at `path`.
    ///
    /// - Parameters:
    ///   - path: the database file.
    ///   - mode: `.readWrite` (the default) or `.readOnly`.
    ///   - busyTimeout: how long to wait for other processes' locks.
    /// - Throws: ``FeatureProbeError`` when the folder is missing or not writable, the path is a
    ///   folder, the file is not SQLite or not an experiment database, or its schema is newer
    ///   than ``Migration/currentVersion``.
    public init(path: String, mode: AccessMode = .readWrite,
                busyTimeout: Duration = SQLiteConnection.defaultBusyTimeout) throws {
        self.path = path
        let exists = try Self.checkPath(path, mode: mode)
        connection = mode == .readOnly
            ? try SQLiteConnection.openForReading(path: path, busyTimeout: busyTimeout)
            : try SQLiteConnection(path: path, mode: .readWrite(create: !exists), busyTimeout: busyTimeout)
        try checkContents()
        if mode == .readWrite {
            try enableWriteAheadLog(within: busyTimeout)
            try connection.execute("PRAGMA foreign_keys = ON")
            try migrate()
        } else {
            try connection.execute("PRAGMA query_only = ON")
        }
        let columns = try connection.query("PRAGMA table_info(runs)").rows.compactMap { $0[1].string }
        hasTrainingColumns = columns.contains("train_epochs")
        hasProvenanceColumns = columns.contains("weights_source")
    }

    /// Switches the file to WAL unless it already is. Changing the journal mode needs a moment with
    /// no other connection inside a transaction, and SQLite answers SQLITE_BUSY at once instead of
    /// calling the busy handler, so two sweeps creating one database together would otherwise see
    /// "database is locked": retry, with jitter, until the busy timeout.
    private func enableWriteAheadLog(within timeout: Duration) throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            do {
                if try connection.scalar("PRAGMA journal_mode")?.string?.lowercased() == "wal" { return }
                try connection.execute("PRAGMA journal_mode = WAL")
                return
            } catch let error as FeatureProbeError {
                let code = SQLiteConnection.resultCode(of: error)
                guard code == 5 || code == 6, ContinuousClock.now < deadline else { throw error }  // SQLITE_BUSY, SQLITE_LOCKED
                Thread.sleep(forTimeInterval: Double.random(in: 0.005...0.025))
            }
        }
    }

    /// The schema version of the file: the number of migrations applied (`PRAGMA user_version`).
    public func schemaVersion() throws -> Int {
        try connection.scalar("PRAGMA user_version")?.int ?? 0
    }

    /// The names of the applied migrations, in the order applied.
    public func appliedMigrations() throws -> [String] {
        guard try hasTable("schema_migrations") else { return [] }
        return try connection.query("SELECT name FROM schema_migrations ORDER BY rowid").rows.compactMap { $0[0].string }
    }

    /// Runs `PRAGMA integrity_check` and returns its lines (`["ok"]` for a sound file).
    public func integrityCheck() throws -> [String] {
        try connection.query("PRAGMA integrity_check").rows.compactMap { $0[0].string }
    }

    // MARK: - Checks

    /// Validates the path before SQLite sees it; returns whether the file exists.
    static func checkPath(_ path: String, mode: AccessMode) throws -> Bool {
        guard !path.isEmpty else {
            throw FeatureProbeError("The experiment database path is empty; give a file path such as results/sweep.sqlite.")
        }
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        let exists = manager.fileExists(atPath: path, isDirectory: &isDirectory)
        if exists && isDirectory.boolValue {
            throw FeatureProbeError("The experiment database path \(path) is a folder; give the path of a database file (for example \(path)/experiments.sqlite).")
        }
        if mode == .readOnly {
            guard exists else {
                throw FeatureProbeError("There is no experiment database at \(path); give the path of an existing database (a sweep creates one).")
            }
            return true
        }
        let folder = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        var folderIsDirectory: ObjCBool = false
        guard manager.fileExists(atPath: folder, isDirectory: &folderIsDirectory) else {
            throw FeatureProbeError("Cannot create the experiment database \(path): its folder \(folder) does not exist. Create the folder first or give a path in an existing folder.")
        }
        guard folderIsDirectory.boolValue else {
            throw FeatureProbeError("Cannot create the experiment database \(path): \(folder) is a file, not a folder. Give a path inside an existing folder.")
        }
        // WAL keeps -wal and -shm files next to the database, so even an existing file needs a
        // writable folder.
        guard manager.isWritableFile(atPath: folder) else {
            throw FeatureProbeError("Cannot write the experiment database \(path): the folder \(folder) is not writable (the database and its -wal and -shm files live there). Choose a writable folder, or read the database with `probe-cli query`, which opens it read-only.")
        }
        if exists, !manager.isWritableFile(atPath: path) {
            throw FeatureProbeError("Cannot write the experiment database \(path): the file is read-only. Make it writable, or read it with `probe-cli query`, which opens it read-only.")
        }
        return exists
    }

    /// Refuses a file that is not SQLite, not ours, or newer, before anything is written.
    private func checkContents() throws {
        let version: Int
        do {
            version = try schemaVersion()
        } catch let error as FeatureProbeError where SQLiteConnection.resultCode(of: error) == SQLiteConnection.notADatabaseCode {
            throw FeatureProbeError("\(path) is not a SQLite database (SQLite says: file is not a database), so it cannot be an experiment database. Give the path of a database written by probe-cli, or a new file name; the file was not changed.")
        }
        if version > Migration.currentVersion {
            throw Self.newerSchemaError(path: path, version: version)
        }
        if try !hasTable("schema_migrations") {
            let tables = try connection.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").rows.compactMap { $0[0].string }
            if !tables.isEmpty || version != 0 {
                throw FeatureProbeError("\(path) is a SQLite database but not an experiment database: it has no schema_migrations table (its tables: \(tables.joined(separator: ", ")), user_version \(version)). Give the path of a database written by probe-cli, or a new file name; the file was not changed.")
            }
        } else {
            let known = Set(Migration.all.map(\.name))
            let unknown = try appliedMigrations().filter { !known.contains($0) }
            if !unknown.isEmpty {
                throw FeatureProbeError("\(path) was written by a newer probe-cli: it has migrations this build does not know (\(unknown.joined(separator: ", "))); this build knows schema version \(Migration.currentVersion) (\(Migration.all.map(\.name).joined(separator: ", "))). Use a newer probe-cli; the file was not changed.")
            }
        }
    }

    static func newerSchemaError(path: String, version: Int) -> FeatureProbeError {
        FeatureProbeError("\(path) has schema version \(version), newer than the version \(Migration.currentVersion) this probe-cli knows (migrations up to \(Migration.all.last?.name ?? "none")). It was written by a newer probe-cli; use that version or newer. The file was not changed.")
    }

    private func hasTable(_ name: String) throws -> Bool {
        try connection.scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [.text(name)]) != nil
    }

    /// Applies the missing migrations, each in one IMMEDIATE transaction, rechecking inside it
    /// (another process may be migrating the same file).
    private func migrate() throws {
        for (index, migration) in Migration.all.enumerated() {
            try connection.transaction(immediate: true) {
                try connection.execute("""
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                        name TEXT PRIMARY KEY NOT NULL, applied_at TEXT NOT NULL)
                    """)
                let version = try schemaVersion()
                if version > Migration.currentVersion { throw Self.newerSchemaError(path: path, version: version) }
                let applied = try connection.scalar("SELECT 1 FROM schema_migrations WHERE name = ?", [.text(migration.name)]) != nil
                guard !applied else { return }
                do {
                    try connection.execute(migration.sql)
                } catch let error as FeatureProbeError {
                    throw FeatureProbeError("Migration \(migration.name) failed on \(path): \(error.message)")
                }
                try connection.run("INSERT INTO schema_migrations (name, applied_at) VALUES (?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
                                   [.text(migration.name)])
                try connection.execute("PRAGMA user_version = \(index + 1)")
            }
        }
    }
}
