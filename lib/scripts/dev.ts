// `npm run dev`: a working development server from a fresh clone. Applies migrations, seeds the
// demo data into an empty database, makes sure a signing key exists, then serves `next dev`.
import { runPrisma } from "../../prisma/cli.mjs";
import { isEmpty, seedDemo } from "../../prisma/seed.ts";
import { db } from "@/lib/platform/db.ts";
import { ensureSigningKey } from "@/lib/oauth/store/signing-keys.ts";
import { serve } from "@/lib/scripts/serve.ts";

(process.env as Record<string, string>).NODE_ENV ??= "development";
if (runPrisma(["migrate", "deploy"]) !== 0) process.exit(1);
if (await isEmpty()) {
  await seedDemo();
  process.stdout.write("Seeded the demo data: tenant demo, workspace default (see README).\n");
}
await ensureSigningKey();
await db().$disconnect();
await serve({ dev: true });
