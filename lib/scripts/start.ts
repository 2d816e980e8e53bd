// `npm start`: the production server. Refuses to start, listing every missing or invalid
// setting, then applies pending migrations (reading first: nothing is written when none is
// pending), checks that the database's sealed secrets open with KEY_ENCRYPTION_KEY, then serves the build. It never seeds. The first request that needs a signing key
// creates one when none exists (lib/oauth/tokens/keys.ts). `npm run build` bundles this file into
// .next/launcher/start.mjs (lib/scripts/build.mjs), so the server runs on plain Node,
// with no TypeScript loader in its process; it loads no Prisma client of its own.
import { assertProductionSettings, ConfigError, parseSettings } from "@/lib/platform/env.ts";
import { applyPendingMigrations, MigrationFailure } from "@/lib/scripts/migrate.ts";
import { serve } from "@/lib/scripts/serve.ts";
import { sealedSecretsProblem } from "@/lib/scripts/sealed-secrets.ts";
import { loadEnvFiles } from "@/lib/scripts/env-files.ts";
import { startTracing, startupSpan, stopTracing } from "@/lib/platform/tracing-sdk.ts";
import { messageOf } from "@/lib/platform/error-message.ts";

(process.env as Record<string, string>).NODE_ENV = "production";
const envFiles = loadEnvFiles(true);
if (envFiles.length > 0) process.stdout.write(`Settings: the environment's, then ${envFiles.join(", ")}\n`);
try {
  assertProductionSettings();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`Cannot start: ${err.problems.length} setting(s) to fix:\n${err.problems.map((p) => `  - ${p}`).join("\n")}\nSee .env.example.\n`);
  process.exit(1);
}
const { DATABASE_URL, DATABASE_BUSY_TIMEOUT_SECONDS } = parseSettings();
// Before anything is served: the OAuth paths are answered by this bundle, not through Next, so
// Next's instrumentation hook alone would miss them. The start's migration step is a span of its own.
await startTracing();
try {
  await startupSpan("migrations", () =>
    applyPendingMigrations({
      databaseUrl: DATABASE_URL,
      busyTimeoutSeconds: DATABASE_BUSY_TIMEOUT_SECONDS,
      out: (line) => process.stdout.write(`${line}\n`),
    }),
  );
} catch (err) {
  if (!(err instanceof MigrationFailure)) throw err;
  process.stderr.write(`Cannot start: ${err.message}\n`);
  await stopTracing();
  process.exit(1);
}
const sealed = await sealedSecretsProblem(DATABASE_URL, DATABASE_BUSY_TIMEOUT_SECONDS * 1000).then(
  (problem) => problem && `${problem}. Every instance needs the KEY_ENCRYPTION_KEY the database's secrets were sealed with.`,
  (err: unknown) => `cannot read the database's signing keys and server secrets: ${messageOf(err)}`,
);
if (sealed) {
  process.stderr.write(`Cannot start: ${sealed}\n`);
  await stopTracing();
  process.exit(1);
}
await serve({ dev: false });
