//! The journal: CloudTrail events and CloudWatch Logs events, in two tables beside the
//! entities of the same state file.
//!
//! Its own connections (one writer, one reader) so that appending a batch of events never
//! waits behind an entity write's lock in this process, and a lookup (WAL: readers never
//! block the writer) never waits behind an append. Appends are one transaction per batch with
//! `synchronous=FULL`: a batch is durable when [`Journal::append`] returns.

use crate::OpenError;
use bg_gates::StoreError;
use parking_lot::Mutex;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(crate) mod bodies;
pub(crate) mod lines;

/// One CloudTrail event as stored: the indexed attributes LookupEvents filters on, the record
/// itself (`body`, the JSON AWS calls `CloudTrailEvent`) and our diagnosis of a refusal.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrailRow {
    pub event_id: String,
    pub time_ms: i64,
    pub account: String,
    pub region: String,
    pub event_name: String,
    pub event_source: String,
    pub username: String,
    pub access_key_id: String,
    pub read_only: bool,
    pub resource_type: String,
    pub resource_name: String,
    pub body: String,
    /// JSON (gate, reason, fix) for a refusal a gate or check explained; None otherwise.
    pub diagnosis: Option<String>,
}

/// One line of a CloudWatch Logs stream. Its stream's names are shared (`Arc<str>`): a writer
/// of many lines, and a read of a page of them, makes each once, not once a line (issue 13).
#[derive(Clone, Debug, PartialEq)]
pub struct LogRow {
    pub account: Arc<str>,
    pub region: Arc<str>,
    pub group: Arc<str>,
    pub stream: Arc<str>,
    pub time_ms: i64,
    pub ingest_ms: i64,
    pub message: LogMessage,
}

/// A line's message as stored: its text, or the facts its writer renders the text from when
/// the line is read. A model invocation record is stored as facts: building its JSON text for
/// every logged call was most of what logging cost the journal writer (issue 13), and a line
/// is written once and read rarely. The journal keeps facts opaque; only their writer's
/// reader knows their encoding.
#[derive(Clone, Debug, PartialEq)]
pub enum LogMessage {
    Text(String),
    /// `text_len`: the rendered text's length in bytes (what `storedBytes` counts, as for a
    /// text line).
    Facts {
        facts: Vec<u8>,
        text_len: usize,
    },
}

impl LogMessage {
    /// The length of the line's text.
    pub fn text_len(&self) -> usize {
        match self {
            LogMessage::Text(t) => t.len(),
            LogMessage::Facts { text_len, .. } => *text_len,
        }
    }

    /// The text of a text line.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            LogMessage::Text(t) => Some(t),
            LogMessage::Facts { .. } => None,
        }
    }
}

/// A stored log line with its position (the `eventId` FilterLogEvents reports).
#[derive(Clone, Debug, PartialEq)]
pub struct StoredLog {
    pub seq: i64,
    pub row: LogRow,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LogGroup {
    pub name: String,
    pub created_ms: i64,
    pub retention_days: Option<i64>,
    pub stored_bytes: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LogStream {
    pub name: String,
    pub first_ms: i64,
    pub last_ms: i64,
    pub last_ingest_ms: i64,
    pub stored_bytes: i64,
}

/// What LookupEvents asks for: one account and Region, an optional attribute, a time range,
/// and the page after `after` (the (time, seq) of the last event of the previous page).
#[derive(Clone, Debug, Default)]
pub struct TrailQuery {
    pub account: String,
    pub region: String,
    /// (column, value): the column is one of [`ATTRIBUTE_COLUMNS`].
    pub attribute: Option<(&'static str, String)>,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub after: Option<(i64, i64)>,
    pub limit: usize,
}

/// A page of events and the cursor (time, seq) of its last one when more may follow.
pub type TrailPage = (Vec<TrailRow>, Option<(i64, i64)>);

/// LookupEvents' attribute keys and the column each reads.
pub const ATTRIBUTE_COLUMNS: &[(&str, &str)] = &[
    ("EventId", "event_id"),
    ("EventName", "event_name"),
    ("ReadOnly", "read_only"),
    ("Username", "username"),
    ("ResourceType", "resource_type"),
    ("ResourceName", "resource_name"),
    ("EventSource", "event_source"),
    ("AccessKeyId", "access_key_id"),
];

/// Pages of WAL (4 KiB each) after which the journal's writer checkpoints: 16 MiB.
const WAL_CHECKPOINT_PAGES: i64 = 4096;

pub struct Journal {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    /// The state file's directory (None for `:memory:`): the S3 destination lives under it.
    dir: Option<PathBuf>,
}

/// Whether `count_sql` (a `SELECT count(*) ...`) counts anything: what an upgrade step asks
/// before it moves an older layout's rows.
fn counts_any(conn: &Connection, count_sql: &str) -> rusqlite::Result<bool> {
    conn.query_row(count_sql, [], |r| r.get::<_, i64>(0))
        .map(|n| n > 0)
}

/// An LZ4 block that claims to expand to `raw_len` bytes, expanded; None when it is damaged:
/// a claim past `limit` (never allowed to allocate without bound), a block that does not
/// decode, or one of another length than claimed.
fn inflate(raw_len: i64, data: &[u8], limit: usize) -> Option<Vec<u8>> {
    let len = usize::try_from(raw_len).ok().filter(|n| *n <= limit)?;
    lz4_flex::block::decompress(data, len)
        .ok()
        .filter(|raw| raw.len() == len)
}

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// The columns [`trail_row`] reads; the record (`body`) is filled in from its block
/// ([`bodies::fill`]).
const TRAIL_COLUMNS: &str = "seq, event_id, time_ms, account, region, event_name, event_source, username, access_key_id, read_only, resource_type, resource_name, diagnosis";

fn trail_row(r: &rusqlite::Row) -> rusqlite::Result<(i64, TrailRow)> {
    Ok((
        r.get(0)?,
        TrailRow {
            event_id: r.get(1)?,
            time_ms: r.get(2)?,
            account: r.get(3)?,
            region: r.get(4)?,
            event_name: r.get(5)?,
            event_source: r.get(6)?,
            username: r.get(7)?,
            access_key_id: r.get(8)?,
            read_only: r.get::<_, i64>(9)? != 0,
            resource_type: r.get(10)?,
            resource_name: r.get(11)?,
            body: String::new(),
            diagnosis: r.get(12)?,
        },
    ))
}

impl Journal {
    /// The journal of the state file at `path`, which [`crate::SqliteStore::open`] has already
    /// opened (and so created or upgraded the tables of). `:memory:` gives a private in-memory
    /// journal.
    pub fn open(path: &str) -> Result<Journal, OpenError> {
        let io = |e: rusqlite::Error| OpenError::Io {
            what: "open journal of",
            path: path.to_string(),
            detail: e.to_string(),
        };
        if path == ":memory:" {
            return Journal::memory().map_err(|e| OpenError::Io {
                what: "open journal of",
                path: path.to_string(),
                detail: e.to_string(),
            });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let writer = Connection::open_with_flags(path, flags).map_err(io)?;
        let reader = Connection::open_with_flags(path, flags).map_err(io)?;
        for c in [&writer, &reader] {
            c.busy_timeout(std::time::Duration::from_secs(5))
                .map_err(io)?;
            c.pragma_update(None, "synchronous", "FULL").map_err(io)?;
        }
        // Checkpoint the WAL every WAL_CHECKPOINT_PAGES instead of SQLite's 1,000: the tail
        // pages of the event tables are rewritten by every batch, and a checkpoint copies each
        // page once however many versions the WAL holds, so a longer WAL copies fewer.
        writer
            .pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_PAGES)
            .map_err(io)?;
        let dir = Path::new(path)
            .parent()
            .map(|d| {
                if d.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    d.to_path_buf()
                }
            })
            .unwrap_or_else(|| PathBuf::from("."));
        Ok(Journal {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            dir: Some(dir),
        })
    }

    /// A journal in memory only (tests, benches, `--state :memory:`): a shared-cache database
    /// of its own name, so the writer and the reader see the same tables.
    pub fn memory() -> Result<Journal, StoreError> {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let uri = format!(
            "file:bg-journal-{}-{n}?mode=memory&cache=shared",
            std::process::id()
        );
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let writer = Connection::open_with_flags(&uri, flags).map_err(backend)?;
        writer.execute_batch(crate::SCHEMA).map_err(backend)?;
        let reader = Connection::open_with_flags(&uri, flags).map_err(backend)?;
        // Shared-cache connections lock tables, not the file: a reader must not fail while
        // the writer holds the table, it reads what is committed.
        reader
            .pragma_update(None, "read_uncommitted", true)
            .map_err(backend)?;
        Ok(Journal {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            dir: None,
        })
    }

    /// The state file's directory; None in memory.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Append events and log lines in one transaction. Log lines of a group that does not
    /// exist create it.
    ///
    /// `durable`: fsync at this commit (`synchronous=FULL`); else `NORMAL`, which in WAL mode
    /// survives the process being killed (the WAL is written before the commit returns) but
    /// not a power cut. The next FULL commit of either connection syncs the WAL, and with it
    /// every commit before it: a flush (or a state write) makes everything before it durable.
    pub fn append(
        &self,
        events: &[TrailRow],
        logs: &[LogRow],
        durable: bool,
    ) -> Result<(), StoreError> {
        let mut conn = self.writer.lock();
        conn.pragma_update(None, "synchronous", if durable { "FULL" } else { "NORMAL" })
            .map_err(backend)?;
        let tx = conn.transaction().map_err(backend)?;
        {
            let mut ins = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO trail_events(event_id, time_ms, account, region, event_name, event_source, username, access_key_id, read_only, resource_type, resource_name, diagnosis)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                )
                .map_err(backend)?;
            let mut block = bodies::Block::new();
            for e in events {
                let inserted = ins
                    .execute(params![
                        e.event_id,
                        e.time_ms,
                        e.account,
                        e.region,
                        e.event_name,
                        e.event_source,
                        e.username,
                        e.access_key_id,
                        e.read_only as i64,
                        e.resource_type,
                        e.resource_name,
                        e.diagnosis
                    ])
                    .map_err(backend)?;
                // An event ID already stored (a batch written again) keeps its first record.
                if inserted == 1 {
                    block
                        .push(&tx, tx.last_insert_rowid(), &e.body)
                        .map_err(backend)?;
                }
            }
            block.write(&tx).map_err(backend)?;
            // Delivery creates a group that is not there yet (as Bedrock's console offers to):
            // a configured destination always receives its records.
            let mut group = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO log_groups(account, region, name, created_ms) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(backend)?;
            // One upsert per group of the batch, not one per line (a batch is mostly one group).
            let mut made: Vec<(&str, &str, &str)> = Vec::new();
            for l in logs {
                let key = (&*l.account, &*l.region, &*l.group);
                if !made.contains(&key) {
                    group
                        .execute(params![l.account, l.region, l.group, l.time_ms])
                        .map_err(backend)?;
                    made.push(key);
                }
            }
        }
        lines::append(&tx, logs).map_err(backend)?;
        tx.commit().map_err(backend)
    }

    /// Delete events older than `before_ms` (retention), at most `limit` of them (bounded
    /// work per call). Returns how many went.
    pub fn prune_events(&self, before_ms: i64, limit: usize) -> Result<usize, StoreError> {
        let mut conn = self.writer.lock();
        let tx = conn.transaction().map_err(backend)?;
        let gone = tx
            .execute(
                "DELETE FROM trail_events WHERE seq IN (SELECT seq FROM trail_events WHERE time_ms < ?1 ORDER BY seq LIMIT ?2)",
                params![before_ms, limit as i64],
            )
            .map_err(backend)?;
        if gone > 0 {
            bodies::prune(&tx).map_err(backend)?;
        }
        tx.commit().map_err(backend)?;
        Ok(gone)
    }

    /// Newest first. Returns the page and the cursor of its last event when more may follow.
    pub fn lookup(&self, q: &TrailQuery) -> Result<TrailPage, StoreError> {
        let mut sql = format!(
            "SELECT {TRAIL_COLUMNS} FROM trail_events WHERE account = ?1 AND region = ?2 AND time_ms >= ?3 AND time_ms <= ?4"
        );
        let (after_t, after_s) = q.after.unwrap_or((i64::MAX, i64::MAX));
        // The cursor bounds the index range from above (`time_ms <= ?4`), so a deep page seeks
        // to its place instead of scanning the pages before it; ties are cut by `seq`.
        sql.push_str(" AND (time_ms < ?5 OR seq < ?6)");
        let value = match &q.attribute {
            Some((col, v)) => {
                // The column comes from ATTRIBUTE_COLUMNS, never from the request.
                sql.push_str(&format!(" AND {col} = ?7"));
                if *col == "read_only" {
                    rusqlite::types::Value::Integer((v == "true") as i64)
                } else {
                    rusqlite::types::Value::Text(v.clone())
                }
            }
            None => {
                sql.push_str(" AND ?7 IS NULL");
                rusqlite::types::Value::Null
            }
        };
        sql.push_str(" ORDER BY time_ms DESC, seq DESC LIMIT ?8");
        let conn = self.reader.lock();
        let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
        let rows = stmt
            .query_map(
                params![
                    q.account,
                    q.region,
                    q.start_ms.unwrap_or(i64::MIN),
                    q.end_ms.unwrap_or(i64::MAX).min(after_t),
                    after_t,
                    after_s,
                    value,
                    (q.limit + 1) as i64
                ],
                trail_row,
            )
            .map_err(backend)?;
        let mut out: Vec<(i64, TrailRow)> = rows.collect::<Result<_, _>>().map_err(backend)?;
        let more = out.len() > q.limit;
        out.truncate(q.limit);
        drop(stmt);
        let out = bodies::fill(&conn, out)?;
        let cursor = if more {
            out.last().map(|(seq, r)| (r.time_ms, *seq))
        } else {
            None
        };
        Ok((out.into_iter().map(|(_, r)| r).collect(), cursor))
    }

    /// Refusals with a diagnosis (the audit log), newest first, after the cursor `after`
    /// (a `seq`).
    pub fn refusals(
        &self,
        after: Option<i64>,
        limit: usize,
    ) -> Result<(Vec<TrailRow>, Option<i64>), StoreError> {
        let conn = self.reader.lock();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {TRAIL_COLUMNS} FROM trail_events WHERE diagnosis IS NOT NULL AND seq < ?1 ORDER BY seq DESC LIMIT ?2"
            ))
            .map_err(backend)?;
        let rows = stmt
            .query_map(
                params![after.unwrap_or(i64::MAX), (limit + 1) as i64],
                trail_row,
            )
            .map_err(backend)?;
        let mut out: Vec<(i64, TrailRow)> = rows.collect::<Result<_, _>>().map_err(backend)?;
        let more = out.len() > limit;
        out.truncate(limit);
        drop(stmt);
        let out = bodies::fill(&conn, out)?;
        let cursor = if more {
            out.last().map(|(s, _)| *s)
        } else {
            None
        };
        Ok((out.into_iter().map(|(_, r)| r).collect(), cursor))
    }

    /// One event by its ID, whatever its account.
    pub fn event(&self, event_id: &str) -> Result<Option<TrailRow>, StoreError> {
        let conn = self.reader.lock();
        let found = conn
            .query_row(
                &format!("SELECT {TRAIL_COLUMNS} FROM trail_events WHERE event_id = ?1"),
                params![event_id],
                trail_row,
            )
            .optional()
            .map_err(backend)?;
        Ok(match found {
            Some(row) => bodies::fill(&conn, vec![row])?.pop().map(|(_, r)| r),
            None => None,
        })
    }

    pub fn count_events(&self) -> Result<i64, StoreError> {
        self.reader
            .lock()
            .query_row("SELECT count(*) FROM trail_events", [], |r| r.get(0))
            .map_err(backend)
    }

    // ---- CloudWatch Logs ----

    /// Create a log group; false if it exists already.
    pub fn create_log_group(
        &self,
        account: &str,
        region: &str,
        name: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let conn = self.writer.lock();
        conn.execute(
            "INSERT OR IGNORE INTO log_groups(account, region, name, created_ms) VALUES (?1, ?2, ?3, ?4)",
            params![account, region, name, now_ms],
        )
        .map(|n| n == 1)
        .map_err(backend)
    }

    /// Set (Some) or remove (None) a group's retention; false if there is no such group.
    pub fn set_retention(
        &self,
        account: &str,
        region: &str,
        name: &str,
        days: Option<i64>,
    ) -> Result<bool, StoreError> {
        let conn = self.writer.lock();
        conn.execute(
            "UPDATE log_groups SET retention_days = ?4 WHERE account = ?1 AND region = ?2 AND name = ?3",
            params![account, region, name, days],
        )
        .map(|n| n == 1)
        .map_err(backend)
    }

    /// Groups whose name starts with `prefix`, by name, after `after`.
    pub fn log_groups(
        &self,
        account: &str,
        region: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<LogGroup>, StoreError> {
        let conn = self.reader.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT g.name, g.created_ms, g.retention_days,
                        (SELECT coalesce(sum(bytes), 0) FROM log_batches e WHERE e.account = g.account AND e.region = g.region AND e.grp = g.name)
                 FROM log_groups g
                 WHERE g.account = ?1 AND g.region = ?2 AND substr(g.name, 1, length(?3)) = ?3 AND g.name > ?4
                 ORDER BY g.name LIMIT ?5",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map(
                params![account, region, prefix, after.unwrap_or(""), limit as i64],
                |r| {
                    Ok(LogGroup {
                        name: r.get(0)?,
                        created_ms: r.get(1)?,
                        retention_days: r.get(2)?,
                        stored_bytes: r.get(3)?,
                    })
                },
            )
            .map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    pub fn log_group(
        &self,
        account: &str,
        region: &str,
        name: &str,
    ) -> Result<Option<LogGroup>, StoreError> {
        Ok(self
            .log_groups(account, region, name, None, 1)?
            .into_iter()
            .find(|g| g.name == name))
    }

    /// The streams of a group (from its lines), by name.
    pub fn log_streams(
        &self,
        account: &str,
        region: &str,
        group: &str,
        prefix: &str,
    ) -> Result<Vec<LogStream>, StoreError> {
        let conn = self.reader.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT stream, min(min_ms), max(max_ms), max(max_ingest), sum(bytes)
                 FROM log_batches WHERE account = ?1 AND region = ?2 AND grp = ?3 AND substr(stream, 1, length(?4)) = ?4
                 GROUP BY stream ORDER BY stream",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map(params![account, region, group, prefix], |r| {
                Ok(LogStream {
                    name: r.get(0)?,
                    first_ms: r.get(1)?,
                    last_ms: r.get(2)?,
                    last_ingest_ms: r.get(3)?,
                    stored_bytes: r.get(4)?,
                })
            })
            .map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)
    }

    /// Lines of a group, oldest first, after `after_seq`, in `[start, end)`, optionally of one
    /// stream; lines older than `retained_from_ms` are not returned (retention).
    #[allow(clippy::too_many_arguments)]
    pub fn log_lines(
        &self,
        account: &str,
        region: &str,
        group: &str,
        stream: Option<&str>,
        start_ms: Option<i64>,
        end_ms: Option<i64>,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<StoredLog>, StoreError> {
        lines::read(
            &self.reader.lock(),
            account,
            region,
            group,
            stream,
            start_ms.unwrap_or(i64::MIN),
            end_ms.unwrap_or(i64::MAX),
            after_seq,
            limit,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(i: i64, name: &str) -> TrailRow {
        TrailRow {
            event_id: format!("e{i}"),
            time_ms: 1000 + i / 2,
            account: "a".into(),
            region: "us-east-1".into(),
            event_name: name.into(),
            event_source: "bedrock.amazonaws.com".into(),
            read_only: true,
            body: "{}".into(),
            ..Default::default()
        }
    }

    /// Every event `q` selects, page after page as LookupEvents' NextToken walks them.
    fn every_page(j: &Journal, q: &TrailQuery) -> Vec<TrailRow> {
        let mut q = q.clone();
        let mut seen = Vec::new();
        loop {
            let (page, cursor) = j.lookup(&q).unwrap();
            seen.extend(page);
            match cursor {
                Some(c) => q.after = Some(c),
                None => return seen,
            }
        }
    }

    /// Every way an event is read back (a LookupEvents page, by ID, the refusals) gives the
    /// record it was appended with, across blocks and appends; an event ID appended again
    /// keeps its first record; pruning drops the blocks whose events are all gone.
    #[test]
    fn records_read_back_from_their_blocks() {
        let j = Journal::memory().unwrap();
        let body = |i: i64| {
            format!(
                "{{\"eventID\":\"e{i}\",\"pad\":\"{}\"}}",
                "x".repeat(i as usize % 7)
            )
        };
        let mk = |i: i64| TrailRow {
            body: body(i),
            time_ms: 1000 + i,
            diagnosis: (i % 100 == 0).then(|| format!("d{i}")),
            ..row(i, "Converse")
        };
        // 600 events in one append (three blocks), then 10 more in another.
        j.append(&(0..600).map(mk).collect::<Vec<_>>(), &[], true)
            .unwrap();
        j.append(&(600..610).map(mk).collect::<Vec<_>>(), &[], true)
            .unwrap();
        let again = TrailRow {
            body: "{\"second\":true}".into(),
            ..mk(5)
        };
        j.append(&[again, mk(610)], &[], true).unwrap();
        let q = TrailQuery {
            account: "a".into(),
            region: "us-east-1".into(),
            limit: 50,
            ..Default::default()
        };
        let seen: Vec<_> = every_page(&j, &q)
            .into_iter()
            .map(|r| (r.event_id, r.body))
            .collect();
        let want: Vec<(String, String)> =
            (0..611).rev().map(|i| (format!("e{i}"), body(i))).collect();
        assert_eq!(seen, want);
        assert_eq!(j.event("e257").unwrap().unwrap().body, body(257));
        assert_eq!(j.event("e610").unwrap().unwrap().body, body(610));
        assert_eq!(j.event("nope").unwrap(), None);
        let (refusals, _) = j.refusals(None, 10).unwrap();
        let got: Vec<(String, String)> =
            refusals.into_iter().map(|r| (r.event_id, r.body)).collect();
        let want: Vec<(String, String)> = [600, 500, 400, 300, 200, 100, 0]
            .iter()
            .map(|&i| (format!("e{i}"), body(i)))
            .collect();
        assert_eq!(got, want);

        let blocks = || bodies::ranges(&j.reader.lock());
        // e5's ignored second insert still took seq 611 (AUTOINCREMENT): e610 is 612, and
        // the block skips 611
        assert_eq!(
            blocks(),
            vec![(1, 256), (257, 512), (513, 600), (601, 610), (612, 612)]
        );
        assert_eq!(j.prune_events(1000 + 300, 1000).unwrap(), 300);
        assert_eq!(
            blocks(),
            vec![(257, 512), (513, 600), (601, 610), (612, 612)]
        );
        assert_eq!(j.event("e300").unwrap().unwrap().body, body(300));
        assert_eq!(j.prune_events(i64::MAX, 1000).unwrap(), 311);
        assert_eq!(blocks(), vec![]);
    }

    #[test]
    fn lookup_pages_newest_first_through_equal_times() {
        let j = Journal::memory().unwrap();
        let rows: Vec<TrailRow> = (0..25)
            .map(|i| {
                row(
                    i,
                    if i % 5 == 0 {
                        "Converse"
                    } else {
                        "ListFoundationModels"
                    },
                )
            })
            .collect();
        j.append(&rows, &[], true).unwrap();
        let mut q = TrailQuery {
            account: "a".into(),
            region: "us-east-1".into(),
            limit: 4,
            ..Default::default()
        };
        let seen: Vec<_> = every_page(&j, &q).into_iter().map(|r| r.event_id).collect();
        let want: Vec<String> = (0..25).rev().map(|i| format!("e{i}")).collect();
        assert_eq!(seen, want);
        q.attribute = Some(("event_name", "Converse".into()));
        q.limit = 50;
        let (page, cursor) = j.lookup(&q).unwrap();
        assert_eq!(page.len(), 5);
        assert_eq!(cursor, None);
        q.attribute = Some(("read_only", "false".into()));
        assert!(j.lookup(&q).unwrap().0.is_empty());
    }

    fn line(stream: &str, time_ms: i64, message: String) -> LogRow {
        LogRow {
            account: "a".into(),
            region: "us-east-1".into(),
            group: "/g".into(),
            stream: stream.into(),
            time_ms,
            ingest_ms: time_ms + 1,
            message: LogMessage::Text(message),
        }
    }

    /// A line stored as facts comes back as the same facts, numbered among text lines, and
    /// counts its text's length, not its facts', in `storedBytes`.
    #[test]
    fn facts_lines_read_back_as_stored() {
        let j = Journal::memory().unwrap();
        let facts = LogMessage::Facts {
            facts: vec![1, 0, 0xff],
            text_len: 1000,
        };
        let mut f = line("s", 2, String::new());
        f.message = facts.clone();
        j.append(
            &[],
            &[line("s", 1, "one".into()), f, line("s", 3, "three".into())],
            false,
        )
        .unwrap();
        let got: Vec<(i64, LogMessage)> = j
            .log_lines("a", "us-east-1", "/g", None, None, None, 0, 10)
            .unwrap()
            .into_iter()
            .map(|l| (l.seq, l.row.message))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, LogMessage::Text("one".into())),
                (2, facts),
                (3, LogMessage::Text("three".into()))
            ]
        );
        let g = j.log_group("a", "us-east-1", "/g").unwrap().unwrap();
        assert_eq!(g.stored_bytes, 3 + 1000 + 5);
    }

    /// Lines are stored by batch (at most lines::MAX_LINES a batch) and read back one by one:
    /// numbered from 1 in the order written (a stream's lines of one append together), paged
    /// by seq, filtered by stream and time, counted per stream and group.
    #[test]
    fn log_lines_read_back_across_batches() {
        let j = Journal::memory().unwrap();
        let n = lines::MAX_LINES as usize + 44;
        // s1 and s2 interleaved in one append; s2's lines follow all of s1's.
        let logs: Vec<LogRow> = (0..n)
            .map(|i| {
                line(
                    if i % 10 == 9 { "s2" } else { "s1" },
                    i as i64,
                    format!("m{i}"),
                )
            })
            .collect();
        j.append(&[], &logs, true).unwrap();
        j.append(&[], &[line("s1", 1000, "last".into())], false)
            .unwrap();
        let s1: Vec<usize> = (0..n).filter(|i| i % 10 != 9).collect();
        let s2: Vec<usize> = (0..n).filter(|i| i % 10 == 9).collect();
        let mut want: Vec<(i64, String)> = s1
            .iter()
            .chain(s2.iter())
            .enumerate()
            .map(|(k, i)| (k as i64 + 1, format!("m{i}")))
            .collect();
        want.push((n as i64 + 1, "last".into()));
        let all = |stream: Option<&str>, start, end, page: usize| {
            let mut got = Vec::new();
            let mut after = 0;
            loop {
                let p = j
                    .log_lines("a", "us-east-1", "/g", stream, start, end, after, page)
                    .unwrap();
                let Some(last) = p.last() else { break };
                after = last.seq;
                got.extend(
                    p.into_iter()
                        .map(|l| (l.seq, l.row.message.as_text().unwrap().to_string())),
                );
            }
            got
        };
        assert_eq!(all(None, None, None, 7), want);
        assert_eq!(all(None, None, None, 1000), want);
        let only_s2: Vec<(i64, String)> = want
            .iter()
            .filter(|(_, m)| m != "last" && s2.contains(&m[1..].parse::<usize>().unwrap()))
            .cloned()
            .collect();
        assert_eq!(all(Some("s2"), None, None, 3), only_s2);
        let window: Vec<(i64, String)> = want
            .iter()
            .filter(|(_, m)| {
                m.strip_prefix('m')
                    .is_some_and(|t| (100..200).contains(&t.parse::<i64>().unwrap()))
            })
            .cloned()
            .collect();
        assert_eq!(window.len(), 100);
        assert_eq!(all(None, Some(100), Some(200), 9), window);
        let streams = j.log_streams("a", "us-east-1", "/g", "").unwrap();
        let bytes = |ix: &[usize]| ix.iter().map(|i| format!("m{i}").len() as i64).sum::<i64>();
        assert_eq!(
            streams,
            vec![
                LogStream {
                    name: "s1".into(),
                    first_ms: 0,
                    last_ms: 1000,
                    last_ingest_ms: 1001,
                    stored_bytes: bytes(&s1) + 4,
                },
                LogStream {
                    name: "s2".into(),
                    first_ms: 9,
                    last_ms: *s2.last().unwrap() as i64,
                    last_ingest_ms: *s2.last().unwrap() as i64 + 1,
                    stored_bytes: bytes(&s2),
                },
            ]
        );
        let g = j.log_group("a", "us-east-1", "/g").unwrap().unwrap();
        assert_eq!(g.stored_bytes, bytes(&s1) + bytes(&s2) + 4);
        assert!(j
            .log_lines("a", "us-east-1", "/other", None, None, None, 0, 10)
            .unwrap()
            .is_empty());
    }
}

#[cfg(test)]
mod upgrade_tests {
    use crate::SqliteStore;
    use bg_gates::{State, Store};

    /// The CloudTrail tables of versions 2 and 3 (each record in its event's row) and the
    /// log groups.
    const TRAIL_V2_TABLES: &str = "CREATE TABLE trail_events (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, time_ms INTEGER NOT NULL, account TEXT NOT NULL, region TEXT NOT NULL, event_name TEXT NOT NULL, event_source TEXT NOT NULL, username TEXT NOT NULL, access_key_id TEXT NOT NULL, read_only INTEGER NOT NULL, resource_type TEXT NOT NULL, resource_name TEXT NOT NULL, body TEXT NOT NULL, diagnosis TEXT);
         CREATE INDEX trail_by_time ON trail_events(account, region, time_ms, seq);
         CREATE INDEX trail_by_name ON trail_events(account, region, event_name, time_ms);
         CREATE INDEX trail_refusals ON trail_events(seq) WHERE diagnosis IS NOT NULL;
         CREATE TABLE log_groups (account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, created_ms INTEGER NOT NULL, retention_days INTEGER, PRIMARY KEY (account, region, name));";

    /// A state file stamped `version`, holding the version-1 tables and then `tables` (its
    /// later tables and rows), in a directory that lives as long as the returned guard.
    fn old_file(version: i32, tables: &[&str]) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db").to_str().unwrap().to_string();
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(V1_TABLES).unwrap();
        for t in tables {
            c.execute_batch(t).unwrap();
        }
        c.pragma_update(None, "application_id", crate::APPLICATION_ID)
            .unwrap();
        c.pragma_update(None, "user_version", version).unwrap();
        (dir, path)
    }

    /// The tables of a version-1 file.
    const V1_TABLES: &str = "CREATE TABLE entities (kind TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (kind, id));
         CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
         INSERT INTO meta VALUES ('schema_version', '1');";

    /// A version-1 file (entities and meta only, stamped 1) opens: its entities are kept, the
    /// journal tables are added, and it is stamped with the current version.
    #[test]
    fn a_version_1_file_is_upgraded_in_place() {
        let (_dir, path) = old_file(1, &[]);
        let path = path.as_str();
        {
            let s = SqliteStore::open(path).unwrap();
            s.apply(&State::default().bootstrap_changes()).unwrap();
        }
        let s = SqliteStore::open(path).unwrap();
        assert!(!State::from_entities(s.load().unwrap()).keys.is_empty());
        let j = super::Journal::open(path).unwrap();
        assert_eq!(j.count_events().unwrap(), 0);
        let c = rusqlite::Connection::open(path).unwrap();
        let v: i32 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, crate::SCHEMA_VERSION);
    }

    /// A version-3 file keeps each CloudTrail record in its event's row: the upgrade moves
    /// the records into blocks and drops the column; every event reads back as it was, and
    /// new events continue after the last seq.
    #[test]
    fn a_version_3_files_records_move_into_blocks() {
        let (_dir, path) = old_file(
            3,
            &[
                TRAIL_V2_TABLES,
                "CREATE TABLE log_batches (first_seq INTEGER PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL, grp TEXT NOT NULL, stream TEXT NOT NULL, n INTEGER NOT NULL, min_ms INTEGER NOT NULL, max_ms INTEGER NOT NULL, max_ingest INTEGER NOT NULL, bytes INTEGER NOT NULL, raw_len INTEGER NOT NULL, data BLOB NOT NULL);
                 CREATE INDEX log_batch_by_group ON log_batches(account, region, grp, first_seq);
                 INSERT INTO trail_events(seq, event_id, time_ms, account, region, event_name, event_source, username, access_key_id, read_only, resource_type, resource_name, body, diagnosis) VALUES
                   (1, 'e1', 10, 'a', 'us-east-1', 'Converse', 'bedrock.amazonaws.com', 'u', 'AKIA1', 0, '', '', '{\"one\":1}', NULL),
                   (2, 'e2', 11, 'a', 'us-east-1', 'Converse', 'bedrock.amazonaws.com', 'u', 'AKIA1', 0, '', '', '{\"two\":2}', '{\"gate\":\"iam\"}'),
                   (4, 'e4', 12, 'a', 'us-east-1', 'GetFoundationModel', 'bedrock.amazonaws.com', 'u', 'AKIA1', 1, '', '', '{\"four\":4}', NULL);",
            ],
        );
        let path = path.as_str();
        drop(SqliteStore::open(path).unwrap());
        let c = rusqlite::Connection::open(path).unwrap();
        let has_body: i64 = c
            .query_row(
                "SELECT count(*) FROM pragma_table_info('trail_events') WHERE name = 'body'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(has_body, 0);
        let v: i32 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, crate::SCHEMA_VERSION);
        assert_eq!(super::bodies::ranges(&c), vec![(1, 4)]);
        let j = super::Journal::open(path).unwrap();
        let q = super::TrailQuery {
            account: "a".into(),
            region: "us-east-1".into(),
            limit: 10,
            ..Default::default()
        };
        let got: Vec<(String, String)> = j
            .lookup(&q)
            .unwrap()
            .0
            .into_iter()
            .map(|r| (r.event_id, r.body))
            .collect();
        let want = [
            ("e4", "{\"four\":4}"),
            ("e2", "{\"two\":2}"),
            ("e1", "{\"one\":1}"),
        ];
        assert_eq!(got, want.map(|(e, b)| (e.to_string(), b.to_string())));
        let refused = j.refusals(None, 10).unwrap().0;
        assert_eq!(
            (refused[0].body.as_str(), refused[0].diagnosis.as_deref()),
            ("{\"two\":2}", Some("{\"gate\":\"iam\"}"))
        );
        j.append(
            &[super::TrailRow {
                event_id: "e5".into(),
                time_ms: 13,
                account: "a".into(),
                region: "us-east-1".into(),
                body: "{\"five\":5}".into(),
                ..Default::default()
            }],
            &[],
            true,
        )
        .unwrap();
        assert_eq!(j.event("e5").unwrap().unwrap().body, "{\"five\":5}");
        assert_eq!(j.event("e1").unwrap().unwrap().body, "{\"one\":1}");
        let last: i64 = c
            .query_row("SELECT max(last_seq) FROM trail_bodies", [], |r| r.get(0))
            .unwrap();
        assert_eq!(last, 5);
    }

    /// A version-2 file keeps a row per log line (`log_events`): the upgrade moves them into
    /// batches with their seqs, runs of one stream with consecutive seqs together, and drops
    /// the old table; every line reads back as it was.
    #[test]
    fn a_version_2_files_log_lines_move_into_batches() {
        let (_dir, path) = old_file(
            2,
            &[
                TRAIL_V2_TABLES,
                "CREATE TABLE log_events (seq INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL, region TEXT NOT NULL, grp TEXT NOT NULL, stream TEXT NOT NULL, time_ms INTEGER NOT NULL, ingest_ms INTEGER NOT NULL, message TEXT NOT NULL);
                 CREATE INDEX log_by_group ON log_events(account, region, grp, seq);
                 INSERT INTO log_groups VALUES ('a', 'us-east-1', '/g', 1, NULL);
                 INSERT INTO log_events(seq, account, region, grp, stream, time_ms, ingest_ms, message) VALUES
                   (1, 'a', 'us-east-1', '/g', 's1', 10, 11, 'one'),
                   (2, 'a', 'us-east-1', '/g', 's1', 12, 13, 'two'),
                   (3, 'a', 'us-east-1', '/g', 's2', 14, 15, 'three'),
                   (5, 'a', 'us-east-1', '/g', 's2', 16, 17, 'five');",
            ],
        );
        let path = path.as_str();
        drop(SqliteStore::open(path).unwrap());
        let c = rusqlite::Connection::open(path).unwrap();
        let batches: Vec<(i64, String, i64)> = c
            .prepare("SELECT first_seq, stream, n FROM log_batches ORDER BY first_seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            batches,
            vec![
                (1, "s1".into(), 2),
                (3, "s2".into(), 1),
                (5, "s2".into(), 1)
            ]
        );
        let old: i64 = c
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name IN ('log_events', 'log_by_group')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(old, 0);
        let j = super::Journal::open(path).unwrap();
        let lines = j
            .log_lines("a", "us-east-1", "/g", None, None, None, 0, 10)
            .unwrap();
        let got: Vec<(i64, &str, i64, i64, &str)> = lines
            .iter()
            .map(|l| {
                (
                    l.seq,
                    &*l.row.stream,
                    l.row.time_ms,
                    l.row.ingest_ms,
                    l.row.message.as_text().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (1, "s1", 10, 11, "one"),
                (2, "s1", 12, 13, "two"),
                (3, "s2", 14, 15, "three"),
                (5, "s2", 16, 17, "five")
            ]
        );
        assert_eq!(
            j.log_group("a", "us-east-1", "/g")
                .unwrap()
                .unwrap()
                .stored_bytes,
            15
        );
        // New lines continue after the last seq.
        j.append(
            &[],
            &[super::LogRow {
                account: "a".into(),
                region: "us-east-1".into(),
                group: "/g".into(),
                stream: "s1".into(),
                time_ms: 20,
                ingest_ms: 21,
                message: super::LogMessage::Text("six".into()),
            }],
            true,
        )
        .unwrap();
        let lines = j
            .log_lines("a", "us-east-1", "/g", Some("s1"), None, None, 2, 10)
            .unwrap();
        assert_eq!(lines.len(), 1);
        assert_eq!(
            (lines[0].seq, lines[0].row.message.as_text()),
            (6, Some("six"))
        );
    }
}
