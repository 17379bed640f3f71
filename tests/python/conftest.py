"""Fixtures: start `bedrock-gates serve` on a free port with a temporary state file, point the
real AWS clients at it through AWS_ENDPOINT_URL only, and always stop it.

Every server the suite starts hands its audit log (GET /_bedrock-gates/audit) to AUDIT before it
stops or is killed: the refusals the server produced during the session, each with its diagnosis,
for test_zz_explain_corpus.py, which runs last (see pytest_collection_modifyitems).

Helpers the test files import from here rather than copy: client_for (a boto3 client for a server,
one attempt per call), retry_config / NO_RETRY (the botocore Config behind it), converse (one user
turn), error_of and refused (a ClientError's code, HTTP status and message)."""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parents[2]
def _built_binary():
    """The dev-profile binary wherever cargo puts it (CARGO_TARGET_DIR, a cargo config's
    build.target-dir, or ./target), as `cargo metadata` reports the target directory."""
    try:
        meta = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=ROOT,
                              capture_output=True, text=True, timeout=120, check=True)
        target = Path(json.loads(meta.stdout)["target_directory"])
    except (OSError, subprocess.SubprocessError, ValueError, KeyError):
        target = ROOT / "target"
    return str(target / "debug" / "bedrock-gates")


BIN = os.environ.get("BEDROCK_GATES_BIN") or _built_binary()
SCENARIO = Path(__file__).with_name("scenario.toml")
VENV_BIN = Path(os.environ.get("VIRTUAL_ENV", str(ROOT / ".venv"))) / "bin"


class AuditCorpus:
    """The session's audit records from every server, keyed by request id (a uuid per request),
    so that collecting the same server twice adds nothing. Each record gets `origin`: the
    scenario file and the test that was running when the record was collected. Also appended as
    JSON lines to `path` when one is set (the pytest session's temp dir, see pytest_configure)."""

    def __init__(self):
        self.records = {}
        self.servers = []  # every Server of the session, in start order
        self.fetched = 0  # successful audit fetches
        self.failed = []  # (origin, error) of fetches that failed (a server already gone)
        self.path = None
        self.lock = threading.Lock()

    def add(self, server, records):
        origin = {"scenario": server.scenario_name,
                  "test": os.environ.get("PYTEST_CURRENT_TEST", "").split(" (")[0] or server.started_by}
        new = []
        with self.lock:
            for r in records:
                rid = r.get("request_id")
                if rid in self.records:
                    continue
                r = dict(r, origin=origin)
                self.records[rid] = r
                new.append(r)
            if new and self.path:
                with open(self.path, "a") as f:
                    for r in new:
                        f.write(json.dumps(r) + "\n")
        return new

    def collect_live(self):
        """Collect the servers still running (the session-scoped one is stopped only after the
        last test)."""
        for s in list(self.servers):
            if s.proc.poll() is None:
                s.collect_audit()


AUDIT = AuditCorpus()


class Server:
    def __init__(self, state, scenario=None, extra=()):
        self.scenario_name = Path(scenario).name if scenario else "(default)"
        self.started_by = os.environ.get("PYTEST_CURRENT_TEST", "").split(" (")[0] or "(session setup)"
        args = [BIN, "serve", "--port", "0", "--state", str(state)]
        if scenario:
            args += ["--scenario", str(scenario)]
        args += list(extra)
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"listening on (http://\S+)", line)
        if not m:
            self.proc.kill()
            self.log.seek(0)
            raise RuntimeError(f"serve did not start: {line!r} {self.log.read()!r}")
        self.url = m.group(1)
        # the banner: `  name: value` lines up to a blank line
        self.banner = [line]
        self.fields = {}
        for more in iter(self.proc.stdout.readline, ""):
            if not more.strip():
                break
            self.banner.append(more)
            name, _, value = more.strip().partition(": ")
            self.fields[name] = value
        # HTTPS (absent with --no-tls): its URL, and the local CA's certificate to verify it with
        # (absent with --tls-cert, where the caller knows its own certificate).
        self.https_url = self.fields.get("https")
        self.ca = self.fields.get("ca")
        self.admin_token = self.fields.get("admin token")
        AUDIT.servers.append(self)

    def admin_request(self, path, method="GET", headers=None):
        """A urllib Request for an admin route (`/_bedrock-gates/...`) carrying the token."""
        h = {"Authorization": f"Bearer {self.admin_token}"}
        h.update(headers or {})
        return urllib.request.Request(self.url + path, method=method, headers=h)

    def admin(self, path, method="GET", timeout=10):
        """Call an admin route with the token; its JSON answer."""
        with urllib.request.urlopen(self.admin_request(path, method), timeout=timeout) as r:
            return json.loads(r.read())

    def collect_audit(self):
        """Best effort: hand this server's audit records to AUDIT; a server that is already gone
        (or does not answer in time) is noted, never an error here."""
        if self.proc.poll() is not None:
            return []
        try:
            records = self.admin("/_bedrock-gates/audit", timeout=5)["records"]
        except (OSError, ValueError, KeyError) as e:
            AUDIT.failed.append(((self.scenario_name, self.started_by), repr(e)))
            return []
        AUDIT.fetched += 1
        return AUDIT.add(self, records)

    @classmethod
    def with_scenario_text(cls, directory, toml_text, name="scenario.toml"):
        """A server on a fresh state file in `directory`, with a scenario given inline (written
        as `name`, which the audit corpus reports as the records' origin)."""
        (directory / name).write_text(toml_text)
        return cls(directory / "state.db", directory / name)

    def stop(self):
        if self.proc.poll() is None:
            self.collect_audit()
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return self.proc.wait()
        return self.proc.returncode

    def kill9(self):
        self.collect_audit()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


LAST = "test_zz_explain_corpus.py"


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is not None:
        AUDIT.path = Path(factory.getbasetemp()) / "audit-records.jsonl"


def pytest_collection_modifyitems(session, config, items):
    """test_zz_explain_corpus.py checks explain against every refusal the other tests produced,
    so it runs last also when files are named in another order (alphabetical order, the default
    for the directory, puts it last anyway)."""
    items.sort(key=lambda i: i.path.name == LAST)


@pytest.fixture(scope="session")
def audit_corpus():
    """The session's collected audit records (AUDIT), for the last test."""
    return AUDIT


@pytest.fixture(scope="session")
def state_dir():
    d = tempfile.mkdtemp(prefix="bedrock-gates-test-")
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def server(state_dir):
    s = Server(state_dir / "state.db", SCENARIO)
    env = {
        "AWS_ENDPOINT_URL": s.url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {k: os.environ.get(k) for k in list(env) + ["AWS_PROFILE", "AWS_SESSION_TOKEN"]}
    os.environ.update(env)
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    yield s
    s.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


# ---------------------------------------------------------------- helpers shared by the test files


def retry_config(attempts=1, **options):
    """A botocore Config making `attempts` attempts per call in standard retry mode (1: no retry;
    None: botocore's default retries), with any other Config options (timeouts, ...)."""
    if attempts is not None:
        options["retries"] = {"total_max_attempts": attempts, "mode": "standard"}
    return Config(**options)


NO_RETRY = retry_config()


def client_for(service, server=None, key=None, secret=None, token=None, region="us-east-1", attempts=1,
               **options):
    """A boto3 client for `service`. Endpoint: `server`'s URL, or AWS_ENDPOINT_URL (the session
    server) when `server` is None. Credentials: `key`/`secret`/`token`, or the environment's when
    `key` is None. One attempt per call unless `attempts` says otherwise (see retry_config, which
    also takes `options`)."""
    kw = {"region_name": region, "config": retry_config(attempts, **options)}
    if server is not None:
        kw["endpoint_url"] = server.url
    if key is not None:
        kw.update(aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token)
    return boto3.client(service, **kw)


def converse(client, model, text="hi"):
    """One user turn of `text` to `model`."""
    return client.converse(modelId=model, messages=[{"role": "user", "content": [{"text": text}]}])


def error_of(exc_info):
    """(code, HTTP status, message) of the ClientError caught by pytest.raises."""
    e = exc_info.value.response
    return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"], e["Error"]["Message"]


def refused(fn):
    """Call `fn`, which must raise a ClientError; its (code, HTTP status, message)."""
    with pytest.raises(ClientError) as ei:
        fn()
    return error_of(ei)


@pytest.fixture
def client(server):
    """boto3 client factory; the endpoint comes only from AWS_ENDPOINT_URL."""

    def make(service, **kw):
        kw.setdefault("config", NO_RETRY)
        return boto3.client(service, **kw)

    return make


@pytest.fixture
def aws(server):
    """Run the AWS CLI from the venv; returns (returncode, stdout, stderr)."""

    def run(*args, env=None):
        e = dict(os.environ)
        e.update(env or {})
        exe = VENV_BIN / "aws"
        p = subprocess.run([str(exe), *args], capture_output=True, text=True, env=e, timeout=60)
        return p.returncode, p.stdout, p.stderr

    return run
