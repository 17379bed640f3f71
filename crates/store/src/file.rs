//! The state file on disk: is it ours, who may read it, and who holds it.
//!
//! A state file holds secret access keys, so it and its `-wal`/`-shm` are `0600` and a
//! directory we create for it is `0700`, whatever the umask. It carries our
//! `PRAGMA application_id` and its schema version in `PRAGMA user_version`, so that a file
//! that is not ours (another program's database, garbage, a file from a newer version) is
//! refused before anything writes to it.

use crate::SCHEMA;
use rusqlite::{Connection, OpenFlags};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

/// `PRAGMA application_id` of a bedrock-gates state file: "BGST" in ASCII.
pub const APPLICATION_ID: i32 = 0x4247_5354;
/// `PRAGMA user_version`: the layout of the tables. 1 is the `entities` + `meta` layout that
/// files made before the application id existed already have (`meta.schema_version = '1'`);
/// 2 adds the journal (CloudTrail events, CloudWatch Logs groups and lines). A version-1 file
/// is upgraded in place by [`initialise`] (new tables only: nothing existing changes); 3 keeps
/// log lines by batch (`log_batches`) instead of a row each (`log_events`, whose rows a
/// version-2 file's upgrade moves over in the same transaction); 4 keeps CloudTrail records by
/// block (`trail_bodies`) instead of in their events' rows (moved over at upgrade too), and its
/// log batches may hold invocation records stored as their facts (`journal::lines`), which a
/// version-3 reader would take for damage: the version bump keeps such readers out.
pub const SCHEMA_VERSION: i32 = 4;

/// The objects of a version-1 file, as `classify` lists them.
const V1_OBJECTS: &[&str] = &["table entities", "table meta"];
/// The objects of a version-2 file, as `classify` lists them (by name).
const V2_OBJECTS: &[&str] = &[
    "table entities",
    "table log_events",
    "table log_groups",
    "table meta",
    "table trail_events",
    "index log_by_group",
    "index trail_by_name",
    "index trail_by_time",
    "index trail_refusals",
];
/// The objects of a version-3 file.
const V3_OBJECTS: &[&str] = &[
    "table entities",
    "table log_batches",
    "table log_groups",
    "table meta",
    "table trail_events",
    "index log_batch_by_group",
    "index trail_by_name",
    "index trail_by_time",
    "index trail_refusals",
];

/// The objects of a version-4 file.
const V4_OBJECTS: &[&str] = &[
    "table entities",
    "table log_batches",
    "table log_groups",
    "table meta",
    "table trail_bodies",
    "table trail_events",
    "index log_batch_by_group",
    "index trail_by_name",
    "index trail_by_time",
    "index trail_refusals",
];

/// Why a state file cannot be used. Each message names the file and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{path} is not a bedrock-gates state file ({why}); point --state at another path or move it away")]
    NotOurs { path: String, why: String },
    #[error("{path} was written by a newer bedrock-gates (state schema version {found}; this one reads up to {SCHEMA_VERSION}); upgrade bedrock-gates or point --state at another path")]
    Newer { path: String, found: i32 },
    #[error("{path} is in use by another bedrock-gates serve ({holder}); stop it or point --state at another path")]
    InUse { path: String, holder: String },
    #[error("cannot {what} {path}: {detail}")]
    Io {
        what: &'static str,
        path: String,
        detail: String,
    },
}

impl From<OpenError> for bg_gates::StoreError {
    fn from(e: OpenError) -> Self {
        bg_gates::StoreError::Backend(e.to_string())
    }
}

fn io_error(what: &'static str, path: &Path) -> impl FnOnce(io::Error) -> OpenError {
    let path = path.display().to_string();
    move |e| OpenError::Io {
        what,
        path,
        detail: e.to_string(),
    }
}

fn not_ours(path: &Path, why: impl Into<String>) -> OpenError {
    OpenError::NotOurs {
        path: path.display().to_string(),
        why: why.into(),
    }
}

/// What an existing SQLite file turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// Ours, at this schema version (never newer than [`SCHEMA_VERSION`]).
    Ours(i32),
    /// Our tables without the application id: a file made before ids were stamped.
    Legacy,
}

/// Checks the file's first bytes without SQLite: `Ok(false)` when there is no file. Catches
/// what needs no database engine (empty, not SQLite, another application's id) so that such
/// a file is never handed to SQLite at all.
pub(crate) fn check_header(path: &Path) -> Result<bool, OpenError> {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io_error("read", path)(e)),
    };
    if !meta.is_file() {
        return Err(not_ours(path, "not a regular file"));
    }
    if meta.len() == 0 {
        return Err(not_ours(path, "empty, 0 bytes"));
    }
    let mut header = [0u8; 100];
    let mut f = File::open(path).map_err(io_error("read", path))?;
    let mut got = 0;
    while got < header.len() {
        match f.read(&mut header[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error("read", path)(e)),
        }
    }
    if got < header.len() || &header[..16] != b"SQLite format 3\0" {
        return Err(not_ours(path, "not an SQLite database"));
    }
    // The header's copy may be stale only towards 0 (a stamp still in the WAL), never towards
    // another application's id; classify() reads the live value.
    let app = i32::from_be_bytes([header[68], header[69], header[70], header[71]]);
    if app != 0 && app != APPLICATION_ID {
        return Err(not_ours(path, app_id_text(app)));
    }
    Ok(true)
}

fn app_id_text(app: i32) -> String {
    format!("application_id {:#010x}", app as u32)
}

/// Decides from the live database whether it is ours. Reads only.
pub(crate) fn classify(conn: &Connection, path: &Path) -> Result<Found, OpenError> {
    let unreadable = |e: rusqlite::Error| not_ours(path, format!("unreadable: {e}"));
    let app: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(unreadable)?;
    let version: i32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(unreadable)?;
    if app == APPLICATION_ID && version > SCHEMA_VERSION {
        return Err(OpenError::Newer {
            path: path.display().to_string(),
            found: version,
        });
    }
    if app != 0 && app != APPLICATION_ID {
        return Err(not_ours(path, app_id_text(app)));
    }
    // application_id 0 is every SQLite file's default: ours only if its objects are exactly
    // the tables that bedrock-gates has always created (SQLite's own `sqlite_*` aside). Our
    // own files are read the same way: it proves the schema pages are readable.
    let mut stmt = conn
        .prepare(
            "SELECT type || ' ' || name FROM sqlite_master
             WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
        )
        .map_err(unreadable)?;
    let objects = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(unreadable)?;
    let mut sorted: Vec<&str> = objects.iter().map(String::as_str).collect();
    sorted.sort_by_key(|o| (!o.starts_with("table"), *o));
    // Any of our layouts is ours; an unstamped file with the version-2, 3 or 4 tables is a
    // stamped file whose stamp was lost (adopted like a legacy one).
    if [V1_OBJECTS, V2_OBJECTS, V3_OBJECTS, V4_OBJECTS].contains(&sorted.as_slice()) {
        return Ok(if app == APPLICATION_ID {
            Found::Ours(version)
        } else {
            Found::Legacy
        });
    }
    if objects.is_empty() {
        return Err(not_ours(
            path,
            "an SQLite database without bedrock-gates tables",
        ));
    }
    let names: Vec<&str> = objects
        .iter()
        .take(5)
        .map(|o| o.split_once(' ').map_or(o.as_str(), |(_, n)| n))
        .collect();
    let more = if objects.len() > 5 { ", ..." } else { "" };
    Err(not_ours(
        path,
        format!(
            "an SQLite database with other tables: {}{more}",
            names.join(", ")
        ),
    ))
}

/// Classifies an existing file through a read-only connection, which never writes to the
/// database file. Without a `-wal` beside it the file is complete, so it is opened
/// `immutable` (SQLite then creates no `-wal`/`-shm` next to what may be another program's
/// file); with one, the WAL may hold the latest pages (a serve killed before its checkpoint)
/// and must be read.
pub(crate) fn classify_read_only(path: &Path) -> Result<Found, OpenError> {
    let unreadable = |e: rusqlite::Error| not_ours(path, format!("unreadable: {e}"));
    let has_wal = Path::new(&format!("{}-wal", path.display())).exists();
    let conn = if has_wal {
        Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
    } else {
        Connection::open_with_flags(
            format!("file:{}?immutable=1", uri_path(path)),
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
    }
    .map_err(unreadable)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(unreadable)?;
    classify(&conn, path)
}

/// `path` as the path part of an SQLite `file:` URI: every byte but unreserved ones and `/`
/// percent-encoded (`?`, `#` and `%` would otherwise end or alter it).
fn uri_path(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = String::new();
    for &b in absolute.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Creates the tables and stamps a new file; adopts a legacy one (same tables, stamped); one
/// transaction, so a crash leaves the file as it was.
pub(crate) fn initialise(conn: &mut Connection, found: Option<Found>) -> rusqlite::Result<()> {
    if found == Some(Found::Ours(SCHEMA_VERSION)) {
        return Ok(());
    }
    let tx = conn.transaction()?;
    tx.execute_batch(SCHEMA)?;
    crate::journal::lines::migrate(&tx)?;
    crate::journal::bodies::migrate(&tx)?;
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()
}

/// Creates the missing directories of `dir`, each `0700` (set explicitly: the umask could
/// leave group or other bits). Existing directories are left as they are.
pub(crate) fn create_private_dirs(dir: &Path) -> Result<(), OpenError> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_private_dirs(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => set_mode(dir, 0o700).map_err(io_error("set permissions of", dir)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(io_error("create directory", dir)(e)),
    }
}

/// Creates an empty `0600` file for SQLite to open; `Ok(false)` if one appeared meanwhile.
pub(crate) fn create_private_file(path: &Path) -> Result<bool, OpenError> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    match opts.open(path) {
        Ok(_) => {
            set_mode(path, 0o600).map_err(io_error("set permissions of", path))?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io_error("create", path)(e)),
    }
}

/// Takes group and other permissions off the file and its `-wal`/`-shm` (files made before
/// this check, or copied with a loose umask). Returns one notice per file changed.
///
/// Tightening, rather than refusing, because every state file made by an earlier version
/// has the umask's mode (typically 0644): refusing would stop every existing install.
pub(crate) fn tighten(path: &Path) -> Result<Vec<String>, OpenError> {
    let mut notices = Vec::new();
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm"] {
        use std::os::unix::fs::PermissionsExt;
        let p = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        let mode = match fs::metadata(&p) {
            Ok(m) => m.permissions().mode() & 0o7777,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_error("read", &p)(e)),
        };
        if mode & 0o077 != 0 {
            let tight = mode & 0o700;
            set_mode(&p, tight).map_err(io_error("set permissions of", &p))?;
            notices.push(format!(
                "tightened permissions of {} from {mode:04o} to {tight:04o}: it holds secret access keys",
                p.display()
            ));
        }
    }
    Ok(notices)
}

fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// An exclusive `flock` on `<state>.lock`, held as long as this value lives (the kernel
/// releases it when the process ends, however it ends). The file holds the holder's pid, so
/// that a second serve can say who has the state.
///
/// A separate file rather than the database itself: SQLite's own locks on the database are
/// POSIX record locks, which some systems emulate `flock` with; a lock on another file cannot
/// interfere with them. The lock file is never removed: unlinking a lock file while another
/// process waits on it lets two holders in.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

impl StateLock {
    pub fn acquire(state: &Path) -> Result<StateLock, OpenError> {
        let lock_path = std::path::PathBuf::from(format!("{}.lock", state.display()));
        let mut opts = OpenOptions::new();
        opts.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut file = opts
            .open(&lock_path)
            .map_err(io_error("create", &lock_path))?;
        #[cfg(unix)]
        {
            use rustix::fs::{flock, FlockOperation};
            if let Err(e) = flock(&file, FlockOperation::NonBlockingLockExclusive) {
                if e != rustix::io::Errno::WOULDBLOCK {
                    return Err(io_error("lock", &lock_path)(e.into()));
                }
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let holder = match text.trim().parse::<u32>() {
                    Ok(pid) => format!("pid {pid}"),
                    Err(_) => "pid unknown".to_string(),
                };
                return Err(OpenError::InUse {
                    path: state.display().to_string(),
                    holder,
                });
            }
        }
        file.set_len(0)
            .and_then(|()| file.write_all(format!("{}\n", std::process::id()).as_bytes()))
            .map_err(io_error("write", &lock_path))?;
        Ok(StateLock { _file: file })
    }
}
