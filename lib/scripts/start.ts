// `npm start`: the production server. Refuses to start without its secrets, applies pending
// migrations, makes sure a signing key exists, then serves the build. It never seeds.
import { runPrisma } from "../../prisma/cli.mjs";
import { assertProductionSettings, ConfigError } from "@/lib/env.ts";


(process.env as Record<string, string>).NODE_ENV = "production";
try {
  assertProductionSettings();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`Cannot start: ${err.message}\n`);
  process.exit(1);
}
if (runPrisma(["migrate", "deploy"]) !== 0) process.exit(1);
const { db } = await import("@/lib/db.ts");
const { ensureSigningKey } = await import("@/lib/oauth/keys.ts");
await ensureSigningKey();
await db().$disconnect();
const { serve } = await import("@/lib/scripts/serve.ts");
await serve({ dev: false });
