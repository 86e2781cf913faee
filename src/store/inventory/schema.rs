//! The inventory's tables, their migrations, and the checks that decide whether an existing
//! file may be opened at all.
//!
//! The schema version lives in SQLite's `user_version` (rusqlite_migration's convention) and
//! the file is marked with an `application_id`, so a database of another program is refused
//! instead of having our tables added to it. Migrations only ever move forward; a file whose
//! version is newer than this build knows is refused, never "repaired".

use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use rusqlite_migration::{M, Migrations, SchemaVersion};

use super::InventoryError;

/// `ndxi` in ASCII: marks an SQLite file as a netdx inventory (`PRAGMA application_id`).
pub const APPLICATION_ID: i32 = 0x6e64_7869;

/// Every migration, oldest first. Never edit one that has shipped: add another.
///
/// - `devices`: one row per device. LAN devices are found through `macs`; a device seen
///   off-link (no MAC) is named by `ip_key`. `addr` is the address it was last seen at (for
///   sorting, and to know when its address was scanned without an answer). `closed_ports` and
///   `filtered_ports` are the last known states of checked ports that are not open (port
///   ranges, `1-21,23-79`), so a port that opens can say what it was; open ports are rows of
///   `services`. `missed` counts the scans in a row that covered `addr` without an answer.
/// - `scans`: one row per recorded scan; `last_scan` columns refer to it, so "seen in this
///   scan" and "last seen at this address" never depend on comparing timestamps.
const MIGRATIONS: &[M<'static>] = &[M::up(
    "CREATE TABLE scans (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        targets TEXT NOT NULL
    );
    CREATE TABLE devices (
        id INTEGER PRIMARY KEY,
        ip_key TEXT UNIQUE,
        addr TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        last_scan INTEGER NOT NULL,
        vendor TEXT,
        device_type TEXT,
        label TEXT,
        note TEXT,
        missed INTEGER NOT NULL DEFAULT 0,
        closed_ports TEXT NOT NULL DEFAULT '',
        filtered_ports TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX devices_addr ON devices(addr);
    CREATE TABLE macs (
        mac TEXT PRIMARY KEY,
        device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        local INTEGER NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL
    );
    CREATE INDEX macs_device ON macs(device_id);
    CREATE TABLE addresses (
        device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        ip TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        last_scan INTEGER NOT NULL,
        PRIMARY KEY (device_id, ip)
    ) WITHOUT ROWID;
    CREATE INDEX addresses_ip ON addresses(ip, last_scan);
    CREATE TABLE names (
        device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        protocol TEXT NOT NULL,
        name TEXT NOT NULL,
        name_key TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        PRIMARY KEY (device_id, protocol)
    ) WITHOUT ROWID;
    CREATE INDEX names_key ON names(name_key);
    CREATE TABLE services (
        device_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
        port INTEGER NOT NULL,
        protocol TEXT NOT NULL,
        service TEXT,
        product TEXT,
        version TEXT,
        cert TEXT,
        cert_subject TEXT,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        PRIMARY KEY (device_id, port, protocol)
    ) WITHOUT ROWID;",
)];

fn migrations() -> Migrations<'static> {
    Migrations::from_slice(MIGRATIONS)
}

/// The newest schema this build knows.
pub fn latest_version() -> usize {
    MIGRATIONS.len()
}

/// Per-connection settings. WAL: readers never block the one writer and a commit is one
/// append, so a kill at any instant leaves either the old or the new state. `synchronous =
/// FULL`: each commit is fsynced; a scan commits once, so that costs one fsync per scan, and
/// in exchange a label the user just typed survives a power cut (NORMAL may lose the last
/// commits on power loss, though never corrupt). `busy_timeout`: a second netdx waits for
/// the first one's transaction instead of failing.
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Listing reads every page: through a memory map SQLite need not copy each one into its
    // cache (a 10,000-device inventory is a few MB).
    conn.pragma_update(None, "mmap_size", 64i64 << 20)?;
    Ok(())
}

/// Create a new inventory at `path`, atomically: the schema is written into a temporary file
/// beside it, which is then renamed into place without replacing anything. A kill during
/// creation leaves at most a stray temporary file, never a half-made `inventory.db` (which the
/// next run would have to refuse as damaged).
pub fn create(path: &Path) -> Result<Connection, InventoryError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let io = |source| InventoryError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io)?;
    let tmp = tempfile::Builder::new()
        .prefix(".inventory-new-")
        .suffix(".db")
        .tempfile_in(dir)
        .map_err(io)?;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    {
        let sql = |source| InventoryError::Sql {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open(tmp.path()).map_err(sql)?;
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(sql)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        configure(&conn).map_err(sql)?;
        migrations()
            .to_latest(&mut conn)
            .map_err(|e| InventoryError::Migration {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        // Closing checkpoints the WAL into the file and removes it, so the rename below moves
        // the whole database.
        conn.close().map_err(|(_, e)| sql(e))?;
    }
    match tmp.persist_noclobber(path) {
        Ok(_) => {}
        // Another netdx created it first: use theirs.
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io(e.error)),
    }
    open_existing(path)
}

/// The first 16 bytes of every SQLite 3 database.
const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Open an inventory that exists, refusing (without writing a byte to it) one that is not an
/// SQLite database, fails `PRAGMA quick_check`, belongs to another program, or has a schema
/// newer than this build. An older schema is migrated forward in one transaction.
pub fn open_existing(path: &Path) -> Result<Connection, InventoryError> {
    use std::io::Read;
    let damaged = |why: String| InventoryError::Damaged {
        path: path.to_path_buf(),
        why,
    };
    let mut head = [0u8; 16];
    let mut f = std::fs::File::open(path).map_err(|source| InventoryError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let n = f.read(&mut head).map_err(|source| InventoryError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if n < MAGIC.len() || &head != MAGIC {
        return Err(damaged("it is not an SQLite database".to_string()));
    }
    drop(f);
    // No SQLITE_OPEN_CREATE: a file that vanished in the meantime is an error, not a new one.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let mut conn = Connection::open_with_flags(path, flags).map_err(|e| damaged(e.to_string()))?;
    configure(&conn).map_err(|e| damaged(e.to_string()))?;
    let check: Vec<String> = conn
        .prepare("PRAGMA quick_check(3)")
        .and_then(|mut s| {
            s.query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(|e| damaged(e.to_string()))?;
    if check != ["ok"] {
        let first = check.first().cloned().unwrap_or_default();
        return Err(damaged(format!(
            "its integrity check failed ({})",
            crate::core::sanitize::clean(&first)
        )));
    }
    let app: i32 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(|e| damaged(e.to_string()))?;
    if app != APPLICATION_ID {
        return Err(damaged(
            "it is an SQLite database of another program, not a netdx inventory".to_string(),
        ));
    }
    let m = migrations();
    match m.current_version(&conn) {
        Ok(SchemaVersion::Outside(v)) => {
            return Err(InventoryError::TooNew {
                path: path.to_path_buf(),
                found: v.get(),
                known: latest_version(),
            });
        }
        Ok(_) => {}
        Err(e) => return Err(damaged(e.to_string())),
    }
    m.to_latest(&mut conn)
        .map_err(|e| InventoryError::Migration {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        migrations().validate().expect("valid migrations");
    }
}
