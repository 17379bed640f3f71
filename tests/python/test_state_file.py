"""The state file protects itself (issue 10): it and its -wal/-shm are 0600 in a 0700 directory
whatever the umask; a file that is not ours (empty, garbage, another application's SQLite file, a
newer schema) is refused with a message that names it and says what to do, and left as it was; one
serve per state file; the default key is created only with a new state, so a deleted `test` key stays
deleted; STS sessions expired for over a day are swept from the state file.

Each test runs its own servers on its own state file (never the session server)."""

import json
import os
import sqlite3
import stat
import subprocess
import urllib.request

import pytest

from conftest import BIN, Server, client_for, error_of, refused

ACCOUNT = "000000000000"
WHAT_TO_DO = "point --state at another path or move it away"
# bg_store::APPLICATION_ID ("BGST") and SCHEMA_VERSION
APPLICATION_ID = 0x42475354
SCHEMA_VERSION = 4  # 2: the journal tables (issue 13); 3: log lines by batch; 4: CloudTrail records by block
# bg_gates::state::EXPIRED_SESSION_RETENTION_SECS
RETENTION = 86_400


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def serve_fails(state):
    """Run serve on `state`, which must refuse to start: (exit code, first stderr line)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUST_")}
    p = subprocess.run([BIN, "serve", "--port", "0", "--state", str(state)], capture_output=True,
                       text=True, timeout=60, env=env)
    assert p.stdout == "", "nothing listened"
    return p.returncode, p.stderr.splitlines()[0]


def snapshot(directory):
    """Every file under `directory` with its bytes."""
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_a_fresh_state_is_private_whatever_the_umask(tmp_path):
    state = tmp_path / "data" / "bedrock-gates" / "state.db"
    old = os.umask(0)  # the child inherits it: every mode below is set explicitly, not by umask
    try:
        srv = Server(state)
    finally:
        os.umask(old)
    try:
        client_for("iam", srv, key="test", secret="test").create_user(UserName="writer")  # a write: the WAL is in use
        assert {p.name: oct(mode(p)) for p in state.parent.iterdir()} == {
            "state.db": "0o600", "state.db-wal": "0o600", "state.db-shm": "0o600",
            "state.db.lock": "0o600", "admin-token": "0o600",
            # the local CA and the HTTPS certificate: the certificates too, nobody else needs them
            "ca.pem": "0o600", "ca-key.pem": "0o600", "server.pem": "0o600", "server-key.pem": "0o600"}
        assert oct(mode(tmp_path / "data")) == "0o700"
        assert oct(mode(state.parent)) == "0o700"
    finally:
        srv.stop()
    db = sqlite3.connect(state)
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()


def test_loose_permissions_are_tightened_and_said(tmp_path):
    state = tmp_path / "state.db"
    Server(state).stop()
    os.chmod(state, 0o644)
    srv = Server(state)
    try:
        assert mode(state) == 0o600
    finally:
        srv.stop()
    srv.log.seek(0)
    assert (f"bedrock-gates: tightened permissions of {state} from 0644 to 0600: it holds secret access keys"
            in srv.log.read().decode())


def foreign_sqlite(path):
    db = sqlite3.connect(path)
    db.execute("PRAGMA application_id = 0x0f055112")
    db.execute("CREATE TABLE notes (t TEXT)")
    db.commit()
    db.close()


def other_tables(path):
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE moz_places (url TEXT)")
    db.commit()
    db.close()


@pytest.mark.parametrize("make, why", [
    (lambda p: p.write_bytes(b""), "empty, 0 bytes"),
    (lambda p: p.write_bytes(b"\x00garbage, not a database\n" * 40), "not an SQLite database"),
    (foreign_sqlite, "application_id 0x0f055112"),
    (other_tables, "an SQLite database with other tables: moz_places"),
], ids=["empty", "garbage", "foreign-application-id", "foreign-tables"])
def test_a_file_that_is_not_ours_is_refused_and_left_alone(tmp_path, make, why):
    state = tmp_path / "state.db"
    make(state)
    before = snapshot(tmp_path)
    code, line = serve_fails(state)
    assert code == 1
    assert line == f"Error: {state} is not a bedrock-gates state file ({why}); {WHAT_TO_DO}"
    assert snapshot(tmp_path) == before, "no byte changed, no file added (not even the lock)"


def test_a_newer_schema_is_refused_and_left_alone(tmp_path):
    state = tmp_path / "state.db"
    Server(state).stop()
    db = sqlite3.connect(state)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    before = snapshot(tmp_path)
    code, line = serve_fails(state)
    assert code == 1
    assert line == (f"Error: {state} was written by a newer bedrock-gates (state schema version "
                    f"{SCHEMA_VERSION + 1}; this one reads up to {SCHEMA_VERSION}); upgrade bedrock-gates "
                    f"or point --state at another path")
    assert snapshot(tmp_path) == before


def test_a_legacy_state_file_keeps_working(tmp_path):
    """A file made before the stamp (our two tables, application_id 0) is adopted: its users and
    keys are there, and it is stamped."""
    state = tmp_path / "state.db"
    srv = Server(state)
    try:
        iam = client_for("iam", srv, key="test", secret="test")
        iam.create_user(UserName="kept")
        key = iam.create_access_key(UserName="kept")["AccessKey"]
    finally:
        srv.stop()
    db = sqlite3.connect(state)
    db.execute("PRAGMA application_id = 0")
    db.execute("PRAGMA user_version = 0")
    db.close()
    srv = Server(state)
    try:
        who = client_for("sts", srv, key=key["AccessKeyId"], secret=key["SecretAccessKey"])
        assert who.get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/kept"
    finally:
        srv.stop()
    db = sqlite3.connect(state)
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()


def test_one_serve_per_state_file(tmp_path):
    state = tmp_path / "state.db"
    first = Server(state)
    try:
        code, line = serve_fails(state)
        assert code == 1
        assert line == (f"Error: {state} is in use by another bedrock-gates serve (pid {first.proc.pid}); "
                        f"stop it or point --state at another path")
        assert first.proc.poll() is None
    finally:
        first.stop()
    # the lock goes with the process, however it ends
    second = Server(state)
    second.kill9()
    Server(state).stop()


def test_a_deleted_default_key_stays_deleted(tmp_path):
    state = tmp_path / "state.db"
    srv = Server(state)
    try:
        # `test` is shorter than the service model's 16-character minimum: boto3 would refuse it
        # before sending, the server takes it (as the AWS CLI sends it with validation off)
        iam = client_for("iam", srv, key="test", secret="test", parameter_validation=False)
        iam.delete_access_key(AccessKeyId="test")
    finally:
        srv.stop()
    srv = Server(state)
    try:
        sts = client_for("sts", srv, key="test", secret="test")
        assert refused(sts.get_caller_identity) == (
            "InvalidClientTokenId", 403, "The security token included in the request is invalid.")
    finally:
        srv.stop()


def advance(srv, secs):
    return srv.admin(f"/_bedrock-gates/clock?advance={secs}", method="POST")["now"]


def stored_session_keys(state):
    db = sqlite3.connect(state)
    try:
        return sorted(r[0] for r in db.execute(
            "SELECT id FROM entities WHERE kind = 'access-key' AND body LIKE '%\"session\":{%'"))
    finally:
        db.close()


def as_session(srv, creds):
    return client_for("sts", srv, key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                      token=creds["SessionToken"])


def test_expired_sessions_are_swept_from_the_state_file(tmp_path):
    state = tmp_path / "state.db"
    srv = Server(state)
    try:
        iam = client_for("iam", srv, key="test", secret="test")
        iam.create_user(UserName="dev")
        k = iam.create_access_key(UserName="dev")["AccessKey"]
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/dev"},
            "Action": "sts:AssumeRole"}]}
        iam.create_role(RoleName="worker", AssumeRolePolicyDocument=json.dumps(trust))
        dev = client_for("sts", srv, key=k["AccessKeyId"], secret=k["SecretAccessKey"])

        def assume():
            return dev.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/worker", RoleSessionName="brief",
                                   DurationSeconds=900)["Credentials"]

        old_creds = assume()
        old_id, old = old_creds["AccessKeyId"], as_session(srv, old_creds)
        assert stored_session_keys(state) == [old_id]
        # expired for exactly the retention: still stored, still answered as AWS does
        advance(srv, 900 + RETENTION)
        assert refused(old.get_caller_identity) == (
            "ExpiredToken", 403, "The security token included in the request is expired")
        advance(srv, 1)
        # the next write (this AssumeRole) sweeps it in the same transaction
        new_creds = assume()
        new_id = new_creds["AccessKeyId"]
        assert stored_session_keys(state) == [new_id]
        assert refused(old.get_caller_identity) == (
            "InvalidClientTokenId", 403, "The security token included in the request is invalid.")
    finally:
        srv.stop()
    # after a restart the gate clock is the wall clock again: a session still stored would be
    # valid once more; the swept one stays gone, the new one works
    srv = Server(state)
    try:
        old, new = as_session(srv, old_creds), as_session(srv, new_creds)
        assert refused(old.get_caller_identity) == (
            "InvalidClientTokenId", 403, "The security token included in the request is invalid.")
        assert new.get_caller_identity()["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/worker/brief"
        assert stored_session_keys(state) == [new_id]
    finally:
        srv.stop()
