// Part of `npm run build`: bundles the production launcher (lib/scripts/start.ts and the few
// modules it imports) into .next/launcher/start.mjs with esbuild, so that `npm start` runs on
// plain Node: no TypeScript loader (and its worker thread) in the server's process. `npm start`
// runs .next/launcher/start.cjs (lib/scripts/start-entry.ts), which sizes libuv's thread pool
// before the ES module loader starts it, then loads start.mjs.
import fs from "node:fs";
import { build } from "esbuild";
import { buildSources, SOURCES_FILE } from "./build-sources.mjs";

const common = { bundle: true, platform: "node", target: "node20", packages: "external", alias: { "@": "." }, logLevel: "warning" };

await build({
  ...common,
  entryPoints: ["lib/scripts/start.ts"],
  outfile: ".next/launcher/start.mjs",
  format: "esm",
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
});
await build({ ...common, entryPoints: ["lib/scripts/start-entry.ts"], outfile: ".next/launcher/start.cjs", format: "cjs" });
// Last: what this build was made from, for the check before each `npm start` (check-build.mjs).
fs.writeFileSync(SOURCES_FILE, `${JSON.stringify(buildSources("."), null, 1)}\n`);
