// `npm start`: the production server. Refuses to start without its secrets, applies pending
// migrations, then serves the build. It never seeds. The first request that needs a signing key
// creates one when none exists (lib/oauth/tokens/keys.ts). `npm run build` bundles this file into
// .next/launcher/start.mjs (lib/scripts/build-launcher.mjs), so the server runs on plain Node,
// with no TypeScript loader in its process; it loads no database client of its own.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { assertProductionSettings, ConfigError } from "@/lib/platform/env.ts";
import { serve } from "@/lib/scripts/serve.ts";

(process.env as Record<string, string>).NODE_ENV = "production";
try {
  assertProductionSettings();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`Cannot start: ${err.message}\n`);
  process.exit(1);
}
const migrate = spawnSync(process.execPath, [path.resolve("prisma", "cli.mjs"), "migrate", "deploy"], { stdio: "inherit" });
if (migrate.status !== 0) process.exit(1);
await serve({ dev: false });
