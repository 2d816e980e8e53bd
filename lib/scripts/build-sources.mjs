// What a production build is made from, file by file: the check before `npm start`
// (check-build.mjs) compares it with what `npm run build` recorded (build.mjs), so that a
// server never starts from a build older than the code beside it (a `git pull` without a build
// would serve the old code, on a database the new code's migrations have changed).
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/** Where `npm run build` records its sources, beside the launcher. */
export const SOURCES_FILE = ".next/launcher/sources.json";

// The build's inputs: the app, its modules and the files that configure the build. Not the tests,
// the test helpers or Prisma's generated client (made from the schema and the locked packages).
const FOLDERS = ["app", "lib"];
const FILES = ["instrumentation.ts", "proxy.ts", "next.config.js", "tsconfig.json", "package-lock.json", "prisma/schema.prisma"];
const LEFT_OUT = /(^lib\/(generated|testing)\/)|\.test\.[cm]?[jt]sx?$/;

/** Each source file's SHA-256 (hex), by its path from `root` (with `/`). */
export function buildSources(root) {
  const files = [...FILES.filter((file) => fs.existsSync(path.join(root, file)))];
  for (const folder of FOLDERS) {
    if (!fs.existsSync(path.join(root, folder))) continue;
    for (const entry of fs.readdirSync(path.join(root, folder), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const file = path
        .relative(root, path.join(entry.parentPath ?? entry.path, entry.name))
        .split(path.sep)
        .join("/");
      if (!LEFT_OUT.test(file)) files.push(file);
    }
  }
  return Object.fromEntries(
    files.sort().map((file) => [
      file,
      createHash("sha256")
        .update(fs.readFileSync(path.join(root, file)))
        .digest("hex"),
    ]),
  );
}

/** The files that differ between two records (changed, added or removed), in order. */
export function changedSources(recorded, now) {
  return [...new Set([...Object.keys(recorded), ...Object.keys(now)])].filter((file) => recorded[file] !== now[file]).sort();
}

/** Files named in one line: the first three, and how many more. */
export function nameFiles(files) {
  return files.length > 3 ? `${files.slice(0, 3).join(", ")} and ${files.length - 3} more` : files.join(", ");
}
