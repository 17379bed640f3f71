"""Connections bounded (issue 10): header and idle timeouts, a maximum of open connections, and a
shutdown that ends within the grace period however many idle or half-open connections are open."""

import socket
import ssl
import threading
import time
import urllib.request

import boto3
import pytest

from conftest import NO_RETRY, Server

HEALTH = "/_bedrock-gates/health"
PINNED_MODEL = "amazon.nova-pro-v1:0"
# Nine words: a ConverseStream of a dozen frames, so that a paced stream outlasts a short grace.
SCENARIO = f"""
[[answer]]
model = "{PINNED_MODEL}"
text = "one two three four five six seven eight nine"
"""


def port_of(url):
    return int(url.rsplit(":", 1)[1])


def health(server, url=None, timeout=5, context=None):
    """GET the health route of `server` (at `url`, default its http URL) with the admin token."""
    req = server.admin_request(HEALTH)
    if url is not None:
        req = urllib.request.Request(url + HEALTH, headers=dict(req.header_items()))
    with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
        return r.status, r.read()


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\0" * 8)
    return s


def closed_after(sock, limit, trickle=None):
    """Seconds until the server closes `sock` (reads EOF or a reset); `trickle` bytes are sent
    every 0.2 s meanwhile. None if still open after `limit` seconds."""
    start = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - start < limit:
        try:
            if trickle:
                sock.sendall(trickle)
            if sock.recv(65536) == b"":
                return time.monotonic() - start
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - start
    return None


def stop_timed(server):
    """SIGTERM `server`; (exit code, seconds it took to exit)."""
    start = time.monotonic()
    code = server.stop()
    return code, time.monotonic() - start


def test_sigterm_with_500_idle_and_half_open_connections_exits_at_once(tmp_path):
    s = Server(tmp_path / "state.db", extra=["--shutdown-grace-secs", "3"])
    held = []
    try:
        http, https = port_of(s.url), port_of(s.https_url)
        held += [connect(http) for _ in range(500)]
        held += [connect(https) for _ in range(50)]  # no TLS handshake at all
        for _ in range(20):  # half-open: part of a request line
            c = connect(http)
            c.sendall(b"GET /_bedrock-gates/hea")
            held.append(c)
        ctx = ssl.create_default_context(cafile=s.ca)
        for _ in range(10):  # handshaken, then half a request
            c = ctx.wrap_socket(connect(https), server_hostname="127.0.0.1")
            c.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            held.append(c)
        assert health(s) == (200, b'{"status":"ok"}')
        assert health(s, s.https_url, context=ctx) == (200, b'{"status":"ok"}')
        code, took = stop_timed(s)
        assert code == 0
        # nothing is in flight, so nothing waits for the grace
        assert took < 1.5, took
        for c in held[:5] + held[-15:]:
            assert closed_after(c, 1) is not None
    finally:
        for c in held:
            c.close()
        s.stop()


def stream_events(server, events, done):
    rt = boto3.client("bedrock-runtime", endpoint_url=server.url, region_name="us-east-1", config=NO_RETRY,
                      aws_access_key_id="test", aws_secret_access_key="test")
    try:
        r = rt.converse_stream(modelId=PINNED_MODEL, messages=[{"role": "user", "content": [{"text": "hi"}]}])
        for e in r["stream"]:
            events.append(e)
    except Exception as e:  # the cut stream: recorded for the assertion
        events.append(e)
    done.set()


def start_stream(server):
    events, done = [], threading.Event()
    threading.Thread(target=stream_events, args=(server, events, done), daemon=True).start()
    deadline = time.monotonic() + 10
    while not events and time.monotonic() < deadline:
        time.sleep(0.02)
    assert events, "the stream did not start"
    return events, done


def test_sigterm_cuts_an_in_flight_stream_after_the_grace(tmp_path):
    (tmp_path / "s.toml").write_text(SCENARIO)
    s = Server(tmp_path / "state.db", tmp_path / "s.toml",
               extra=["--stream-pace-ms", "1000", "--shutdown-grace-secs", "2"])
    events, done = start_stream(s)
    code, took = stop_timed(s)
    assert code == 0
    assert 1.8 < took < 3.5, took
    assert done.wait(5)
    assert not any("messageStop" in e for e in events if isinstance(e, dict))


def test_sigterm_lets_an_in_flight_stream_finish_within_the_grace(tmp_path):
    (tmp_path / "s.toml").write_text(SCENARIO)
    s = Server(tmp_path / "state.db", tmp_path / "s.toml",
               extra=["--stream-pace-ms", "100", "--shutdown-grace-secs", "8"])
    events, done = start_stream(s)
    code, took = stop_timed(s)
    assert code == 0
    assert done.wait(5)
    assert took < 5, took
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert text == "one two three four five six seven eight nine"
    assert [e for e in events if "messageStop" in e] == [{"messageStop": {"stopReason": "end_turn"}}]


def test_half_a_header_is_closed_after_the_header_timeout(tmp_path):
    s = Server(tmp_path / "state.db", extra=["--header-timeout-secs", "1", "--idle-timeout-secs", "30"])
    try:
        slow = connect(port_of(s.url))
        slow.sendall(b"GET /_bedrock-gates/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        took = closed_after(slow, 5, trickle=b"a")  # a byte every 0.2 s does not keep it open
        assert took is not None and 0.6 < took < 2.0, took
        silent = connect(port_of(s.https_url))  # never starts the TLS handshake
        took = closed_after(silent, 5)
        assert took is not None and 0.6 < took < 2.0, took
        silent = connect(port_of(s.url))  # never sends a byte
        took = closed_after(silent, 5)
        assert took is not None and 0.6 < took < 2.0, took
        # a request sent at once is served
        assert health(s) == (200, b'{"status":"ok"}')
    finally:
        s.stop()


def read_response(sock):
    data = b""
    while not data.endswith(b'{"status":"ok"}'):
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    return data


def test_an_idle_kept_alive_connection_is_closed_after_the_idle_timeout(tmp_path):
    s = Server(tmp_path / "state.db", extra=["--header-timeout-secs", "5", "--idle-timeout-secs", "1"])
    try:
        c = connect(port_of(s.url))
        for _ in range(2):  # kept alive between the two
            c.sendall(f"GET /_bedrock-gates/health HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {s.admin_token}\r\n\r\n".encode())
            assert read_response(c).startswith(b"HTTP/1.1 200 OK\r\n")
        took = closed_after(c, 6)
        # the idle timeout (1 s), not the header timeout (5 s)
        assert took is not None and 0.6 < took < 2.5, took
    finally:
        s.stop()


def test_beyond_max_connections_new_ones_wait_in_the_backlog(tmp_path):
    s = Server(tmp_path / "state.db", extra=["--max-connections", "2", "--header-timeout-secs", "30"])
    try:
        a, b = connect(port_of(s.url)), connect(port_of(s.url))
        time.sleep(0.2)
        # connected by the kernel, but not accepted: no answer while both slots are held
        with pytest.raises(OSError):
            health(s, timeout=1.5)
        a.close()
        assert health(s, timeout=5) == (200, b'{"status":"ok"}')
        b.close()
    finally:
        s.stop()
