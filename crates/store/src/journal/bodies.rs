//! CloudTrail events' records (`CloudTrailEvent`), stored by block (`trail_bodies`, schema
//! version 4) apart from their rows.
//!
//! An event's row (`trail_events`) keeps what LookupEvents filters and pages by; its record,
//! ~1.2 KB of JSON, goes into the block of the journal transaction that wrote it: the records
//! encoded one after another (seq, length, text; little-endian) and LZ4-compressed. Records of
//! one writer batch repeat most of their text (identity, Region, model, user agent), so a block
//! stores in a fraction of its size. Writing each record into its row was half of what an
//! event cost the writer thread (issue 11: the hot path's CPU, BENCHMARKS.md).
//!
//! A block covers the seqs `first_seq ..= last_seq` and holds the record of every event of
//! that range its transaction inserted (`INSERT OR IGNORE` may skip a duplicate event ID, so
//! each record carries its seq). Reading an event decodes its block; a page of LookupEvents
//! mostly falls in one or two blocks, each decoded once for the page.

use super::{backend, TrailRow};
use bg_gates::StoreError;
use rusqlite::{params, Connection, OptionalExtension};

/// Records a block holds at most: reading one record decodes at most this many.
const MAX_RECORDS: usize = 256;
/// Encoded bytes a block holds at most (a single longer record is a block of its own).
const MAX_RAW: usize = 256 * 1024;
/// What a stored block may claim to expand to: a damaged row is reported, never allowed to
/// allocate without bound. Records are bounded well below this by the request size limit.
const RAW_LIMIT: usize = 16 << 20;
/// seq, record length.
const HEADER: usize = 8 + 4;

fn corrupt() -> StoreError {
    StoreError::Backend("a stored CloudTrail event block is damaged".into())
}

/// The records of a block being gathered, encoded into `raw`.
pub(crate) struct Block {
    raw: Vec<u8>,
    n: usize,
    first_seq: i64,
    last_seq: i64,
}

impl Block {
    pub(crate) fn new() -> Block {
        Block {
            raw: Vec::new(),
            n: 0,
            first_seq: 0,
            last_seq: 0,
        }
    }

    /// Adds the record of event `seq` (seqs ascending), first writing the block out if it
    /// has no room for it.
    pub(crate) fn push(&mut self, conn: &Connection, seq: i64, body: &str) -> rusqlite::Result<()> {
        let full =
            self.n > 0 && (self.n >= MAX_RECORDS || self.raw.len() + HEADER + body.len() > MAX_RAW);
        if full {
            self.write(conn)?;
        }
        if self.n == 0 {
            self.first_seq = seq;
        }
        self.raw.extend_from_slice(&seq.to_le_bytes());
        self.raw
            .extend_from_slice(&(body.len() as u32).to_le_bytes());
        self.raw.extend_from_slice(body.as_bytes());
        self.n += 1;
        self.last_seq = seq;
        Ok(())
    }

    /// Writes the block (nothing if it is empty) and empties it, keeping its buffer.
    pub(crate) fn write(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        if self.n == 0 {
            return Ok(());
        }
        let data = lz4_flex::block::compress(&self.raw);
        conn.prepare_cached(
            "INSERT INTO trail_bodies(first_seq, last_seq, raw_len, data) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![
            self.first_seq,
            self.last_seq,
            self.raw.len() as i64,
            data
        ])?;
        self.raw.clear();
        self.n = 0;
        Ok(())
    }
}

/// Where each record of an encoded block is: (seq, start, end) in `raw`. Text is checked as
/// UTF-8 only when a record is read ([`record`]), not for the whole block.
fn decode(raw: &[u8]) -> Result<Vec<(i64, usize, usize)>, StoreError> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < raw.len() {
        let header = raw.get(at..at + HEADER).ok_or_else(corrupt)?;
        let seq = i64::from_le_bytes(header[0..8].try_into().unwrap());
        let len = u32::from_le_bytes(header[8..12].try_into().unwrap()) as usize;
        let end = (at + HEADER).checked_add(len).ok_or_else(corrupt)?;
        if end > raw.len() {
            return Err(corrupt());
        }
        out.push((seq, at + HEADER, end));
        at = end;
    }
    Ok(out)
}

/// The record of event `seq` in a decoded block.
fn record<'a>(
    raw: &'a [u8],
    index: &[(i64, usize, usize)],
    seq: i64,
) -> Result<&'a str, StoreError> {
    // Records are in seq order within a block.
    let i = index
        .binary_search_by_key(&seq, |(s, _, _)| *s)
        .map_err(|_| corrupt())?;
    let (_, start, end) = index[i];
    std::str::from_utf8(&raw[start..end]).map_err(|_| corrupt())
}

/// Fills in the record of each `(seq, row)` from its block; rows keep their order. Blocks are
/// decoded once each, however many of the rows they hold.
pub(crate) fn fill(
    conn: &Connection,
    rows: Vec<(i64, TrailRow)>,
) -> Result<Vec<(i64, TrailRow)>, StoreError> {
    // The blocks decoded so far, (first_seq, last_seq, raw, index); a page touches one or two.
    type Decoded = (i64, i64, Vec<u8>, Vec<(i64, usize, usize)>);
    let mut blocks: Vec<Decoded> = Vec::new();
    let mut stmt = conn
        .prepare_cached(
            "SELECT first_seq, last_seq, raw_len, data FROM trail_bodies
             WHERE first_seq <= ?1 ORDER BY first_seq DESC LIMIT 1",
        )
        .map_err(backend)?;
    let mut out = Vec::with_capacity(rows.len());
    for (seq, mut row) in rows {
        let at = match blocks
            .iter()
            .position(|(f, l, _, _)| *f <= seq && seq <= *l)
        {
            Some(i) => i,
            None => {
                // Expanded straight from SQLite's copy of the blob (None: damaged).
                let found = stmt
                    .query_row(params![seq], |r| {
                        let raw = r
                            .get_ref(3)?
                            .as_blob()
                            .ok()
                            .and_then(|data| super::inflate(r.get(2).ok()?, data, RAW_LIMIT));
                        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, raw))
                    })
                    .optional()
                    .map_err(backend)?;
                let Some((first, last, Some(raw))) = found else {
                    return Err(corrupt());
                };
                if seq > last {
                    return Err(corrupt());
                }
                let index = decode(&raw)?;
                blocks.push((first, last, raw, index));
                blocks.len() - 1
            }
        };
        let (_, _, raw, index) = &blocks[at];
        row.body = record(raw, index, seq)?.to_string();
        out.push((seq, row));
    }
    Ok(out)
}

/// After events were deleted: the blocks none of whose events is left.
pub(crate) fn prune(conn: &Connection) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM trail_bodies WHERE last_seq < COALESCE((SELECT min(seq) FROM trail_events), 9223372036854775807)",
        [],
    )
}

/// Moves a version-2 or 3 file's records (`trail_events.body`) into blocks, then drops the
/// column. Runs inside the upgrade's transaction; nothing to do on any other file.
pub(crate) fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let old = super::counts_any(
        conn,
        "SELECT count(*) FROM pragma_table_info('trail_events') WHERE name = 'body'",
    )?;
    if !old {
        return Ok(());
    }
    {
        let mut stmt = conn.prepare("SELECT seq, body FROM trail_events ORDER BY seq")?;
        let mut rows = stmt.query([])?;
        let mut block = Block::new();
        while let Some(r) = rows.next()? {
            let seq: i64 = r.get(0)?;
            let body = r.get_ref(1)?.as_str()?;
            block.push(conn, seq, body)?;
        }
        block.write(conn)?;
    }
    conn.execute_batch("ALTER TABLE trail_events DROP COLUMN body")
}

/// The blocks stored, as (first_seq, last_seq) in order: what the tests of blocks check.
#[cfg(test)]
pub(crate) fn ranges(conn: &Connection) -> Vec<(i64, i64)> {
    conn.prepare("SELECT first_seq, last_seq FROM trail_bodies ORDER BY first_seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_through_the_encoding() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(crate::SCHEMA).unwrap();
        let mut block = Block::new();
        block.push(&conn, 3, "").unwrap();
        block.push(&conn, 5, "{\"a\":\"é\"}").unwrap();
        let raw = block.raw.clone();
        let index = decode(&raw).unwrap();
        assert_eq!(index.len(), 2);
        assert_eq!(record(&raw, &index, 3).unwrap(), "");
        assert_eq!(record(&raw, &index, 5).unwrap(), "{\"a\":\"é\"}");
        assert!(record(&raw, &index, 4).is_err());
        // A cut or a length past the end is damage, not a panic.
        for cut in [1, HEADER - 1, raw.len() - 1] {
            assert!(decode(&raw[..cut]).is_err(), "cut at {cut}");
        }
        assert!(super::super::inflate(RAW_LIMIT as i64 + 1, b"", RAW_LIMIT).is_none());
        assert!(super::super::inflate(10, b"\x00", RAW_LIMIT).is_none());
        block.write(&conn).unwrap();
        let (first, last, raw_len): (i64, i64, i64) = conn
            .query_row(
                "SELECT first_seq, last_seq, raw_len FROM trail_bodies",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!((first, last, raw_len), (3, 5, raw.len() as i64));
    }

    /// A block is full at MAX_RECORDS records, or when the next record would take it past
    /// MAX_RAW bytes; a record longer than that is a block of its own.
    #[test]
    fn blocks_end_at_their_limits() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(crate::SCHEMA).unwrap();
        let mut block = Block::new();
        for seq in 1..=(MAX_RECORDS as i64 + 1) {
            block.push(&conn, seq, "{}").unwrap();
        }
        let big = "x".repeat(MAX_RAW);
        block.push(&conn, 300, &big).unwrap();
        block.push(&conn, 301, "{}").unwrap();
        block.write(&conn).unwrap();
        assert_eq!(
            ranges(&conn),
            vec![(1, MAX_RECORDS as i64), (257, 257), (300, 300), (301, 301)]
        );
    }
}
