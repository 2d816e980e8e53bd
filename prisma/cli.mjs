#!/usr/bin/env node
// Runs the Prisma CLI (`node prisma/cli.mjs migrate deploy`, `generate`, `db seed`, ...).
//
// Prisma 7 downloads a native schema engine on install and on first use. Where that download is
// impossible (a machine without internet, such as our CI), every migrate/db command fails. Where
// no native engine is on disk, this wrapper points the CLI at `schema-engine-wasm.mjs`, a stand-in
// that runs Prisma's own engine compiled to wasm (see the comments there). Where the native engine
// is present, or PRISMA_SCHEMA_ENGINE_BINARY is already set, the CLI runs untouched.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));

/** Where Prisma 7 keeps a downloaded schema engine: beside @prisma/engines, or in its cache. */
export function nativeSchemaEngineExists() {
  const dirs = [path.dirname(require.resolve("@prisma/engines/package.json"))];
  const cache = path.join(process.env.PRISMA_ENGINES_CACHE_DIR ?? path.join(os.homedir(), ".cache", "prisma"), "master");
  const version = require("@prisma/engines-version/package.json").prisma?.enginesVersion;
  if (version && fs.existsSync(path.join(cache, version))) {
    for (const target of fs.readdirSync(path.join(cache, version))) dirs.push(path.join(cache, version, target));
  }
  return dirs.some((dir) => fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.startsWith("schema-engine")));
}

export function prismaEnv(env = process.env) {
  // The seed command (`tsx prisma/seed.ts`) must resolve outside `npm run` too.
  const bin = path.join(path.dirname(here), "node_modules", ".bin");
  const out = { ...env, PATH: [bin, env.PATH].filter(Boolean).join(path.delimiter), CHECKPOINT_DISABLE: "1", PRISMA_HIDE_UPDATE_MESSAGE: "1" };
  if (!out.PRISMA_SCHEMA_ENGINE_BINARY && !nativeSchemaEngineExists()) {
    const shim = path.join(here, "schema-engine-wasm.mjs");
    // The CLI spawns the engine directly, so the stand-in must be executable (git may lose the bit).
    if ((fs.statSync(shim).mode & 0o111) === 0) fs.chmodSync(shim, 0o755);
    out.PRISMA_SCHEMA_ENGINE_BINARY = shim;
  }
  return out;
}

/** Runs the Prisma CLI with `args`; returns its exit status. */
export function runPrisma(args, { env = process.env, stdio = "inherit" } = {}) {
  const cli = path.join(path.dirname(require.resolve("prisma/package.json")), "build", "index.js");
  const result = spawnSync(process.execPath, [cli, ...args], { env: prismaEnv(env), stdio, cwd: path.dirname(here) });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

// Run as a script: by its real path, whatever link it was named through (Node loads the real file).
const realPath = (file) => (fs.existsSync(file) ? fs.realpathSync(file) : file);
if (process.argv[1] && fileURLToPath(import.meta.url) === realPath(path.resolve(process.argv[1]))) {
  process.exit(runPrisma(process.argv.slice(2)));
}
