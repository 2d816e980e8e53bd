import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { build } from "esbuild";
import { afterAll, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "..", "..");
const project = fs.mkdtempSync(path.join(os.tmpdir(), "ropc-start-entry-"));
afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

/**
 * `npm start`'s entry, bundled as `npm run build` bundles it, in a project of its own whose
 * launcher only prints the pool size it was given; with `files` as the project's env files.
 */
async function entryWith(files: Record<string, string>, env: Record<string, string> = {}) {
  const launcher = path.join(project, ".next", "launcher");
  fs.mkdirSync(launcher, { recursive: true });
  if (!fs.existsSync(path.join(project, "node_modules"))) fs.symlinkSync(path.join(root, "node_modules"), path.join(project, "node_modules"));
  await build({
    entryPoints: [path.join(root, "lib", "scripts", "start-entry.ts")],
    outfile: path.join(launcher, "start.cjs"),
    bundle: true,
    platform: "node",
    target: "node20",
    packages: "external",
    alias: { "@": root },
    format: "cjs",
    logLevel: "warning",
  });
  fs.writeFileSync(path.join(launcher, "start.mjs"), "process.stdout.write(String(process.env.UV_THREADPOOL_SIZE));\n");
  for (const name of fs.readdirSync(project).filter((n) => n.startsWith(".env"))) fs.rmSync(path.join(project, name));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(project, name), text);
  const { PATH, HOME } = process.env;
  // From another folder: the entry moves to the project's own.
  return spawnSync(process.execPath, [path.join(launcher, "start.cjs")], {
    cwd: os.tmpdir(),
    env: { PATH, HOME, NODE_ENV: "production", ...env },
    encoding: "utf8",
    timeout: 20_000,
  }).stdout;
}

it("sizes libuv's pool from UV_THREADPOOL_SIZE in an env file, read before anything starts the pool", async () => {
  expect(await entryWith({ ".env.production": "UV_THREADPOOL_SIZE=3\n" })).toBe("3");
  // The environment wins over the files; without either, one thread per core (two at least).
  expect(await entryWith({ ".env.production": "UV_THREADPOOL_SIZE=3\n" }, { UV_THREADPOOL_SIZE: "5" })).toBe("5");
  expect(Number(await entryWith({}))).toBeGreaterThanOrEqual(2);
}, 30_000);
