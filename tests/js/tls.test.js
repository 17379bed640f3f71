// The JavaScript SDK v3 over HTTPS: `serve`'s local CA handed to Node.js with
// NODE_EXTRA_CA_CERTS, as the banner's export line says. Node reads that variable only at
// process start, so each client runs in a child process of its own.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { BIN } from "./bin.js";

const HERE = dirname(fileURLToPath(import.meta.url));
let server;
let fields;

before(async () => {
  assert.ok(existsSync(BIN), `no bedrock-gates binary at ${BIN} (build it, or set BEDROCK_GATES_BIN)`);
  const dir = mkdtempSync(join(tmpdir(), "bg-js-tls-"));
  server = spawn(BIN, ["serve", "--port", "0", "--state", join(dir, "state.db")], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  // the banner: `  name: value` lines up to a blank line
  fields = await new Promise((resolve, reject) => {
    let buf = "";
    server.stdout.on("data", (d) => {
      buf += d;
      const end = buf.indexOf("\n\n");
      if (end < 0) return;
      const out = {};
      for (const line of buf.slice(0, end).split("\n").slice(1)) {
        const i = line.indexOf(": ");
        if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 2);
      }
      resolve(out);
    });
    server.on("exit", (code) => reject(new Error(`serve exited ${code}`)));
  });
});

after(() => server?.kill("SIGTERM"));

const CLIENT = `
import { BedrockRuntimeClient, ConverseCommand } from "@aws-sdk/client-bedrock-runtime";
const out = await new BedrockRuntimeClient({ maxAttempts: 1 }).send(new ConverseCommand({
  modelId: "amazon.nova-lite-v1:0",
  messages: [{ role: "user", content: [{ text: "hi" }] }],
}));
console.log(JSON.stringify({ stopReason: out.stopReason, role: out.output.message.role }));
`;

function converseOverHttps(extraEnv) {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  Object.assign(env, extraEnv, {
    AWS_ENDPOINT_URL: fields.https,
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_REGION: "us-east-1",
  });
  return spawnSync(process.execPath, ["--input-type=module", "-e", CLIENT], {
    cwd: HERE,
    env,
    encoding: "utf8",
    timeout: 60000,
  });
}

test("the banner names the https URL and the CA", () => {
  assert.match(fields.https, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.match(fields.ca, /ca\.pem$/);
});

test("Converse over HTTPS with NODE_EXTRA_CA_CERTS", () => {
  const r = converseOverHttps({ NODE_EXTRA_CA_CERTS: fields.ca });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { stopReason: "end_turn", role: "assistant" });
});

test("without the CA Node refuses the certificate", () => {
  const r = converseOverHttps({});
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /unable to verify the first certificate|UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
});
