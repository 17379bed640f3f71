// The bedrock-gates binary the JS tests start: BEDROCK_GATES_BIN when set, otherwise the dev
// build wherever cargo puts it (CARGO_TARGET_DIR, a cargo config's build.target-dir, or
// ./target), as `cargo metadata` reports the target directory, like tests/python/conftest.py.
import { execFileSync } from "node:child_process";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

function builtBinary() {
  let target = join(ROOT, "target");
  try {
    const meta = execFileSync("cargo", ["metadata", "--format-version", "1", "--no-deps"], {
      cwd: ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      maxBuffer: 64 << 20,
      timeout: 120_000,
    });
    target = JSON.parse(meta).target_directory;
  } catch {
    // no cargo on PATH (or no manifest): the default place
  }
  return join(target, "debug", "bedrock-gates");
}

export const BIN = process.env.BEDROCK_GATES_BIN || builtBinary();
