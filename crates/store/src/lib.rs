//! The embedded store: SQLite (bundled) in WAL mode behind [`bg_gates::Store`].
//!
//! Each entity is one JSON row keyed by (kind, id). A batch of changes is one transaction with
//! `synchronous=FULL`, so a write the server acknowledged survives `kill -9` and power loss.
//! This crate does I/O; pure crates must never depend on it.

use bg_gates::{Change, Entity, Store, StoreError};
use parking_lot::Mutex;
use rusqlite::{params, Connection, OpenFlags};
use std::path::Path;

mod file;
pub mod journal;

pub use file::{OpenError, StateLock, APPLICATION_ID, SCHEMA_VERSION};
pub use journal::{Journal, LogMessage, LogRow, TrailQuery, TrailRow};

pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// The file did not exist before this open.
    created: bool,
    /// What the open changed that the operator should hear of (tightened permissions).
    notices: Vec<String>,
    /// Held for the store's lifetime by [`SqliteStore::open_exclusive`].
    _lock: Option<StateLock>,
}

/// The tables; `CREATE ... IF NOT EXISTS` so that adopting a legacy file is the same batch.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS entities (
    kind TEXT NOT NULL,
    id   TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '1');
CREATE TABLE IF NOT EXISTS trail_events (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id      TEXT NOT NULL UNIQUE,
    time_ms       INTEGER NOT NULL,
    account       TEXT NOT NULL,
    region        TEXT NOT NULL,
    event_name    TEXT NOT NULL,
    event_source  TEXT NOT NULL,
    username      TEXT NOT NULL,
    access_key_id TEXT NOT NULL,
    read_only     INTEGER NOT NULL,
    resource_type TEXT NOT NULL,
    resource_name TEXT NOT NULL,
    diagnosis     TEXT
);
CREATE INDEX IF NOT EXISTS trail_by_time ON trail_events(account, region, time_ms, seq);
CREATE INDEX IF NOT EXISTS trail_by_name ON trail_events(account, region, event_name, time_ms);
CREATE INDEX IF NOT EXISTS trail_refusals ON trail_events(seq) WHERE diagnosis IS NOT NULL;
-- CloudTrail records (`CloudTrailEvent`), stored by block apart from their events' rows: the
-- records of the events `first_seq ..= last_seq` one journal transaction inserted,
-- LZ4-compressed (journal::bodies). Half of what an event cost the writer was its ~1.2 KB
-- record written into its row (issue 11). Schema version 4; earlier versions kept it in
-- trail_events.body (migrated).
CREATE TABLE IF NOT EXISTS trail_bodies (
    first_seq INTEGER PRIMARY KEY,
    last_seq  INTEGER NOT NULL,
    raw_len   INTEGER NOT NULL,
    data      BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS log_groups (
    account        TEXT NOT NULL,
    region         TEXT NOT NULL,
    name           TEXT NOT NULL,
    created_ms     INTEGER NOT NULL,
    retention_days INTEGER,
    PRIMARY KEY (account, region, name)
);
-- CloudWatch Logs lines, stored by batch: one row per run of consecutive lines of one stream
-- that the journal writer committed together (seq first_seq .. first_seq + n - 1), the lines
-- LZ4-compressed in `data` (journal::lines). One row and one index entry a batch instead of
-- one each a line, and a few hundred bytes instead of kilobytes: logging's cost on the writer
-- (issue 13). Schema version 3; version 2 kept a row per line (log_events, migrated).
CREATE TABLE IF NOT EXISTS log_batches (
    first_seq  INTEGER PRIMARY KEY,
    account    TEXT NOT NULL,
    region     TEXT NOT NULL,
    grp        TEXT NOT NULL,
    stream     TEXT NOT NULL,
    n          INTEGER NOT NULL,
    min_ms     INTEGER NOT NULL,
    max_ms     INTEGER NOT NULL,
    max_ingest INTEGER NOT NULL,
    bytes      INTEGER NOT NULL,
    raw_len    INTEGER NOT NULL,
    data       BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS log_batch_by_group ON log_batches(account, region, grp, first_seq);
";

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl SqliteStore {
    /// Open (creating if needed) the state file at `path`; `:memory:` gives a private
    /// in-memory one. A file that is not a bedrock-gates state file, or is from a newer
    /// version, is refused and left as it was. No lock: for readers beside a running serve.
    pub fn open(path: &str) -> Result<SqliteStore, OpenError> {
        Self::open_with(path, false)
    }

    /// [`SqliteStore::open`], holding `<path>.lock` exclusively for the store's lifetime: one
    /// serve per state file. `:memory:` takes no lock.
    pub fn open_exclusive(path: &str) -> Result<SqliteStore, OpenError> {
        Self::open_with(path, true)
    }

    fn open_with(path: &str, exclusive: bool) -> Result<SqliteStore, OpenError> {
        if path == ":memory:" {
            let mut conn = Connection::open_in_memory().map_err(|e| sqlite_error(path, e))?;
            file::initialise(&mut conn, None).map_err(|e| sqlite_error(path, e))?;
            return Ok(SqliteStore {
                conn: Mutex::new(conn),
                created: true,
                notices: Vec::new(),
                _lock: None,
            });
        }
        let p = Path::new(path);
        // Everything that can refuse the file runs before anything is written beside it.
        let existed = file::check_header(p)?;
        if existed {
            file::classify_read_only(p)?;
        } else if let Some(dir) = p.parent() {
            file::create_private_dirs(dir)?;
        }
        let lock = if exclusive {
            Some(StateLock::acquire(p)?)
        } else {
            None
        };
        let created = !existed && file::create_private_file(p)?;
        let notices = if created {
            Vec::new()
        } else {
            file::tighten(p)?
        };
        let conn = match connect(p, created) {
            Ok(c) => c,
            Err(e) => {
                // never leave a half-made state file behind (the next start would refuse it)
                if created {
                    for suffix in ["", "-journal", "-wal", "-shm"] {
                        let _ = std::fs::remove_file(format!("{path}{suffix}"));
                    }
                }
                return Err(e);
            }
        };
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            created,
            notices,
            _lock: lock,
        })
    }

    /// The state file was created by this open (it did not exist before).
    pub fn created(&self) -> bool {
        self.created
    }

    /// What opening changed that the operator should be told (one line each).
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    pub fn journal_mode(&self) -> String {
        self.conn
            .lock()
            .query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
            .unwrap_or_default()
    }
}

/// Opens the state file SQLite-side: checks it once more, creates or adopts its tables, and
/// sets WAL and full sync.
fn connect(p: &Path, created: bool) -> Result<Connection, OpenError> {
    let path = &p.display().to_string();
    // Paths are taken literally (no URI flag): a file named `file:x?mode=ro` is a file.
    let mut conn = Connection::open_with_flags(
        p,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| sqlite_error(path, e))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(|e| sqlite_error(path, e))?;
    // Again under the lock: the file may have changed since the first look.
    let found = if created {
        None
    } else {
        file::check_header(p)?;
        Some(file::classify(&conn, p)?)
    };
    file::initialise(&mut conn, found).map_err(|e| sqlite_error(path, e))?;
    // WAL: readers never block the writer; FULL: fsync at every commit (durability over
    // a few hundred microseconds per write, which only control-plane calls pay). The WAL
    // and shared-memory files take the database file's mode (SQLite copies it on unix).
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(|e| sqlite_error(path, e))?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(|e| sqlite_error(path, e))?;
    Ok(conn)
}

fn sqlite_error(path: &str, e: rusqlite::Error) -> OpenError {
    OpenError::Io {
        what: "open state",
        path: path.to_string(),
        detail: e.to_string(),
    }
}

/// How much of the state file [`Store::load`] maps (SQLite's `mmap_size`): beyond it, pages are
/// read as usual.
const LOAD_MMAP_BYTES: i64 = 1 << 30;

impl Store for SqliteStore {
    fn load(&self) -> Result<Vec<Entity>, StoreError> {
        let mut out = Vec::new();
        self.load_each(&mut |e| out.push(e))?;
        Ok(out)
    }

    fn load_each(&self, each: &mut dyn FnMut(Entity)) -> Result<(), StoreError> {
        let conn = self.conn.lock();
        // The load reads every page of the file once: mapped, SQLite reads them in place
        // instead of one pread and copy per page (2,000 of them at 10,000 principals). Unmapped
        // again after it, so that the file's pages do not stay in the process's RSS.
        conn.pragma_update(None, "mmap_size", LOAD_MMAP_BYTES)
            .map_err(backend)?;
        // In table (rowid) order: `ORDER BY kind, id` walked the primary-key index and looked
        // each row up in the table, two thirds of the load's SQLite time at 10,000 principals.
        // The order does not matter: every entity is put under its own key.
        let mut stmt = conn
            .prepare("SELECT kind, id, body FROM entities")
            .map_err(backend)?;
        let mut rows = stmt.query([]).map_err(backend)?;
        // Each column is read borrowed from SQLite's row buffer: a restart with 10,000
        // principals reads 20,000 rows, and the only allocations are the entity's own.
        while let Some(row) = rows.next().map_err(backend)? {
            let text = |i: usize| row.get_ref(i).and_then(|v| Ok(v.as_bytes()?));
            let (kind, body) = (text(0).map_err(backend)?, text(2).map_err(backend)?);
            let kind = std::str::from_utf8(kind).unwrap_or("?");
            let e = Entity::from_stored(kind, body).map_err(|e| StoreError::Corrupt {
                kind: kind.to_string(),
                id: text(1).map_or_else(
                    |_| String::new(),
                    |id| String::from_utf8_lossy(id).into_owned(),
                ),
                detail: e.to_string(),
            })?;
            each(e);
        }
        drop(rows);
        drop(stmt);
        // The load read every page of the entities table into this connection's page cache
        // (up to SQLite's default 2 MiB); writes touch a few pages, so give the cache back.
        conn.execute_batch("PRAGMA shrink_memory; PRAGMA mmap_size = 0")
            .map_err(backend)?;
        Ok(())
    }

    /// `wal_checkpoint(TRUNCATE)`: every page of the WAL copied into the file and the WAL
    /// emptied. SQLite does this itself when the last connection closes, but not always (a
    /// serve that started on the WAL a `kill -9` left stopped with all 8 MB of it in place),
    /// and a start on a WAL reads all of it: at 10,000 principals 63 against 45 ms of CPU to
    /// the banner (BENCHMARKS.md). A checkpoint that another connection's read holds back
    /// (busy) leaves the WAL for the next start, which reads it as it always could.
    fn fold_log(&self) -> Result<(), StoreError> {
        let conn = self.conn.lock();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(backend)
    }

    fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        let mut conn = self.conn.lock();
        let tx = conn.transaction().map_err(backend)?;
        for c in changes {
            match c {
                Change::Put(e) => {
                    let body = serde_json::to_string(e)
                        .map_err(|err| StoreError::Backend(err.to_string()))?;
                    tx.execute(
                        "INSERT INTO entities(kind, id, body) VALUES (?1, ?2, ?3)
                         ON CONFLICT(kind, id) DO UPDATE SET body = excluded.body",
                        params![e.kind(), e.id(), body],
                    )
                    .map_err(backend)?;
                }
                Change::Delete { kind, id } => {
                    tx.execute(
                        "DELETE FROM entities WHERE kind = ?1 AND id = ?2",
                        params![kind, id],
                    )
                    .map_err(backend)?;
                }
            }
        }
        tx.commit().map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bg_gates::State;

    #[test]
    fn persists_across_reopen_in_wal_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/state.db");
        let path = path.to_str().unwrap();
        {
            let s = SqliteStore::open(path).unwrap();
            assert_eq!(s.journal_mode(), "wal");
            let ch = State::default().bootstrap_changes();
            s.apply(&ch).unwrap();
        }
        let s = SqliteStore::open(path).unwrap();
        let state = State::from_entities(s.load().unwrap());
        assert!(state.bootstrap_changes().is_empty());
        // the file was mapped for the load only
        let mapped: i64 = s
            .conn
            .lock()
            .query_row("PRAGMA mmap_size", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mapped, 0);
        s.apply(&[Change::Delete {
            kind: "access-key",
            id: "test".into(),
        }])
        .unwrap();
        let state = State::from_entities(s.load().unwrap());
        assert!(!state.keys.contains_key("test"));
    }

    #[test]
    fn folding_the_log_empties_the_wal_and_keeps_every_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let wal = dir.path().join("state.db-wal");
        let s = SqliteStore::open(path.to_str().unwrap()).unwrap();
        // a second connection open meanwhile, as the journal's are in serve
        let other = SqliteStore::open_with(path.to_str().unwrap(), false).unwrap();
        s.apply(&State::default().bootstrap_changes()).unwrap();
        assert!(std::fs::metadata(&wal).unwrap().len() > 0);
        s.fold_log().unwrap();
        assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0);
        drop((s, other));
        let s = SqliteStore::open(path.to_str().unwrap()).unwrap();
        let state = State::load(&s).unwrap();
        assert!(state.bootstrap_changes().is_empty());
        assert!(state.keys.contains_key("test"));
    }

    #[test]
    fn rows_load_whatever_their_field_order_and_a_body_of_another_kind_is_corrupt() {
        let s = SqliteStore::open(":memory:").unwrap();
        let insert = |kind: &str, id: &str, body: &str| {
            s.conn
                .lock()
                .execute(
                    "INSERT INTO entities VALUES (?1, ?2, ?3)",
                    params![kind, id, body],
                )
                .unwrap();
        };
        // as serde writes it (the tag first), and as a hand edit might (the tag last)
        insert(
            "account",
            "111111111111",
            r#"{"entity":"account","id":"111111111111"}"#,
        );
        insert(
            "account",
            "222222222222",
            r#"{"id":"222222222222","entity":"account"}"#,
        );
        let ids: Vec<String> = s.load().unwrap().iter().map(Entity::id).collect();
        assert_eq!(ids, ["111111111111", "222222222222"]);
        insert(
            "principal",
            "arn:x",
            r#"{"entity":"account","id":"333333333333"}"#,
        );
        match s.load() {
            Err(StoreError::Corrupt { kind, id, detail }) => {
                assert_eq!((kind.as_str(), id.as_str()), ("principal", "arn:x"));
                assert_eq!(
                    detail,
                    "the row's kind is principal but its body is of kind account"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn corrupt_rows_are_reported_not_panicked() {
        let s = SqliteStore::open(":memory:").unwrap();
        s.conn
            .lock()
            .execute(
                "INSERT INTO entities VALUES ('account','x','{not json')",
                [],
            )
            .unwrap();
        assert!(matches!(s.load(), Err(StoreError::Corrupt { .. })));
    }
}
