"""Added latency of the gates in front of an OpenAI-compatible upstream (issue 14).

Starts a LiteLLM proxy (mock_response model) and `bedrock-gates serve --backend openai=...`, then
times N sequential calls: the upstream alone (Chat Completions over HTTP with `requests`-free
urllib) and the same answer through serve (Converse over HTTP with SigV4, signed by botocore's signer
in the timed loop), both over one keep-alive http.client connection. Prints median and p95 of each and the
difference. Usage (after `cargo build -p bedrock-gates`):

    BEDROCK_GATES_BIN=target/debug/bedrock-gates .venv/bin/python benches/upstream_latency.py [N]
"""
import http.client, json, os, socket, statistics, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "python"))
from conftest import Server, SCENARIO  # noqa: E402
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 200
KEY = "sk-bench-0123456789abcdef0123"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(fn, n):
    for _ in range(10):
        fn()  # warm the pools
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    out.sort()
    return statistics.median(out), out[int(len(out) * 0.95) - 1]


def main():
    d = Path(tempfile.mkdtemp())
    (d / "c.yaml").write_text("model_list:\n  - model_name: mock-chat\n    litellm_params: "
                              "{model: openai/gpt-4o-mini, api_key: fake, mock_response: \"hello\"}\n")
    port = free_port()
    env = dict(os.environ, LITELLM_MASTER_KEY=KEY, LITELLM_LOCAL_MODEL_COST_MAP="True")
    proxy = subprocess.Popen([str(Path(sys.executable).parent / "litellm"), "--config", str(d / "c.yaml"),
                              "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    up = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(up + "/health/liveliness", timeout=1)
            break
        except OSError:
            time.sleep(0.5)
    os.environ["BEDROCK_GATES_UPSTREAM_API_KEY"] = KEY
    s = Server(d / "state.db", SCENARIO, extra=["--backend", f"openai={up}/v1", "--model-map", "*=mock-chat"])
    try:
        direct_body = json.dumps({"model": "mock-chat", "messages": [{"role": "user", "content": "hi"}]}).encode()

        # One keep-alive connection per side: serve pools its upstream connections, so the
        # direct side must not pay a TCP handshake per call either.
        def connect(p):
            c = http.client.HTTPConnection("127.0.0.1", p)
            # http.client writes headers and body apart: without TCP_NODELAY the second write
            # waits for a delayed ACK (serve's own client sets it too).
            c.connect()
            c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return c

        dconn = connect(port)
        conns = {}

        def direct():
            dconn.request("POST", "/v1/chat/completions", body=direct_body,
                          headers={"content-type": "application/json", "authorization": "Bearer " + KEY})
            r = dconn.getresponse()
            assert r.status == 200, r.read()
            r.read()

        creds = Credentials("test", "test")
        url = s.url + "/model/amazon.nova-lite-v1:0/converse"
        body = json.dumps({"messages": [{"role": "user", "content": [{"text": "hi"}]}]})

        def gated():
            req = AWSRequest(method="POST", url=url, data=body, headers={"content-type": "application/json"})
            SigV4Auth(creds, "bedrock", "us-east-1").add_auth(req)
            gconn = conns.setdefault("g", None) or conns.setdefault("g", connect(int(s.url.rsplit(":", 1)[1])))
            gconn.request("POST", "/model/amazon.nova-lite-v1:0/converse", body=body.encode(),
                          headers=dict(req.headers))
            r = gconn.getresponse()
            assert r.status == 200, r.read()
            r.read()

        dm, dp = timed(direct, N)
        conns["g"] = connect(int(s.url.rsplit(":", 1)[1]))
        gm, gp = timed(gated, N)
        print(f"upstream alone : median {dm:.2f} ms  p95 {dp:.2f} ms  (n={N})")
        print(f"serve+upstream : median {gm:.2f} ms  p95 {gp:.2f} ms  (n={N})")
        print(f"added by serve : median {gm - dm:.2f} ms  p95 {gp - dp:.2f} ms")
    finally:
        s.stop()
        proxy.terminate()
        proxy.wait(10)


if __name__ == "__main__":
    main()
