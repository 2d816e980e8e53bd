import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";

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
  fs.copyFileSync(path.join(root, "lib", "scripts", "check-build.mjs"), path.join(dir, "lib", "scripts", "check-build.mjs"));
  for (const file of built) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), ""); // a launcher that does nothing
  }
  return dir;
}

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

  it("starts the launcher when the build is complete", () => {
    expect(npmStart(project([".next/BUILD_ID", ".next/launcher/start.cjs", ".next/launcher/start.mjs"]))).toEqual({ status: 0, stderr: "" });
  });
});
