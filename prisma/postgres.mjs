#!/usr/bin/env node
// Prisma 7 takes one provider per schema, and `provider` cannot come from the environment. So
// prisma/schema.prisma (SQLite) is the single source, and this script writes the PostgreSQL copy,
// prisma/postgres/schema.prisma, from it: the provider and the client's output differ, nothing
// else. `node prisma/postgres.mjs --check` (part of `npm test`) fails when the copy has drifted.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const source = path.join(here, "schema.prisma");
const target = path.join(here, "postgres", "schema.prisma");

function replaceOnce(text, from, to) {
  if (!text.includes(from)) throw new Error(`prisma/schema.prisma no longer contains ${JSON.stringify(from)}: update prisma/postgres.mjs`);
  return text.replace(from, to);
}

export function postgresSchema(text) {
  let out = replaceOnce(text, 'provider = "sqlite"', 'provider = "postgresql"');
  out = replaceOnce(out, 'output   = "../lib/generated/prisma"', 'output   = "../../lib/generated/prisma-pg"');
  return `// GENERATED from prisma/schema.prisma by prisma/postgres.mjs: do not edit.\n\n${out}`;
}

const wanted = postgresSchema(fs.readFileSync(source, "utf8"));
if (process.argv.includes("--check")) {
  const actual = fs.existsSync(target) ? fs.readFileSync(target, "utf8") : "";
  if (actual !== wanted) {
    process.stderr.write("prisma/postgres/schema.prisma is out of date: run `node prisma/postgres.mjs` (and `npm run db:new-migration`).\n");
    process.exit(1);
  }
} else {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, wanted);
}
