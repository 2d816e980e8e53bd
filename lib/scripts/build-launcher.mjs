// Part of `npm run build`: bundles the production launcher (lib/scripts/start.ts and the few
// modules it imports) into .next/launcher/start.mjs with esbuild, so that `npm start` runs on
// plain Node: no TypeScript loader (and its worker thread) in the server's process.
import { build } from "esbuild";

await build({
  entryPoints: ["lib/scripts/start.ts"],
  outfile: ".next/launcher/start.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  alias: { "@": "." },
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: "warning",
});
