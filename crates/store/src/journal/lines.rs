//! CloudWatch Logs lines, stored by batch (`log_batches`, schema version 3).
//!
//! A batch is a run of lines of one stream that one journal transaction wrote, numbered
//! `first_seq .. first_seq + n - 1`. Its lines are encoded one after another (time, ingestion
//! time, length, message; little-endian) and LZ4-compressed: invocation records of one stream
//! repeat most of their text from line to line, so a batch stores in a fraction of its size.
//! One row and one index entry a batch, instead of a ~1.3 KB row and an index entry a line,
//! was most of what model invocation logging cost the writer thread (issue 13, BENCHMARKS.md).
//!
//! LZ4 (the `lz4_flex` crate, pure Rust) because the writer thread compresses every line it
//! logs: it compresses at several hundred MB/s, where deflate (already a dependency, for the
//! S3 destination's gzip) costs more per line than the storage it saves.

use super::{backend, LogMessage, LogRow, StoredLog};
use bg_gates::StoreError;
use rusqlite::{params, Connection, OptionalExtension};
use std::sync::Arc;

/// Lines a batch holds at most: a read that wants one line decodes at most this many, and a
/// reader can bound `first_seq` from below (`first_seq > after - MAX_LINES`).
pub const MAX_LINES: i64 = 256;
/// Encoded bytes a batch holds at most (a single longer line is a batch of its own).
const MAX_RAW: usize = 256 * 1024;
/// What a stored batch may claim to expand to: a damaged row is reported, never allowed to
/// allocate without bound. A line holds at most two 100 KB bodies (larger ones go to S3).
const RAW_LIMIT: usize = 16 << 20;
/// time, ingestion time, payload length (its top bit: the payload is facts, [`FACTS`]).
const HEADER: usize = 8 + 8 + 4;
/// The length field's bit that marks a line stored as facts (a [`LogMessage::Facts`]): its
/// payload is the text's length (u32) and then the facts. Lines stored before facts existed
/// (schema version 3 as first written) never have it set: a payload is at most 16 MiB.
const FACTS: u32 = 1 << 31;

/// A stored line's payload, borrowed from its decoded batch.
#[derive(Debug, PartialEq)]
enum Payload<'a> {
    Text(&'a str),
    Facts { facts: &'a [u8], text_len: u32 },
}

/// Appends one line's encoding to `raw`.
fn encode(raw: &mut Vec<u8>, time_ms: i64, ingest_ms: i64, message: &LogMessage) {
    raw.extend_from_slice(&time_ms.to_le_bytes());
    raw.extend_from_slice(&ingest_ms.to_le_bytes());
    match message {
        LogMessage::Text(text) => {
            raw.extend_from_slice(&(text.len() as u32).to_le_bytes());
            raw.extend_from_slice(text.as_bytes());
        }
        LogMessage::Facts { facts, text_len } => {
            raw.extend_from_slice(&((4 + facts.len()) as u32 | FACTS).to_le_bytes());
            raw.extend_from_slice(&(*text_len as u32).to_le_bytes());
            raw.extend_from_slice(facts);
        }
    }
}

/// The payload bytes a message stores (what a batch's room is counted in).
fn payload_len(message: &LogMessage) -> usize {
    match message {
        LogMessage::Text(text) => text.len(),
        LogMessage::Facts { facts, .. } => 4 + facts.len(),
    }
}

/// The lines of an encoded batch: (time, ingestion time, payload).
fn decode(raw: &[u8]) -> Result<Vec<(i64, i64, Payload<'_>)>, StoreError> {
    let corrupt = || StoreError::Backend("a stored log batch is damaged".into());
    let mut out = Vec::new();
    let mut rest = raw;
    while !rest.is_empty() {
        if rest.len() < HEADER {
            return Err(corrupt());
        }
        let time = i64::from_le_bytes(rest[0..8].try_into().unwrap());
        let ingest = i64::from_le_bytes(rest[8..16].try_into().unwrap());
        let field = u32::from_le_bytes(rest[16..20].try_into().unwrap());
        let len = (field & !FACTS) as usize;
        let body = rest.get(HEADER..HEADER + len).ok_or_else(corrupt)?;
        let payload = if field & FACTS == 0 {
            Payload::Text(std::str::from_utf8(body).map_err(|_| corrupt())?)
        } else {
            let (text_len, facts) = body.split_first_chunk::<4>().ok_or_else(corrupt)?;
            Payload::Facts {
                facts,
                text_len: u32::from_le_bytes(*text_len),
            }
        };
        out.push((time, ingest, payload));
        rest = &rest[HEADER + len..];
    }
    Ok(out)
}

fn inflate(raw_len: i64, data: &[u8]) -> Result<Vec<u8>, StoreError> {
    super::inflate(raw_len, data, RAW_LIMIT)
        .ok_or_else(|| StoreError::Backend("a stored log batch is damaged".into()))
}

/// The seq the next line gets (1 in an empty table, as the version-2 `AUTOINCREMENT` did).
fn next_seq(conn: &Connection) -> rusqlite::Result<i64> {
    Ok(conn
        .query_row(
            "SELECT first_seq + n FROM log_batches ORDER BY first_seq DESC LIMIT 1",
            [],
            |r| r.get::<_, i64>(0),
        )
        .optional()?
        .unwrap_or(1))
}

/// The stream a batch belongs to.
struct Key<'a> {
    account: &'a str,
    region: &'a str,
    group: &'a str,
    stream: &'a str,
}

/// A batch being gathered: its lines encoded into `raw`, and its figures.
struct Batch {
    raw: Vec<u8>,
    n: i64,
    min_ms: i64,
    max_ms: i64,
    max_ingest: i64,
    /// The messages' text bytes (a line stored as facts counts its text's length):
    /// CloudWatch's `storedBytes`.
    bytes: i64,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            raw: Vec::new(),
            n: 0,
            min_ms: i64::MAX,
            max_ms: i64::MIN,
            max_ingest: i64::MIN,
            bytes: 0,
        }
    }

    /// Whether a line of this message's length still goes in (an empty batch takes any).
    fn has_room(&self, message_len: usize) -> bool {
        self.n == 0 || (self.n < MAX_LINES && self.raw.len() + HEADER + message_len <= MAX_RAW)
    }

    fn push(&mut self, time_ms: i64, ingest_ms: i64, message: &LogMessage) {
        encode(&mut self.raw, time_ms, ingest_ms, message);
        self.n += 1;
        self.min_ms = self.min_ms.min(time_ms);
        self.max_ms = self.max_ms.max(time_ms);
        self.max_ingest = self.max_ingest.max(ingest_ms);
        self.bytes += message.text_len() as i64;
    }

    /// Writes the batch as lines `first_seq..` of `key`'s stream (nothing if it is empty) and
    /// empties it; returns how many lines it held.
    fn write(&mut self, conn: &Connection, first_seq: i64, key: &Key) -> rusqlite::Result<i64> {
        let n = self.n;
        if n > 0 {
            let data = lz4_flex::block::compress(&self.raw);
            conn.prepare_cached(
                "INSERT INTO log_batches(first_seq, account, region, grp, stream, n, min_ms, max_ms, max_ingest, bytes, raw_len, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?
            .execute(params![
                first_seq,
                key.account,
                key.region,
                key.group,
                key.stream,
                n,
                self.min_ms,
                self.max_ms,
                self.max_ingest,
                self.bytes,
                self.raw.len() as i64,
                data
            ])?;
        }
        // Emptied, its buffer kept for the next batch.
        let mut raw = std::mem::take(&mut self.raw);
        raw.clear();
        *self = Batch {
            raw,
            ..Batch::new()
        };
        Ok(n)
    }
}

/// Appends `logs` (inside the caller's transaction): the lines of each stream in the order
/// given, a stream's lines together, streams in the order they first appear. Lines of two
/// streams that arrived interleaved within one batch are numbered stream by stream (a
/// group's `FilterLogEvents` order is by seq; the batch spans the writer's few milliseconds).
pub(crate) fn append(conn: &Connection, logs: &[LogRow]) -> rusqlite::Result<()> {
    if logs.is_empty() {
        return Ok(());
    }
    let mut seq = next_seq(conn)?;
    let mut done = vec![false; logs.len()];
    let mut batch = Batch::new();
    for i in 0..logs.len() {
        if done[i] {
            continue;
        }
        let first = &logs[i];
        let key = Key {
            account: &first.account,
            region: &first.region,
            group: &first.group,
            stream: &first.stream,
        };
        let same = |l: &LogRow| {
            *l.stream == *key.stream
                && *l.group == *key.group
                && *l.account == *key.account
                && *l.region == *key.region
        };
        for j in i..logs.len() {
            if done[j] || !same(&logs[j]) {
                continue;
            }
            let l = &logs[j];
            if !batch.has_room(payload_len(&l.message)) {
                seq += batch.write(conn, seq, &key)?;
            }
            batch.push(l.time_ms, l.ingest_ms, &l.message);
            done[j] = true;
        }
        seq += batch.write(conn, seq, &key)?;
    }
    Ok(())
}

/// Moves a version-2 file's lines (`log_events`, a row each) into batches, keeping each
/// line's seq (FilterLogEvents' `eventId` and tokens), then drops the old table. Runs inside
/// the upgrade's transaction; nothing to do on any other file.
pub(crate) fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let old = super::counts_any(
        conn,
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'log_events'",
    )?;
    if !old {
        return Ok(());
    }
    {
        let mut stmt = conn.prepare(
            "SELECT seq, account, region, grp, stream, time_ms, ingest_ms, message FROM log_events ORDER BY seq",
        )?;
        let mut rows = stmt.query([])?;
        // The run being gathered: its stream (account, Region, group, stream), first and last
        // seq. A run is one stream's lines with consecutive seqs.
        let mut current: Option<([String; 4], i64, i64)> = None;
        let mut batch = Batch::new();
        let write = |batch: &mut Batch, current: &Option<([String; 4], i64, i64)>| {
            let Some((k, first, _)) = current else {
                return Ok(0);
            };
            let key = Key {
                account: &k[0],
                region: &k[1],
                group: &k[2],
                stream: &k[3],
            };
            batch.write(conn, *first, &key)
        };
        while let Some(r) = rows.next()? {
            let seq: i64 = r.get(0)?;
            let key: [String; 4] = [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?];
            let (time_ms, ingest_ms, message): (i64, i64, String) =
                (r.get(5)?, r.get(6)?, r.get(7)?);
            let continues = matches!(&current, Some((k, _, last)) if *k == key && *last + 1 == seq)
                && batch.has_room(message.len());
            if !continues {
                write(&mut batch, &current)?;
                current = Some((key, seq, seq));
            }
            if let Some(c) = current.as_mut() {
                c.2 = seq;
            }
            batch.push(time_ms, ingest_ms, &LogMessage::Text(message));
        }
        write(&mut batch, &current)?;
    }
    conn.execute_batch("DROP TABLE log_events")
}

/// Lines of a group, oldest first, after `after_seq`, in `[start, end)`, optionally of one
/// stream, at most `limit`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn read(
    conn: &Connection,
    account: &str,
    region: &str,
    group: &str,
    stream: Option<&str>,
    start_ms: i64,
    end_ms: i64,
    after_seq: i64,
    limit: usize,
) -> Result<Vec<StoredLog>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT first_seq, stream, raw_len, data FROM log_batches
             WHERE account = ?1 AND region = ?2 AND grp = ?3 AND (?4 IS NULL OR stream = ?4)
               AND max_ms >= ?5 AND min_ms < ?6
               AND first_seq > ?7 - ?8 AND first_seq + n - 1 > ?7
             ORDER BY first_seq",
        )
        .map_err(backend)?;
    let mut rows = stmt
        .query(params![
            account, region, group, stream, start_ms, end_ms, after_seq, MAX_LINES
        ])
        .map_err(backend)?;
    let mut out = Vec::new();
    // The names every line of the page shares, made once.
    let (account, region, group): (Arc<str>, Arc<str>, Arc<str>) =
        (account.into(), region.into(), group.into());
    let mut last_stream: Option<Arc<str>> = None;
    while out.len() < limit {
        let Some(r) = rows.next().map_err(backend)? else {
            break;
        };
        let first: i64 = r.get(0).map_err(backend)?;
        let stream = r
            .get_ref(1)
            .map_err(backend)?
            .as_str()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let stream = match last_stream.take() {
            Some(s) if *s == *stream => s,
            _ => Arc::from(stream),
        };
        last_stream = Some(stream.clone());
        let raw_len: i64 = r.get(2).map_err(backend)?;
        let data = r
            .get_ref(3)
            .map_err(backend)?
            .as_blob()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let raw = inflate(raw_len, data)?;
        for (i, (time_ms, ingest_ms, message)) in decode(&raw)?.into_iter().enumerate() {
            let seq = first + i as i64;
            if seq <= after_seq || time_ms < start_ms || time_ms >= end_ms {
                continue;
            }
            out.push(StoredLog {
                seq,
                row: LogRow {
                    account: account.clone(),
                    region: region.clone(),
                    group: group.clone(),
                    stream: stream.clone(),
                    time_ms,
                    ingest_ms,
                    message: match message {
                        Payload::Text(text) => LogMessage::Text(text.to_string()),
                        Payload::Facts { facts, text_len } => LogMessage::Facts {
                            facts: facts.to_vec(),
                            text_len: text_len as usize,
                        },
                    },
                },
            });
            if out.len() == limit {
                break;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_through_the_encoding() {
        let mut raw = Vec::new();
        encode(&mut raw, -5, 7, &LogMessage::Text(String::new()));
        encode(
            &mut raw,
            1_764_748_800_000,
            1_764_748_800_001,
            &LogMessage::Text("{\"a\":\"é\"}".into()),
        );
        encode(
            &mut raw,
            3,
            4,
            &LogMessage::Facts {
                facts: vec![0, 0xff, 1],
                text_len: 1234,
            },
        );
        assert_eq!(
            decode(&raw).unwrap(),
            vec![
                (-5, 7, Payload::Text("")),
                (
                    1_764_748_800_000,
                    1_764_748_800_001,
                    Payload::Text("{\"a\":\"é\"}")
                ),
                (
                    3,
                    4,
                    Payload::Facts {
                        facts: &[0, 0xff, 1],
                        text_len: 1234
                    }
                ),
            ]
        );
        // A cut or a length past the end is damage, not a panic.
        for cut in [1, HEADER - 1, raw.len() - 1] {
            assert!(decode(&raw[..cut]).is_err(), "cut at {cut}");
        }
        // Facts too short to hold their text's length.
        let mut short = raw[..HEADER].to_vec();
        short[16..20].copy_from_slice(&(2 | FACTS).to_le_bytes());
        short.extend_from_slice(&[1, 2]);
        assert!(decode(&short).is_err());
        assert!(inflate(RAW_LIMIT as i64 + 1, b"").is_err());
        assert!(inflate(10, b"\x00").is_err());
    }
}
