"""Backends chosen by configuration: a scenario's `[[backend]]` entries route models to a
backend (the scripted one is the default and the only kind so far); a misspelt kind is refused
when serve starts, with the valid kinds listed."""

import subprocess

from conftest import BIN, Server, client_for, converse

SCENARIO = '''
[[backend]]
kind = "scripted"
models = ["meta.*"]
answer = "Answered by the meta.* backend."

[[answer]]
model = "amazon.nova-pro-v1:0"
text = "Pinned on the default backend."
'''


def test_models_go_to_the_backend_their_pattern_names(tmp_path):
    s = Server.with_scenario_text(tmp_path, SCENARIO, "backends.toml")
    try:
        rt = client_for("bedrock-runtime", s, "test", "test", region="us-west-2")
        out = converse(rt, "meta.llama3-1-70b-instruct-v1:0")
        assert out["output"]["message"]["content"] == [{"text": "Answered by the meta.* backend."}]
        # the stream comes from the same backend's events
        events = rt.converse_stream(modelId="meta.llama3-1-70b-instruct-v1:0",
                                    messages=[{"role": "user", "content": [{"text": "hi"}]}])["stream"]
        text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
        assert text == "Answered by the meta.* backend."
        # models the pattern does not name stay on the default backend, with its pins
        rt = client_for("bedrock-runtime", s, "test", "test")
        assert converse(rt, "amazon.nova-pro-v1:0")["output"]["message"]["content"] == [
            {"text": "Pinned on the default backend."}]
        assert "meta.* backend" not in converse(rt, "amazon.nova-lite-v1:0")["output"]["message"]["content"][0]["text"]
    finally:
        s.stop()


def test_a_misspelt_backend_kind_is_refused_at_start(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[backend]]\nkind = "scriptd"\nmodels = ["*"]\n')
    p = subprocess.run([BIN, "serve", "--port", "0", "--state", ":memory:", "--scenario", str(bad)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1
    assert 'scenario: [[backend]] kind "scriptd" is not one of: scripted' in p.stderr
