import path from "node:path";
import { defineConfig } from "prisma/config";

// `env("DATABASE_URL")` would throw when the variable is unset; development uses a default file.
const databaseUrl = process.env.DATABASE_URL || `file:${path.join("prisma", "data", "dev.db")}`;
// One schema per provider (prisma/postgres.mjs writes the PostgreSQL one), each with its migrations.
const folder = /^postgres(ql)?:\/\//.test(databaseUrl) ? path.join("prisma", "postgres") : "prisma";

export default defineConfig({
  schema: path.join(folder, "schema.prisma"),
  migrations: {
    path: path.join(folder, "migrations"),
    seed: "tsx prisma/seed.ts",
  },
  datasource: { url: databaseUrl },
});
