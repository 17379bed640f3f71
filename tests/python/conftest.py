"""Fixtures: start `bedrock-gates serve` on a free port with a temporary state file, point the
real AWS clients at it through AWS_ENDPOINT_URL only, and always stop it."""

import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("BEDROCK_GATES_BIN", str(ROOT / "target" / "debug" / "bedrock-gates"))
SCENARIO = Path(__file__).with_name("scenario.toml")
VENV_BIN = Path(os.environ.get("VIRTUAL_ENV", str(ROOT / ".venv"))) / "bin"


class Server:
    def __init__(self, state, scenario=None):
        args = [BIN, "serve", "--port", "0", "--state", str(state)]
        if scenario:
            args += ["--scenario", str(scenario)]
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"listening on (http://\S+)", line)
        if not m:
            self.proc.kill()
            self.log.seek(0)
            raise RuntimeError(f"serve did not start: {line!r} {self.log.read()!r}")
        self.url = m.group(1)
        self.banner = [line] + [self.proc.stdout.readline() for _ in range(3)]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                return self.proc.wait()
        return self.proc.returncode

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


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


NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})


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
