"""Structured output through langchain-aws (issue 14): `ChatBedrockConverse(...)
.with_structured_output(Schema, method="json_schema")` against serve returns a parsed object, on
the scripted backend and through an OpenAI-compatible upstream (which must receive the schema as
`response_format` and whose answer is validated before it is returned)."""

import http.server
import json
import threading
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from conftest import SCENARIO, Server, client_for

langchain_aws = pytest.importorskip("langchain_aws")

CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"  # on-demand Claude 4.5 goes through a profile
GPT_OSS = "openai.gpt-oss-20b-1:0"


class Weather(BaseModel):
    """The weather in a city."""
    city: str
    temperature: int = Field(ge=-30, le=45)
    unit: Literal["celsius", "fahrenheit"]


def chat(model, server=None):
    return langchain_aws.ChatBedrockConverse(
        model=model, region_name="us-east-1", client=client_for("bedrock-runtime", server))


def test_the_scripted_backend_answers_a_parsed_object(server):
    structured = chat(CLAUDE).with_structured_output(Weather, method="json_schema")
    w = structured.invoke("What is the weather? city: Lisbon")
    assert isinstance(w, Weather)
    assert w.city == "Lisbon"  # the word after the property name in the prompt
    assert -30 <= w.temperature <= 45 and w.unit in ("celsius", "fahrenheit")
    # Deterministic per prompt: the same question, the same object.
    assert structured.invoke("What is the weather? city: Lisbon") == w


def test_include_raw_shows_the_converse_answer(server):
    out = chat(CLAUDE).with_structured_output(Weather, method="json_schema", include_raw=True).invoke(
        "weather for city: Porto")
    assert out["parsing_error"] is None
    assert out["parsed"].city == "Porto"
    assert json.loads(out["raw"].content if isinstance(out["raw"].content, str)
                      else out["raw"].content[0]["text"]) == out["parsed"].model_dump()


ANSWER = {"city": "Lisbon", "temperature": 21, "unit": "celsius"}


class Upstream(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible upstream: records each request, answers with `answer`."""
    protocol_version = "HTTP/1.1"
    seen = []
    answer = ANSWER

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        Upstream.seen.append(body)
        out = json.dumps({"id": "c1", "object": "chat.completion", "choices": [
            {"index": 0, "message": {"role": "assistant", "content": json.dumps(Upstream.answer)},
             "finish_reason": "stop"}], "usage": {"prompt_tokens": 12, "completion_tokens": 9}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


@pytest.fixture(scope="module")
def upstream_served(tmp_path_factory):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    s = Server(tmp_path_factory.mktemp("lc") / "state.db", SCENARIO,
               extra=["--backend", f"openai=http://127.0.0.1:{httpd.server_address[1]}/v1",
                      "--model-map", f"{GPT_OSS}=local-model"])
    yield s
    s.stop()
    httpd.shutdown()


def test_an_openai_upstream_answers_a_parsed_object(upstream_served):
    Upstream.answer = ANSWER
    w = chat(GPT_OSS, upstream_served).with_structured_output(Weather, method="json_schema").invoke(
        "What is the weather in Lisbon?")
    assert w == Weather(**ANSWER)
    sent = Upstream.seen[-1]
    assert sent["model"] == "local-model"
    fmt = sent["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["required"] == ["city", "temperature", "unit"]


def test_an_upstream_answer_outside_the_schema_is_refused(upstream_served):
    from botocore.exceptions import ClientError
    Upstream.answer = {"city": "Lisbon", "temperature": 99, "unit": "celsius"}
    try:
        with pytest.raises(ClientError) as ei:
            chat(GPT_OSS, upstream_served).with_structured_output(Weather, method="json_schema").invoke("weather?")
    finally:
        Upstream.answer = ANSWER
    err = ei.value.response["Error"]
    assert err["Code"] == "ModelErrorException"
    assert err["Message"] == ("The model's output does not satisfy the requested output schema: "
                              "$.temperature: out of range")
