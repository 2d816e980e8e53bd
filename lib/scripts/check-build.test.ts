import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buildSources, SOURCES_FILE } from "@/lib/scripts/build-sources.mjs";

// `npm start` itself, in a folder that has the project's package.json and its scripts' check,
// and as much of a build as each test gives it.
const root = path.resolve(import.meta.dirname, "..", "..");
const folders: string[] = [];
afterEach(() => {
  for (const dir of folders.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function project(built: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ropc-check-build-"));
  folders.push(dir);
  fs.mkdirSync(path.join(dir, "lib", "scripts"), { recursive: true });
  fs.copyFileSync(path.join(root, "package.json"), path.join(dir, "package.json"));
  for (const script of ["check-build.mjs", "build-sources.mjs"])
    fs.copyFileSync(path.join(root, "lib", "scripts", script), path.join(dir, "lib", "scripts", script));
  write(dir, "app/page.tsx", "export default function Page() {}");
  for (const file of built) {
    // A launcher that does nothing; the record of the sources as they are now.
    write(dir, file, file === SOURCES_FILE ? JSON.stringify(buildSources(dir)) : "");
  }
  return dir;
}

function write(dir: string, file: string, text: string) {
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  fs.writeFileSync(path.join(dir, file), text);
}

const BUILT = [".next/BUILD_ID", ".next/launcher/start.cjs", ".next/launcher/start.mjs", SOURCES_FILE];

const npmStart = (cwd: string) => {
  const run = spawnSync("npm", ["start", "--silent"], { cwd, encoding: "utf8", timeout: 30_000 });
  return { status: run.status, stderr: run.stderr };
};

describe("npm start without a production build", () => {
  it("says what to run in one line, and ends with status 1", () => {
    expect(npmStart(project([]))).toEqual({
      status: 1,
      stderr: "Cannot start: there is no production build here (.next/BUILD_ID is missing): run npm run build first (npm run dev needs none).\n",
    });
  });

  it("names the launcher when only Next's build is there (next build without npm run build)", () => {
    expect(npmStart(project([".next/BUILD_ID"]))).toEqual({
      status: 1,
      stderr: "Cannot start: there is no production build here (.next/launcher/start.cjs is missing): run npm run build first (npm run dev needs none).\n",
    });
  });

  it("names the record of the build's sources when it is missing (a build made before it was kept)", () => {
    expect(npmStart(project(BUILT.slice(0, 3)))).toEqual({
      status: 1,
      stderr: "Cannot start: there is no production build here (.next/launcher/sources.json is missing): run npm run build first (npm run dev needs none).\n",
    });
  });

  it("starts the launcher when the build is complete", () => {
    expect(npmStart(project(BUILT))).toEqual({ status: 0, stderr: "" });
  });
});

describe("npm start with a build older than the code", () => {
  it("names what changed since the build (changed, added, removed) and ends with status 1", () => {
    const dir = project(BUILT);
    write(dir, "lib/oauth/tests-only.test.ts", "a test is not built");
    write(dir, "lib/testing/helper.ts", "nor a test helper");
    expect(npmStart(dir)).toEqual({ status: 0, stderr: "" });
    write(dir, "app/page.tsx", "export default function Page() { return null; }");
    write(dir, "lib/oauth/new.ts", "export {};");
    expect(npmStart(dir)).toEqual({
      status: 1,
      stderr: "Cannot start: the code here has changed since the production build was made (app/page.tsx, lib/oauth/new.ts): run npm run build again.\n",
    });
    fs.rmSync(path.join(dir, "app/page.tsx"));
    for (const file of ["next.config.js", "tsconfig.json", "package-lock.json"]) write(dir, file, "{}");
    expect(npmStart(dir).stderr).toBe(
      "Cannot start: the code here has changed since the production build was made (app/page.tsx, lib/oauth/new.ts, next.config.js and 2 more): run npm run build again.\n",
    );
  });

  it("starts a build copied without its sources (no app folder beside it)", () => {
    const dir = project(BUILT);
    for (const folder of ["app", "lib/oauth", "lib/testing"]) fs.rmSync(path.join(dir, folder), { recursive: true, force: true });
    expect(npmStart(dir)).toEqual({ status: 0, stderr: "" });
  });
});

describe("npm run build (after Prisma's client): what it records", () => {
  // Next's build stood in for by a script that writes a build id, and may edit a source meanwhile;
  // the launcher's real bundling of two empty entry points.
  function buildable(editDuringBuild: string | null) {
    const dir = project([]);
    fs.copyFileSync(path.join(root, "lib", "scripts", "build.mjs"), path.join(dir, "lib", "scripts", "build.mjs"));
    for (const entry of ["start.ts", "start-entry.ts"]) write(dir, `lib/scripts/${entry}`, "export {};");
    fs.mkdirSync(path.join(dir, "node_modules"));
    fs.symlinkSync(path.join(root, "node_modules", "esbuild"), path.join(dir, "node_modules", "esbuild"));
    write(dir, "node_modules/next/package.json", "{}");
    const edit = editDuringBuild === null ? "" : `fs.appendFileSync(${JSON.stringify(editDuringBuild)}, "// edited");`;
    write(
      dir,
      "node_modules/next/dist/bin/next",
      `const fs = require("fs"); fs.mkdirSync(".next", { recursive: true }); ${edit} fs.writeFileSync(".next/BUILD_ID", "id");`,
    );
    const run = spawnSync(process.execPath, ["lib/scripts/build.mjs"], { cwd: dir, encoding: "utf8", timeout: 30_000 });
    return { dir, status: run.status, stderr: run.stderr };
  }

  it("records the sources the build was made from, and npm start then starts", () => {
    const { dir, status, stderr } = buildable(null);
    expect({ status, stderr }).toEqual({ status: 0, stderr: "" });
    expect(Object.keys(JSON.parse(fs.readFileSync(path.join(dir, SOURCES_FILE), "utf8")))).toEqual([
      "app/page.tsx",
      "lib/scripts/build-sources.mjs",
      "lib/scripts/build.mjs",
      "lib/scripts/check-build.mjs",
      "lib/scripts/start-entry.ts",
      "lib/scripts/start.ts",
    ]);
    expect(npmStart(dir)).toEqual({ status: 0, stderr: "" });
  });

  it("fails when a source changed while it built, and npm start refuses that build", () => {
    const { dir, status, stderr } = buildable("app/page.tsx");
    expect({ status, stderr }).toEqual({
      status: 1,
      stderr: "The build failed: the code changed while it was built (app/page.tsx): run npm run build again.\n",
    });
    expect(npmStart(dir)).toEqual({
      status: 1,
      stderr: "Cannot start: the code here has changed since the production build was made (app/page.tsx): run npm run build again.\n",
    });
  });
});
