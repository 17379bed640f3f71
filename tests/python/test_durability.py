"""Nothing acknowledged is lost: a burst of concurrent control-plane writes, `kill -9` in the
middle of it, restart on the same state file: every write that returned 2xx is there."""

import threading

import boto3
from botocore.config import Config

from conftest import Server


def test_kill9_during_write_burst(tmp_path):
    state = tmp_path / "state.db"
    s = Server(state)
    acked, lock = [], threading.Lock()
    stop = threading.Event()

    def writer(worker):
        c = boto3.client("bedrock", endpoint_url=s.url, region_name="us-east-1",
                         aws_access_key_id="test", aws_secret_access_key="test",
                         config=Config(retries={"total_max_attempts": 1}, connect_timeout=2, read_timeout=5))
        i = 0
        while not stop.is_set():
            name = f"burst-{worker}-{i}"
            i += 1
            try:
                r = c.create_inference_profile(
                    inferenceProfileName=name,
                    modelSource={"copyFrom": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0"},
                )
            except Exception:
                return  # the server is gone
            if r["ResponseMetadata"]["HTTPStatusCode"] == 201:
                with lock:
                    acked.append((name, r["inferenceProfileArn"]))

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    # Let the burst run until a good number of writes were acknowledged, then kill -9.
    while True:
        with lock:
            if len(acked) >= 40:
                break
    s.kill9()
    stop.set()
    for t in threads:
        t.join()

    s2 = Server(state)
    try:
        c = boto3.client("bedrock", endpoint_url=s2.url, region_name="us-east-1",
                         aws_access_key_id="test", aws_secret_access_key="test")
        pages = c.get_paginator("list_inference_profiles").paginate(typeEquals="APPLICATION")
        stored = {p["inferenceProfileName"]: p["inferenceProfileArn"] for page in pages
                  for p in page["inferenceProfileSummaries"]}
        missing = [n for n, arn in acked if stored.get(n) != arn]
        assert not missing, f"{len(missing)} acknowledged writes lost: {missing[:5]}"
        assert len(acked) >= 40
    finally:
        s2.stop()
