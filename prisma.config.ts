import path from "node:path";
import { defineConfig } from "prisma/config";

// `env("DATABASE_URL")` would throw when the variable is unset; development uses a default file.
const databaseUrl = process.env.DATABASE_URL || `file:${path.join("prisma", "data", "dev.db")}`;

export default defineConfig({
  schema: path.join("prisma", "schema.prisma"),
  migrations: {
    path: path.join("prisma", "migrations"),
    seed: "tsx prisma/seed.ts",
  },
  datasource: { url: databaseUrl },
});
