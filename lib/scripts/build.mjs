// `npm run build` once Prisma's client is generated: Next's build, the production launcher, then
// the record of what the build was made from.
//
// The launcher: lib/scripts/start.ts and the few modules it imports, bundled into
// .next/launcher/start.mjs with esbuild, so that `npm start` runs on plain Node: no TypeScript
// loader (and its worker thread) in the server's process. `npm start` runs .next/launcher/start.cjs
// (lib/scripts/start-entry.ts), which sizes libuv's thread pool before the ES module loader starts
// it, then loads start.mjs.
//
// The record (SOURCES_FILE) is of the sources as they were when the build began, for the check
// before each `npm start` (check-build.mjs). A file edited while the build ran may or may not be in
// it: then the build says so and fails, and `npm start` refuses it until the next build.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { build } from "esbuild";
import { buildSources, changedSources, nameFiles, SOURCES_FILE } from "./build-sources.mjs";

const sources = buildSources(".");

const next = spawnSync(process.execPath, [path.join("node_modules", "next", "dist", "bin", "next"), "build"], { stdio: "inherit" });
if (next.status !== 0) process.exit(next.status ?? 1);

const common = { bundle: true, platform: "node", target: "node20", packages: "external", alias: { "@": "." }, logLevel: "warning" };
await build({
  ...common,
  entryPoints: ["lib/scripts/start.ts"],
  outfile: ".next/launcher/start.mjs",
  format: "esm",
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
});
await build({ ...common, entryPoints: ["lib/scripts/start-entry.ts"], outfile: ".next/launcher/start.cjs", format: "cjs" });

fs.writeFileSync(SOURCES_FILE, `${JSON.stringify(sources, null, 1)}\n`);
const changed = changedSources(sources, buildSources("."));
if (changed.length > 0) {
  process.stderr.write(`The build failed: the code changed while it was built (${nameFiles(changed)}): run npm run build again.\n`);
  process.exit(1);
}
