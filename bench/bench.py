#!/usr/bin/env python3
"""The bedrock-gates benchmark harness (see BENCHMARKS.md). It reports; it never fails a test.

Wire: starts the bare baseline (`bench-bare`) and `serve` with bench/scenario.toml, signs one
request per case with botocore's SigV4 signer, replays it with wrk, and prints req/s, p50/p99 and
the ratio to the bare baseline measured in the same run. ConverseStream also gets its time to
first event and to the whole stream (sequential requests on one keep-alive connection) and its
events/s.

Scale: for each principal count, starts serve on a fresh state file with a scenario of that
many IAM users (each with an access key and the AWS managed policy AmazonBedrockFullAccess
attached), then measures the restart time to the banner with that state (and RSS after that
restart) and CreateUser latency (boto3, one at a time). With `--only scale --compare
NAME=BIN,...` each binary restarts on its own copy of one state file, in turn, so before/after
come from one run.

Compare: `--compare NAME=BIN,NAME=BIN` starts the bare baseline and every named serve binary
at once (each on its own fresh state with bench/scenario.toml) and runs Converse against each in
turn for `--rounds` rounds (bare, then each binary, then again), so that before/after ratios are
read from one interleaved run on a noisy machine. Prints req/s per round, the median, the ratio to
the bare median and the server CPU time per request (from /proc/PID/stat). `--logging NAME,...`
turns model invocation logging on (CloudWatch Logs, text delivery) in the named servers, through
boto3 as a user would (a role Bedrock may assume, then PutModelInvocationLoggingConfiguration):
`--compare off=BIN,on=BIN --logging on` is the wire figure of what logging costs (issue 13).

Usage: bench/run [--duration 10] [--connections 32] [--principals 0,1000,10000] [--only wire|scale]
       bench/run --compare before=/path/a,after=/path/b [--rounds 3] [--duration 5] [--case Converse]
       bench/run --compare off=/path/a,on=/path/a --logging on
       bench/run --only scale --compare before=/path/a,after=/path/b [--principals 0,10000] [--restarts 5]
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REGION = "us-east-1"
MODEL = "amazon.nova-lite-v1:0"
MESSAGES = {"messages": [{"role": "user", "content": [{"text": "Hello"}]}]}
INVOKE_BODY = {"schemaVersion": "messages-v1", **MESSAGES}


def start(argv, pattern=r"listening on (http://\S+)"):
    """Start a server; (process, url, seconds to the banner's first line, banner fields)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - t0
    m = re.search(pattern, line)
    if not m:
        proc.kill()
        raise RuntimeError(f"{argv[0]} did not start: {line!r}")
    fields = {}
    if "serve" in argv:
        for more in iter(proc.stdout.readline, ""):
            if not more.strip():
                break
            name, _, value = more.strip().partition(": ")
            fields[name] = value
    return proc, m.group(1), elapsed, fields


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def rss_kib(pid, field="VmRSS"):
    """VmRSS, or another field of /proc/PID/status: RssAnon is the heap without the binary's
    own pages (RssFile), which move by ~2 MiB with how much of the executable's file is in the
    page cache (a fresh copy of the same binary maps more of it)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def signed(url, method, path, body, service, key, secret):
    """(path on the wire, headers) of a SigV4-signed request, as botocore signs it."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    req = AWSRequest(method=method, url=url + path, data=data, headers=headers)
    if key:
        SigV4Auth(Credentials(key, secret), service, REGION).add_auth(req)
    prepared = req.prepare()
    wire_path = prepared.url[len(url):]
    return wire_path, dict(prepared.headers), data


def cases(url):
    q = lambda s: s.replace(":", "%3A")  # noqa: E731 (botocore's encoding of the model ID)
    root = ("test", "test")
    denied = ("AKIABENCHDENIED00001", "bench-denied-secret")
    return [
        ("Converse", "POST", f"/model/{q(MODEL)}/converse", MESSAGES, "bedrock", root, 200),
        ("ConverseStream", "POST", f"/model/{q(MODEL)}/converse-stream", MESSAGES, "bedrock", root, 200),
        ("InvokeModel", "POST", f"/model/{q(MODEL)}/invoke", INVOKE_BODY, "bedrock", root, 200),
        ("IAM refusal (Converse)", "POST", f"/model/{q(MODEL)}/converse", MESSAGES, "bedrock", denied, 403),
        ("unsigned refusal (Converse)", "POST", f"/model/{q(MODEL)}/converse", MESSAGES, "bedrock", (None, None), 403),
        ("control-plane read (ListFoundationModels)", "GET", "/foundation-models", None, "bedrock", root, 200),
    ]


def lua_for(method, path, headers, data, out):
    lines = [f'wrk.method = "{method}"', f"wrk.path = [==[{path}]==]"]
    if data is not None:
        lines.append(f"wrk.body = [==[{data.decode()}]==]")
    for k, v in headers.items():
        if k.lower() in ("host", "content-length"):
            continue  # wrk sends both itself (Host from the URL, which is what was signed)
        lines.append(f"wrk.headers[ [==[{k}]==] ] = [==[{v}]==]")
    out.write_text("\n".join(lines) + "\n")


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def wrk(url, script, duration, connections):
    """req/s, p50 ms, p99 ms, non-2xx count from one wrk run."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url]
    if script:
        argv[1:1] = ["-s", str(script)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        return float(m.group(1)) * UNITS[m.group(2)] if m else float("nan")

    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return rps, pct(50), pct(99), int(bad.group(1)) if bad else 0, errors.group(0) if errors else ""


def once(url, method, path, headers, data):
    host = url.split("//", 1)[1]
    c = http.client.HTTPConnection(host, timeout=10)
    c.request(method, path, body=data, headers=headers)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body


def eventstream_count(buf):
    """Events in an application/vnd.amazon.eventstream body (prelude: total length, 4 bytes BE)."""
    n, i = 0, 0
    while i + 4 <= len(buf):
        total = int.from_bytes(buf[i : i + 4], "big")
        if total < 16:
            break
        n, i = n + 1, i + total
    return n


def stream_latency(url, path, headers, data, n):
    """Time to first event, time to the whole stream (ms), events per stream, over n requests
    one after another on one keep-alive connection."""
    host = url.split("//", 1)[1]
    c = http.client.HTTPConnection(host, timeout=10)
    first, whole, events = [], [], 0
    for _ in range(n):
        t0 = time.perf_counter()
        c.request("POST", path, body=data, headers=headers)
        r = c.getresponse()
        chunk = r.read1(65536)
        t1 = time.perf_counter()
        rest = r.read()
        t2 = time.perf_counter()
        first.append((t1 - t0) * 1000)
        whole.append((t2 - t0) * 1000)
        events = eventstream_count(chunk + rest)
    c.close()
    q = lambda xs, p: statistics.quantiles(xs, n=100)[p - 1]  # noqa: E731
    return q(first, 50), q(first, 99), q(whole, 50), q(whole, 99), events


def wire(args, tmp):
    bare, bare_url, _, _ = start([args.bare])
    try:
        b_rps, b50, b99, _, _ = wrk(bare_url, None, args.duration, args.connections)
    finally:
        stop(bare)
    state = tmp / "wire" / "state.db"
    state.parent.mkdir(mode=0o700)
    serve, url, _, _ = start(
        [args.bin, "serve", "--port", "0", "--state", str(state), "--scenario", str(HERE / "scenario.toml")]
    )
    rows = [("bare axum, fixed Converse body", b_rps, b50, b99, 1.0, "")]
    stream_row = None
    try:
        for name, method, path, body, service, (key, secret), want in cases(url):
            wpath, headers, data = signed(url, method, path, body, service, key, secret)
            status, answer = once(url, method, wpath, headers, data)
            if status != want:
                print(f"  ! {name}: expected HTTP {want}, got {status}: {answer[:200]!r}", file=sys.stderr)
            script = tmp / (re.sub(r"\W+", "-", name) + ".lua")
            lua_for(method, wpath, headers, data, script)
            rps, p50, p99, bad, errs = wrk(url, script, args.duration, args.connections)
            note = f"HTTP {status}" + (f"; {errs}" if errs else "")
            rows.append((name, rps, p50, p99, rps / b_rps, note))
            if name == "ConverseStream":
                stream_row = stream_latency(url, wpath, headers, data, args.stream_samples) + (rps,)
    finally:
        rss = rss_kib(serve.pid)
        stop(serve)
    print(f"\n### Wire (wrk -t1 -c{args.connections} -d{args.duration}s, one run)\n")
    print("| case | req/s | p50 ms | p99 ms | vs bare | answer |")
    print("|---|---:|---:|---:|---:|---|")
    for name, rps, p50, p99, ratio, note in rows:
        print(f"| {name} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {ratio:.2f}× | {note} |")
    if stream_row:
        f50, f99, w50, w99, events, rps = stream_row
        print(
            f"\nConverseStream, {args.stream_samples} sequential streams on one connection: "
            f"first event p50 {f50:.2f} ms / p99 {f99:.2f} ms; whole stream p50 {w50:.2f} ms / "
            f"p99 {w99:.2f} ms; {events} events a stream; under wrk {rps * events:,.0f} events/s."
        )
    print(f"serve RSS after the wire run: {rss / 1024:.1f} MiB")


def cpu_ticks(pid):
    """utime + stime of a process, in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def enable_logging(url):
    """Model invocation logging to CloudWatch Logs with text delivery, as a user sets it up."""
    import boto3

    creds = dict(endpoint_url=url, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    role = boto3.client("iam", **creds).create_role(
        RoleName="bench-invocation-logging", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    boto3.client("bedrock", **creds).put_model_invocation_logging_configuration(
        loggingConfig={
            "cloudWatchConfig": {"logGroupName": "/bench/invocations", "roleArn": role},
            "textDataDeliveryEnabled": True,
        }
    )


def compare(args, tmp):
    """Interleaved rounds: bare, then each named binary, `--rounds` times, one case."""
    bins = [tuple(x.split("=", 1)) for x in args.compare.split(",")]
    bare, bare_url, _, _ = start([args.bare])
    servers = []
    try:
        for name, binary in bins:
            state = tmp / f"cmp-{name}" / "state.db"
            state.parent.mkdir(mode=0o700)
            proc, url, _, _ = start(
                [binary, "serve", "--port", "0", "--state", str(state), "--scenario", str(HERE / "scenario.toml")]
            )
            servers.append((name, proc, url))
            if name in args.logging:
                enable_logging(url)
        case = next(c for c in cases(bare_url) if c[0] == args.case)
        _, method, path, body, service, (key, secret), want = case
        scripts = {}
        for name, proc, url in servers:
            wpath, headers, data = signed(url, method, path, body, service, key, secret)
            status, answer = once(url, method, wpath, headers, data)
            if status != want:
                print(f"  ! {name}: expected HTTP {want}, got {status}: {answer[:200]!r}", file=sys.stderr)
            script = tmp / f"cmp-{name}.lua"
            lua_for(method, wpath, headers, data, script)
            scripts[name] = script
        results = {"bare": []}
        cpu = {name: [] for name, _, _ in servers}
        cpu["bare"] = []
        for name, _, _ in servers:
            results[name] = []
        hz = os.sysconf("SC_CLK_TCK")
        for r in range(args.rounds):
            t0 = cpu_ticks(bare.pid)
            rps = wrk(bare_url, None, args.duration, args.connections)[0]
            results["bare"].append(rps)
            cpu["bare"].append((cpu_ticks(bare.pid) - t0) / hz * 1e6 / max(rps * args.duration, 1))
            for name, proc, url in servers:
                t0 = cpu_ticks(proc.pid)
                rps = wrk(url, scripts[name], args.duration, args.connections)[0]
                ticks = cpu_ticks(proc.pid) - t0
                results[name].append(rps)
                cpu[name].append(ticks / hz * 1e6 / max(rps * args.duration, 1))
            line = ", ".join(f"{n} {v[-1]:,.0f}" for n, v in results.items())
            print(f"round {r + 1}: {line}", flush=True)
    finally:
        stop(bare)
        for _, proc, _ in servers:
            stop(proc)
    b = statistics.median(results["bare"])
    print(f"\n### {args.case}, interleaved (wrk -t1 -c{args.connections} -d{args.duration}s, {args.rounds} rounds)\n")
    print("| server | req/s per round | median | vs bare (median) | server CPU µs/request (median) |")
    print("|---|---|---:|---:|---:|")
    for name, v in results.items():
        per = " / ".join(f"{x:,.0f}" for x in v)
        m = statistics.median(v)
        c = f"{statistics.median(cpu[name]):.1f}"
        print(f"| {name} | {per} | {m:,.0f} | {m / b:.2f}× | {c} |")


def scale_scenario(n):
    out = ['[[account]]\nid = "111111111111"\n']
    for i in range(n):
        out.append(
            f'[[user]]\naccount = "111111111111"\nname = "u{i:05}"\nattach = ["AmazonBedrockFullAccess"]\n'
            f'[[access_key]]\naccount = "111111111111"\nuser = "u{i:05}"\n'
            f'id = "AKIABENCH{i:011}"\nsecret = "bench-secret-{i}"\n'
        )
    return "\n".join(out)


def create_user_ms(url, samples):
    import boto3

    iam = boto3.client(
        "iam",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    iam.create_user(UserName="bench-warmup")  # connection set up, code paths warm
    times = []
    for i in range(samples):
        t0 = time.perf_counter()
        iam.create_user(UserName=f"bench-new-{i}")
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), max(times)


def scale(args, tmp):
    """The scale table; with `--compare NAME=BIN,...` (and `--only scale`) every binary in turn
    on a copy of the same state file, restarts interleaved, so that before/after come from one
    run on this shared machine."""
    bins = [tuple(x.split("=", 1)) for x in args.compare.split(",")] if args.compare else [("serve", args.bin)]
    rows = []
    for n in args.principals:
        d = tmp / f"scale-{n}"
        d.mkdir(mode=0o700)
        scen = d / "scenario.toml"
        scen.write_text(scale_scenario(n))
        made = d / "made.db"
        # the first binary writes the state; every binary then restarts on its own copy
        serve, _, _, _ = start([bins[0][1], "serve", "--port", "0", "--state", str(made), "--scenario", str(scen)])
        stop(serve)
        states = {}
        for name, _ in bins:
            states[name] = d / f"{name}.db"
            for suffix in ["", "-wal"]:  # a WAL that serve left behind holds the latest pages
                if Path(f"{made}{suffix}").exists():
                    shutil.copyfile(f"{made}{suffix}", f"{states[name]}{suffix}")
                    os.chmod(f"{states[name]}{suffix}", 0o600)
        restarts = {name: [] for name, _ in bins}
        rss_after, anon_after = {}, {}
        for _ in range(args.restarts):
            for name, binary in bins:
                serve, url, t, _ = start([binary, "serve", "--port", "0", "--state", str(states[name])])
                restarts[name].append(t * 1000)
                time.sleep(0.3)
                rss_after[name] = rss_kib(serve.pid)
                anon_after[name] = rss_kib(serve.pid, "RssAnon")
                stop(serve)
        for name, binary in bins:
            serve, url, _, _ = start([binary, "serve", "--port", "0", "--state", str(states[name])])
            try:
                cu50, cumax = create_user_ms(url, args.create_samples)
            finally:
                stop(serve)
            times = restarts[name]
            rows.append((name, n, cu50, cumax, statistics.median(times), min(times), max(times), rss_after[name], anon_after[name]))
    print(f"\n### Scale (CreateUser: boto3, median of {args.create_samples}; restart: median of {args.restarts})\n")
    print("| server | principals | CreateUser ms (median / max) | restart to listening ms (median; min–max) | RSS after restart MiB (anonymous) |")
    print("|---|---:|---:|---:|---:|")
    for name, n, cu50, cumax, rs, rmin, rmax, rss, anon in rows:
        print(f"| {name} | {n:,} | {cu50:.1f} / {cumax:.1f} | {rs:.0f}; {rmin:.0f}–{rmax:.0f} | {rss / 1024:.1f} ({anon / 1024:.1f}) |")
    for name, _ in bins:
        base = next((r for r in rows if r[0] == name and r[1] == 0), None)
        for r in rows:
            if r[0] == name and r[1] and base:
                print(
                    f"{name}: RSS per principal beyond empty at {r[1]:,}: {(r[7] - base[7]) * 1024 / r[1]:,.0f} bytes"
                    f" (anonymous: {(r[8] - base[8]) * 1024 / r[1]:,.0f} bytes)"
                )
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.environ.get("BEDROCK_GATES_BIN"))
    ap.add_argument("--bare", default=os.environ.get("BENCH_BARE_BIN"))
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--stream-samples", type=int, default=300)
    ap.add_argument("--principals", type=lambda s: [int(x) for x in s.split(",")], default=[0, 1000, 10000])
    ap.add_argument("--create-samples", type=int, default=30)
    ap.add_argument("--restarts", type=int, default=5)
    ap.add_argument("--only", choices=["wire", "scale"])
    ap.add_argument("--compare", help="NAME=BIN,NAME=BIN: interleaved rounds of one case against the bare server")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--case", default="Converse", help="the case --compare runs (a wire case name)")
    ap.add_argument(
        "--logging",
        type=lambda s: s.split(","),
        default=[],
        help="NAME,...: --compare servers with model invocation logging on",
    )
    args = ap.parse_args()
    if not shutil.which("wrk") and args.only != "scale":
        sys.exit("wrk not found: apt-get install -y wrk")
    tmp = Path(tempfile.mkdtemp(prefix="bg-bench-"))
    try:
        print(f"bedrock-gates bench: {args.bin}, {time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} CPUs")
        if args.compare and args.only != "scale":
            compare(args, tmp)
            return
        if args.only != "scale":
            wire(args, tmp)
        if args.only != "wire":
            scale(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
