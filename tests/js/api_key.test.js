// The JavaScript SDK v3 with a Bedrock API key (its `token` option, sent as
// `Authorization: Bearer`) over HTTPS, trusting the local CA serve prints in its banner.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { Agent } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN } from "./bin.js";
import { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand } from "@aws-sdk/client-bedrock-runtime";
import { NodeHttpHandler } from "@smithy/node-http-handler";

const SCENARIO = `
[[account]]
id = "111111111111"
use_case_form = true

[[user]]
account = "111111111111"
name = "dev"
attach = ["AmazonBedrockFullAccess"]

[[api_key]]
account = "111111111111"
user = "dev"
id = "ACCADEVJSAPIKEY000001"
secret = "dev-js-secret"
`;
const KEY = "ABSK" + Buffer.from("dev-at-111111111111:dev-js-secret").toString("base64");
const NOVA = "amazon.nova-lite-v1:0";
let server;
let banner = {};

before(async () => {
  assert.ok(existsSync(BIN), `no bedrock-gates binary at ${BIN} (build it, or set BEDROCK_GATES_BIN)`);
  const dir = mkdtempSync(join(tmpdir(), "bg-js-key-"));
  writeFileSync(join(dir, "scenario.toml"), SCENARIO);
  server = spawn(BIN, ["serve", "--port", "0", "--state", join(dir, "state.db"), "--scenario", join(dir, "scenario.toml")], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  // the banner: `name: value` lines up to a blank line
  banner = await new Promise((resolve, reject) => {
    let buf = "";
    server.stdout.on("data", (d) => {
      buf += d;
      const end = buf.indexOf("\n\n");
      if (end < 0) return;
      const fields = {};
      for (const line of buf.slice(0, end).split("\n").slice(1)) {
        const m = line.trim().match(/^([a-z ]+): (.*)$/);
        if (m) fields[m[1]] = m[2];
      }
      resolve(fields);
    });
    server.on("exit", (code) => reject(new Error(`serve exited ${code}`)));
  });
});

after(() => server?.kill("SIGTERM"));

function client(token) {
  return new BedrockRuntimeClient({
    region: "us-east-1",
    endpoint: banner.https,
    token: { token },
    authSchemePreference: ["httpBearerAuth"],
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca: readFileSync(banner.ca) }) }),
  });
}

const user = (text) => [{ role: "user", content: [{ text }] }];

test("Converse and ConverseStream with a long-term API key over HTTPS", async () => {
  assert.match(banner.https, /^https:\/\/127\.0\.0\.1:\d+$/);
  const out = await client(KEY).send(new ConverseCommand({ modelId: NOVA, messages: user("hi") }));
  assert.equal(out.output.message.content[0].text, `This is a scripted reply from ${NOVA} to: hi`);
  const res = await client(KEY).send(new ConverseStreamCommand({ modelId: NOVA, messages: user("hi") }));
  let text = "";
  for await (const ev of res.stream) {
    if (ev.contentBlockDelta) text += ev.contentBlockDelta.delta.text;
  }
  assert.equal(text, `This is a scripted reply from ${NOVA} to: hi`);
});

test("a key that does not authenticate is refused with AWS's text", async () => {
  const bad = "ABSK" + Buffer.from("dev-at-111111111111:wrong").toString("base64");
  await assert.rejects(client(bad).send(new ConverseCommand({ modelId: NOVA, messages: user("hi") })), (e) => {
    assert.equal(e.name, "AccessDeniedException");
    assert.equal(e.$metadata.httpStatusCode, 403);
    assert.equal(e.message, "Authentication failed: Please make sure your API Key is valid.");
    return true;
  });
});
