//! The embedded store: SQLite (bundled) in WAL mode behind [`bg_gates::Store`].
//!
//! Each entity is one JSON row keyed by (kind, id). A batch of changes is one transaction with
//! `synchronous=FULL`, so a write the server acknowledged survives `kill -9` and power loss.
//! This crate does I/O; pure crates must never depend on it.

use bg_gates::{Change, Entity, Store, StoreError};
use parking_lot::Mutex;
use rusqlite::{params, Connection};
use std::path::Path;

pub struct SqliteStore {
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS entities (
    kind TEXT NOT NULL,
    id   TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '1');
";

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl SqliteStore {
    /// Open (creating if needed) the database at `path`; `:memory:` gives a private in-memory one.
    pub fn open(path: &str) -> Result<SqliteStore, StoreError> {
        let conn = if path == ":memory:" {
            Connection::open_in_memory().map_err(backend)?
        } else {
            if let Some(dir) = Path::new(path).parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        StoreError::Backend(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
            }
            let c = Connection::open(path).map_err(backend)?;
            // WAL: readers never block the writer; FULL: fsync at every commit (durability over
            // a few hundred microseconds per write, which only control-plane calls pay).
            c.pragma_update(None, "journal_mode", "WAL")
                .map_err(backend)?;
            c
        };
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(backend)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(backend)?;
        conn.execute_batch(SCHEMA).map_err(backend)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    pub fn journal_mode(&self) -> String {
        self.conn
            .lock()
            .query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
            .unwrap_or_default()
    }
}

impl Store for SqliteStore {
    fn load(&self) -> Result<Vec<Entity>, StoreError> {
        let conn = self.conn.lock();
        let mut stmt = conn
            .prepare("SELECT kind, id, body FROM entities ORDER BY kind, id")
            .map_err(backend)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(backend)?;
        let mut out = Vec::new();
        for row in rows {
            let (kind, id, body) = row.map_err(backend)?;
            let e: Entity = serde_json::from_str(&body).map_err(|e| StoreError::Corrupt {
                kind: kind.clone(),
                id: id.clone(),
                detail: e.to_string(),
            })?;
            out.push(e);
        }
        Ok(out)
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
        s.apply(&[Change::Delete {
            kind: "access-key",
            id: "test".into(),
        }])
        .unwrap();
        let state = State::from_entities(s.load().unwrap());
        assert!(!state.keys.contains_key("test"));
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
