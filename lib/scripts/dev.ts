// `npm run dev`: a working development server from a fresh clone. Applies migrations, seeds the
// demo data into an empty database, makes sure a signing key exists, then serves `next dev`.
import { loadEnvFiles } from "@/lib/scripts/env-files.ts";

(process.env as Record<string, string>).NODE_ENV ??= "development";
// Before the modules that read the settings are loaded (the logger reads them as it loads).
loadEnvFiles(false);
const { runPrisma } = await import("../../prisma/cli.mjs");
const { isEmpty, seedDemo } = await import("../../prisma/seed.ts");
const { db } = await import("@/lib/platform/db.ts");
const { ensureSigningKey } = await import("@/lib/oauth/store/signing-keys.ts");
const { serve } = await import("@/lib/scripts/serve.ts");

if (runPrisma(["migrate", "deploy"]) !== 0) process.exit(1);
if (await isEmpty()) {
  await seedDemo();
  process.stdout.write("Seeded the demo data: tenant demo, workspace default (see README).\n");
}
await ensureSigningKey();
await db().$disconnect();
await serve({ dev: true });
