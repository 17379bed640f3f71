// The JavaScript SDK v3 against `bedrock-gates serve`: Converse, ConverseStream,
// InvokeModelWithResponseStream and a mid-stream throttle. The endpoint comes only from
// AWS_ENDPOINT_URL, as a user would set it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN } from "./bin.js";
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  InvokeModelWithResponseStreamCommand,
} from "@aws-sdk/client-bedrock-runtime";
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";

const SCENARIO = `
[[answer]]
model = "amazon.nova-pro-v1:0"
text = "Pinned answer for the JavaScript SDK."

[[fault]]
model = "amazon.nova-micro-v1:0"
kind = "stream-throttle"
after_frames = 2
`;
let server;

before(async () => {
  assert.ok(existsSync(BIN), `no bedrock-gates binary at ${BIN} (build it, or set BEDROCK_GATES_BIN)`);
  const dir = mkdtempSync(join(tmpdir(), "bg-js-"));
  writeFileSync(join(dir, "scenario.toml"), SCENARIO);
  server = spawn(BIN, ["serve", "--port", "0", "--state", ":memory:", "--scenario", join(dir, "scenario.toml")], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  const url = await new Promise((resolve, reject) => {
    let buf = "";
    server.stdout.on("data", (d) => {
      buf += d;
      const m = buf.match(/listening on (http:\/\/\S+)/);
      if (m) resolve(m[1]);
    });
    server.on("exit", (code) => reject(new Error(`serve exited ${code}`)));
  });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: url,
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_REGION: "us-east-1",
  });
});

after(() => server?.kill("SIGTERM"));

const user = (text) => [{ role: "user", content: [{ text }] }];

test("GetCallerIdentity", async () => {
  const out = await new STSClient({}).send(new GetCallerIdentityCommand({}));
  assert.equal(out.Arn, "arn:aws:iam::000000000000:root");
  assert.equal(out.Account, "000000000000");
});

test("Converse", async () => {
  const out = await new BedrockRuntimeClient({}).send(
    new ConverseCommand({ modelId: "amazon.nova-pro-v1:0", messages: user("hi") }),
  );
  assert.deepEqual(out.output.message.content, [{ text: "Pinned answer for the JavaScript SDK." }]);
  assert.equal(out.stopReason, "end_turn");
});

test("ConverseStream: exact event sequence and text", async () => {
  const out = await new BedrockRuntimeClient({}).send(
    new ConverseStreamCommand({ modelId: "amazon.nova-pro-v1:0", messages: user("hi") }),
  );
  const kinds = [];
  let text = "";
  for await (const ev of out.stream) {
    const kind = Object.keys(ev).find((k) => ev[k] !== undefined);
    kinds.push(kind);
    if (kind === "contentBlockDelta") text += ev.contentBlockDelta.delta.text;
  }
  assert.deepEqual(kinds, [
    "messageStart",
    "contentBlockDelta",
    "contentBlockDelta",
    "contentBlockDelta",
    "contentBlockStop",
    "messageStop",
    "metadata",
  ]);
  assert.equal(text, "Pinned answer for the JavaScript SDK.");
});

test("InvokeModelWithResponseStream: Anthropic chunks", async () => {
  const body = JSON.stringify({
    anthropic_version: "bedrock-2023-05-31",
    max_tokens: 100,
    messages: [{ role: "user", content: "Reply with exactly: javascript streams too" }],
  });
  const out = await new BedrockRuntimeClient({}).send(
    new InvokeModelWithResponseStreamCommand({ modelId: "anthropic.claude-3-haiku-20240307-v1:0", body }),
  );
  const chunks = [];
  for await (const ev of out.body) chunks.push(JSON.parse(new TextDecoder().decode(ev.chunk.bytes)));
  assert.equal(chunks[0].type, "message_start");
  assert.equal(chunks.at(-1).type, "message_stop");
  const text = chunks.filter((c) => c.type === "content_block_delta").map((c) => c.delta.text).join("");
  assert.equal(text, "javascript streams too");
});

test("mid-stream throttle surfaces as ThrottlingException", async () => {
  const out = await new BedrockRuntimeClient({}).send(
    new ConverseStreamCommand({ modelId: "amazon.nova-micro-v1:0", messages: user("hi") }),
  );
  const seen = [];
  await assert.rejects(
    (async () => {
      for await (const ev of out.stream) seen.push(Object.keys(ev).find((k) => ev[k] !== undefined));
    })(),
    (err) => {
      assert.equal(err.name, "ThrottlingException");
      assert.match(err.message, /^Too many requests, please wait before trying again\./);
      return true;
    },
  );
  assert.deepEqual(seen, ["messageStart", "contentBlockDelta"]);
});
