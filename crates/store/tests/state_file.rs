//! The state file protects itself: modes, ownership (application id, schema version), one
//! holder at a time. Each refusal is checked for its exact message and for leaving the file
//! (and its directory) exactly as it was.

use bg_gates::{Change, Entity, State, Store};
use bg_store::{SqliteStore, APPLICATION_ID, SCHEMA_VERSION};
use rusqlite::Connection;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

fn side(p: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", p.display()))
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn pragma(path: &Path, name: &str) -> i32 {
    Connection::open(path)
        .unwrap()
        .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_new_state_file_is_private_and_stamped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/state.db");
    {
        let s = SqliteStore::open_exclusive(path.to_str().unwrap()).unwrap();
        assert!(s.created());
        assert!(s.notices().is_empty());
        s.apply(&State::default().bootstrap_changes()).unwrap();
        // while open in WAL mode the side files exist: SQLite gave them the database's mode
        assert_eq!(mode(&side(&path, "-wal")), 0o600);
        assert_eq!(mode(&side(&path, "-shm")), 0o600);
        assert_eq!(mode(&side(&path, ".lock")), 0o600);
    }
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&dir.path().join("a")), 0o700);
    assert_eq!(mode(&dir.path().join("a/b")), 0o700);
    assert_eq!(pragma(&path, "application_id"), APPLICATION_ID);
    assert_eq!(pragma(&path, "user_version"), SCHEMA_VERSION);
    let again = SqliteStore::open(path.to_str().unwrap()).unwrap();
    assert!(!again.created());
    assert!(!again.load().unwrap().is_empty());
}

#[test]
fn an_existing_directory_keeps_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.path().join("state.db");
    SqliteStore::open(path.to_str().unwrap()).unwrap();
    assert_eq!(mode(dir.path()), 0o755);
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn loose_permissions_are_tightened_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let p = path.to_str().unwrap();
    drop(SqliteStore::open(p).unwrap());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let s = SqliteStore::open(p).unwrap();
    assert_eq!(
        s.notices(),
        [format!(
            "tightened permissions of {p} from 0644 to 0600: it holds secret access keys"
        )]
    );
    assert_eq!(mode(&path), 0o600);
}

/// Opens `path` (both ways), expects `message`, and checks that nothing in the directory
/// changed: same names (no lock, WAL or journal file left beside it), same bytes.
fn refused(path: &Path, message: &str) {
    let dir = path.parent().unwrap();
    let before = listing(dir);
    let bytes = std::fs::read(path).unwrap();
    for exclusive in [false, true] {
        let p = path.to_str().unwrap();
        let got = if exclusive {
            SqliteStore::open_exclusive(p)
        } else {
            SqliteStore::open(p)
        };
        match got {
            Ok(_) => panic!("{} was accepted", path.display()),
            Err(e) => assert_eq!(e.to_string(), message),
        }
        assert_eq!(listing(dir), before);
        assert_eq!(std::fs::read(path).unwrap(), bytes, "the file is unchanged");
    }
}

#[test]
fn an_empty_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    std::fs::write(&path, b"").unwrap();
    refused(
        &path,
        &format!(
            "{} is not a bedrock-gates state file (empty, 0 bytes); point --state at another path or move it away",
            path.display()
        ),
    );
}

#[test]
fn garbage_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("text.db", b"hello, this is not a database\n".repeat(20)),
        ("short.db", b"SQLite format 3\0".to_vec()),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        refused(
            &path,
            &format!(
                "{} is not a bedrock-gates state file (not an SQLite database); point --state at another path or move it away",
                path.display()
            ),
        );
    }
}

#[test]
fn a_corrupt_database_is_refused() {
    // a valid header over pages that are noise
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    drop(SqliteStore::open(path.to_str().unwrap()).unwrap());
    let mut bytes = std::fs::read(&path).unwrap();
    for b in bytes[100..].iter_mut() {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let err = SqliteStore::open(path.to_str().unwrap())
        .err()
        .expect("refused")
        .to_string();
    let head = format!(
        "{} is not a bedrock-gates state file (unreadable: ",
        path.display()
    );
    assert!(err.starts_with(&head), "{err}");
    assert!(err.ends_with("); point --state at another path or move it away"));
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn another_applications_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let c = Connection::open(&path).unwrap();
    c.execute_batch("PRAGMA application_id = 0x0f055112; CREATE TABLE notes (t TEXT);")
        .unwrap();
    drop(c);
    refused(
        &path,
        &format!(
            "{} is not a bedrock-gates state file (application_id 0x0f055112); point --state at another path or move it away",
            path.display()
        ),
    );
}

#[test]
fn a_wal_database_of_another_application_is_refused_untouched() {
    // another program's database, in WAL mode, closed cleanly (no -wal left): the check must
    // not leave -wal/-shm files beside it
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let c = Connection::open(&path).unwrap();
    c.pragma_update(None, "journal_mode", "WAL").unwrap();
    c.execute_batch("CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('x');")
        .unwrap();
    drop(c);
    assert_eq!(listing(dir.path()), ["app.db"]);
    refused(
        &path,
        &format!(
            "{} is not a bedrock-gates state file (an SQLite database with other tables: notes); point --state at another path or move it away",
            path.display()
        ),
    );
}

#[test]
fn a_database_with_other_tables_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    let c = Connection::open(&path).unwrap();
    // our two tables plus one of someone else's is still not ours
    c.execute_batch(
        "CREATE TABLE entities (kind TEXT, id TEXT, body TEXT);
         CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
         CREATE TABLE moz_places (url TEXT);",
    )
    .unwrap();
    drop(c);
    refused(
        &path,
        &format!(
            "{} is not a bedrock-gates state file (an SQLite database with other tables: entities, meta, moz_places); point --state at another path or move it away",
            path.display()
        ),
    );
    let empty = dir.path().join("empty-sqlite.db");
    let c = Connection::open(&empty).unwrap();
    c.execute_batch("PRAGMA user_version = 3;").unwrap();
    drop(c);
    refused(
        &empty,
        &format!(
            "{} is not a bedrock-gates state file (an SQLite database without bedrock-gates tables); point --state at another path or move it away",
            empty.display()
        ),
    );
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    drop(SqliteStore::open(path.to_str().unwrap()).unwrap());
    let c = Connection::open(&path).unwrap();
    c.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(c);
    refused(
        &path,
        &format!(
            "{} was written by a newer bedrock-gates (state schema version {}; this one reads up to {SCHEMA_VERSION}); upgrade bedrock-gates or point --state at another path",
            path.display(),
            SCHEMA_VERSION + 1
        ),
    );
}

#[test]
fn a_legacy_state_file_is_adopted_with_its_entities() {
    // exactly what the store created before files were stamped, in WAL mode, with a user
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let c = Connection::open(&path).unwrap();
    c.pragma_update(None, "journal_mode", "WAL").unwrap();
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS entities (
            kind TEXT NOT NULL,
            id   TEXT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (kind, id)
        );
        CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '1');",
    )
    .unwrap();
    let user = Entity::Principal(bg_gates::Principal::user("111111111111", "dev", "/"));
    c.execute(
        "INSERT INTO entities VALUES (?1, ?2, ?3)",
        (
            user.kind(),
            user.id(),
            serde_json::to_string(&user).unwrap(),
        ),
    )
    .unwrap();
    drop(c);
    assert_eq!(pragma(&path, "application_id"), 0);
    let s = SqliteStore::open_exclusive(path.to_str().unwrap()).unwrap();
    assert!(!s.created());
    assert_eq!(s.load().unwrap(), vec![user]);
    drop(s);
    assert_eq!(pragma(&path, "application_id"), APPLICATION_ID);
    assert_eq!(pragma(&path, "user_version"), SCHEMA_VERSION);
}

#[test]
fn one_holder_at_a_time_named_by_pid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let p = path.to_str().unwrap();
    let first = SqliteStore::open_exclusive(p).unwrap();
    // flock locks belong to the open file, so a second open in this process conflicts too
    let err = SqliteStore::open_exclusive(p).err().expect("refused");
    assert_eq!(
        err.to_string(),
        format!(
            "{p} is in use by another bedrock-gates serve (pid {}); stop it or point --state at another path",
            std::process::id()
        )
    );
    // readers (policy check --state) do not need the lock
    let reader = SqliteStore::open(p).unwrap();
    first
        .apply(&[Change::Delete {
            kind: "access-key",
            id: "none".into(),
        }])
        .unwrap();
    drop(reader);
    drop(first);
    SqliteStore::open_exclusive(p).expect("free again once the holder is gone");
}

#[test]
fn memory_needs_no_file_and_no_lock() {
    let a = SqliteStore::open_exclusive(":memory:").unwrap();
    let b = SqliteStore::open_exclusive(":memory:").unwrap();
    assert!(a.created() && b.created());
    assert!(!Path::new(":memory:.lock").exists());
}

#[test]
fn a_legacy_file_whose_tables_are_still_in_the_wal_is_adopted() {
    // a serve of the old version killed before any checkpoint: the main file is a bare
    // header, the tables live in the -wal (copied while the connection is still open)
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.db");
    let c = Connection::open(&live).unwrap();
    c.pragma_update(None, "journal_mode", "WAL").unwrap();
    c.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    c.execute_batch(
        "CREATE TABLE entities (kind TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
                                PRIMARY KEY (kind, id));
         CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    )
    .unwrap();
    let crashed = dir.path().join("crashed");
    std::fs::create_dir(&crashed).unwrap();
    std::fs::copy(&live, crashed.join("state.db")).unwrap();
    std::fs::copy(side(&live, "-wal"), crashed.join("state.db-wal")).unwrap();
    drop(c);
    let path = crashed.join("state.db");
    let s = SqliteStore::open_exclusive(path.to_str().unwrap()).expect("adopted");
    assert!(s.load().unwrap().is_empty());
    drop(s);
    assert_eq!(pragma(&path, "application_id"), APPLICATION_ID);
}
