"""Nothing acknowledged is lost: a burst of concurrent control-plane writes, `kill -9` in the
middle of it, restart on the same state file: every write that returned 2xx is there."""

import threading
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import Server, client_for, converse


def burst_then_kill9(server, args, writer, stop, enough, lock):
    """Run one writer thread per entry of `args` against `server`; once `enough()` (read under
    `lock`) holds, `kill -9` the server mid-burst, stop the writers and wait for them. If every
    writer died first, the server failed: stop waiting and let the caller's asserts say so."""
    threads = [threading.Thread(target=writer, args=a) for a in args]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        with lock:
            if enough():
                break
        time.sleep(0.001)
    server.kill9()
    stop.set()
    for t in threads:
        t.join()


def test_kill9_during_write_burst(tmp_path):
    state = tmp_path / "state.db"
    s = Server(state)
    acked, lock = [], threading.Lock()
    stop = threading.Event()

    def writer(worker):
        c = client_for("bedrock", s, "test", "test", connect_timeout=2, read_timeout=5)
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

    burst_then_kill9(s, [(w,) for w in range(4)], writer, stop, lambda: len(acked) >= 40, lock)

    s2 = Server(state)
    try:
        c = client_for("bedrock", s2, "test", "test", attempts=None)
        pages = c.get_paginator("list_inference_profiles").paginate(typeEquals="APPLICATION")
        stored = {p["inferenceProfileName"]: p["inferenceProfileArn"] for page in pages
                  for p in page["inferenceProfileSummaries"]}
        missing = [n for n, arn in acked if stored.get(n) != arn]
        assert not missing, f"{len(missing)} acknowledged writes lost: {missing[:5]}"
        assert len(acked) >= 40
    finally:
        s2.stop()


def test_kill9_during_agreement_burst(tmp_path):
    """Provider-terms state (issue 4): four writers toggle agreements (create, delete, create, …)
    on their own (Region, model) pairs; `kill -9` mid-burst; after restart each pair shows the
    last acknowledged write, or the one that was in flight when the server died (it may have
    committed without its 202 reaching the client)."""
    state = tmp_path / "state.db"
    s = Server(state)
    regions = ["us-east-1", "us-west-2", "eu-central-1", "ap-northeast-1"]
    probe = {r: client_for("bedrock", s, "test", "test", region=r, attempts=None) for r in regions}
    # every Marketplace model offered in each Region: those with an agreement offer
    pairs = []
    for r in regions:
        for m in probe[r].list_foundation_models(byInferenceType="ON_DEMAND")["modelSummaries"]:
            offers = probe[r].list_foundation_model_agreement_offers(modelId=m["modelId"])["offers"]
            if offers:
                pairs.append((r, m["modelId"], offers[0]["offerToken"]))
    assert len(pairs) >= 8, pairs
    lock = threading.Lock()
    last, inflight = {}, {}  # (region, model) -> True (agreement) / False (none)
    acked = [0]
    stop = threading.Event()

    def writer(mine):
        clients = {r: client_for("bedrock", s, "test", "test", region=r, connect_timeout=2, read_timeout=5)
                   for r in regions}
        want = True
        while not stop.is_set():
            for r, m, token in mine:
                with lock:
                    inflight[(r, m)] = want
                try:
                    if want:
                        resp = clients[r].create_foundation_model_agreement(modelId=m, offerToken=token)
                    else:
                        resp = clients[r].delete_foundation_model_agreement(modelId=m)
                except Exception:
                    return  # the server is gone
                assert resp["ResponseMetadata"]["HTTPStatusCode"] == 202
                with lock:
                    last[(r, m)] = want
                    del inflight[(r, m)]
                    acked[0] += 1
            want = not want

    burst_then_kill9(s, [(pairs[w::4],) for w in range(4)], writer, stop,
                     lambda: acked[0] >= 3 * len(pairs), lock)

    s2 = Server(state)
    try:
        wrong = []
        for (r, m), agreed in last.items():
            c = client_for("bedrock", s2, "test", "test", region=r, attempts=None)
            got = c.get_foundation_model_availability(modelId=m)["agreementAvailability"]["status"]
            allowed = {"AVAILABLE" if agreed else "NOT_AVAILABLE"}
            if (r, m) in inflight:
                allowed.add("AVAILABLE" if inflight[(r, m)] else "NOT_AVAILABLE")
            if got not in allowed:
                wrong.append((r, m, got, allowed))
        assert not wrong, f"{len(wrong)} acknowledged agreement writes lost: {wrong[:5]}"
        assert len(last) == len(pairs) and acked[0] >= 3 * len(pairs)
        print(f"{len(pairs)} pairs, {acked[0]} acknowledged agreement writes before kill -9")
    finally:
        s2.stop()


def test_iam_writes_survive_kill9(tmp_path):
    """IAM state (issue 3): a user, its key, a managed policy attached, an inline policy and a
    boundary, each acknowledged by the IAM API, then `kill -9`: after restart the key signs, the
    attached policy allows, the boundary still narrows, and the inline deny still denies."""
    import json

    state = tmp_path / "state.db"
    s = Server(state)
    fm = "arn:aws:bedrock:us-east-1::foundation-model/{}"

    def outcome(server, key, model):
        """The call's outcome: "ok", or the refusal's message."""
        c = client_for("bedrock-runtime", server, key["AccessKeyId"], key["SecretAccessKey"])
        try:
            converse(c, model)
            return "ok"
        except ClientError as e:
            return e.response["Error"]["Message"]

    i = client_for("iam", s, "test", "test")
    arn = i.create_user(UserName="durable")["User"]["Arn"]
    key = i.create_access_key(UserName="durable")["AccessKey"]
    i.attach_user_policy(UserName="durable", PolicyArn="arn:aws:iam::aws:policy/AmazonBedrockFullAccess")
    allow_two = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "bedrock:*", "Resource": [
        fm.format("amazon.nova-lite-v1:0"), fm.format("amazon.nova-pro-v1:0")]}]}
    i.put_user_permissions_boundary(
        UserName="durable",
        PermissionsBoundary=i.create_policy(PolicyName="two-models",
                                            PolicyDocument=json.dumps(allow_two))["Policy"]["Arn"])
    deny_pro = {"Version": "2012-10-17", "Statement": [{"Sid": "NoPro", "Effect": "Deny",
                                                        "Action": "bedrock:InvokeModel",
                                                        "Resource": fm.format("amazon.nova-pro-v1:0")}]}
    i.put_user_policy(UserName="durable", PolicyName="no-pro", PolicyDocument=json.dumps(deny_pro))
    before = {m: outcome(s, key, m) for m in ["amazon.nova-lite-v1:0", "amazon.nova-pro-v1:0",
                                                   "amazon.nova-micro-v1:0"]}
    s.kill9()

    s2 = Server(state)
    try:
        after = {m: outcome(s2, key, m) for m in before}
        assert after == before
        assert after["amazon.nova-lite-v1:0"] == "ok"
        assert after["amazon.nova-pro-v1:0"] == (
            f"User: {arn} is not authorized to perform: bedrock:InvokeModel on resource: "
            f"{fm.format('amazon.nova-pro-v1:0')} with an explicit deny in an identity-based policy")
        assert after["amazon.nova-micro-v1:0"] == (
            f"User: {arn} is not authorized to perform: bedrock:InvokeModel on resource: "
            f"{fm.format('amazon.nova-micro-v1:0')} because no permissions boundary allows the "
            "bedrock:InvokeModel action")
    finally:
        s2.stop()


def test_access_state_survives_kill9(tmp_path):
    """Issue 4's other writes: the Anthropic use-case form, the Marketplace subscription a first
    call starts (and the agreement it accepts), and the invocation logging configuration, each
    acknowledged, then `kill -9`: after restart each reads back the same, and the Claude call the
    form unblocked still works."""
    scenario = tmp_path / "scenario.toml"
    scenario.write_text('[[account]]\nid = "277777777777"\n\n[[access_key]]\naccount = "277777777777"\n'
                        'id = "AKIADURABLEROOT00001"\nsecret = "durable-secret"\n')
    state = tmp_path / "state.db"

    def clients(server):
        key = ("AKIADURABLEROOT00001", "durable-secret")
        return client_for("bedrock", server, *key), client_for("bedrock-runtime", server, *key)

    hi = [{"role": "user", "content": [{"text": "hi"}]}]
    claude, cohere = "us.anthropic.claude-3-7-sonnet-20250219-v1:0", "cohere.command-r-v1:0"
    form = b'{"companyName":"Durable Corp","useCases":"kill -9 test"}'
    logging = {"textDataDeliveryEnabled": True, "imageDataDeliveryEnabled": False,
               "embeddingDataDeliveryEnabled": True,
               "s3Config": {"bucketName": "bedrock-logs", "keyPrefix": "invocations"}}

    s = Server(state, scenario)
    b, rt = clients(s)
    with pytest.raises(ClientError) as ei:
        rt.converse(modelId=claude, messages=hi)
    assert ei.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert b.put_use_case_for_model_access(formData=form)["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert rt.converse(modelId=cohere, messages=hi)["stopReason"] == "end_turn"  # subscribes
    b.put_model_invocation_logging_configuration(loggingConfig=logging)
    before = (b.get_foundation_model_availability(modelId=cohere),
              b.get_model_invocation_logging_configuration()["loggingConfig"])
    assert before[0]["entitlementAvailability"] == "AVAILABLE"
    assert before[0]["agreementAvailability"] == {"status": "AVAILABLE"}
    s.kill9()

    s2 = Server(state, scenario)
    try:
        b, rt = clients(s2)
        assert b.get_use_case_for_model_access()["formData"] == form
        after = (b.get_foundation_model_availability(modelId=cohere),
                 b.get_model_invocation_logging_configuration()["loggingConfig"])
        for r in (before[0], after[0]):
            r.pop("ResponseMetadata", None)
        assert after == before
        assert after[1] == logging
        assert rt.converse(modelId=claude, messages=hi)["stopReason"] == "end_turn"
    finally:
        s2.stop()


def test_a_stop_leaves_no_wal_to_read(tmp_path):
    """A start reads the whole WAL beside the state file (at 10,000 principals that cost a
    third more CPU to the banner), and SQLite's own fold at the last close did not always happen:
    a serve started on the WAL a `kill -9` left stopped with that WAL still in place. A graceful
    stop now folds it into the file; the writes are all there after."""
    state = tmp_path / "state.db"
    wal = Path(f"{state}-wal")
    s = Server(state)
    iam = client_for("iam", s, "test", "test")
    for n in range(20):
        iam.create_user(UserName=f"wal-{n:02}")
    s.kill9()
    assert wal.exists() and wal.stat().st_size > 0

    def names(server):
        pages = client_for("iam", server, "test", "test").get_paginator("list_users").paginate()
        return sorted(u["UserName"] for p in pages for u in p["Users"])

    s2 = Server(state)
    try:
        assert names(s2) == [f"wal-{n:02}" for n in range(20)]
    finally:
        assert s2.stop() == 0
    assert not wal.exists() or wal.stat().st_size == 0, wal.stat().st_size
    s3 = Server(state)
    try:
        assert names(s3) == [f"wal-{n:02}" for n in range(20)]
    finally:
        s3.stop()
