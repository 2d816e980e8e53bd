import fs from "node:fs";
import path from "node:path";
import semver from "semver";
import { describe, expect, it } from "vitest";

// package.json's `engines` must be what the project really supports: the Node this machine runs,
// and no wider than the packages we install allow.
const root = path.resolve(import.meta.dirname, "../..");
const ours = (JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { engines: { node: string } }).engines.node;
const lock = JSON.parse(fs.readFileSync(path.join(root, "package-lock.json"), "utf8")) as {
  packages: Record<string, { engines?: { node?: string }; optional?: boolean; os?: string[]; cpu?: string[] }>;
};

/** Packages that want a newer Node than ours, and why that does not matter here. */
const NARROWER_AND_UNUSED: Readonly<Record<string, string>> = {
  // A dependency of @prisma/dev, which only `prisma dev` (a local Prisma Postgres server) loads;
  // the project never runs it. npm install warns about it (EBADENGINE) on Node 20.
  "node_modules/@prisma/streams-local": ">=22.0.0",
};

describe("the supported Node versions", () => {
  it("include the Node running the tests", () => {
    expect(semver.satisfies(process.versions.node, ours)).toBe(true);
  });

  it("are allowed by every installed package, except those listed with the reason", () => {
    const narrower = Object.entries(lock.packages)
      // Optional builds for one platform (sharp's for Windows, say) are installed only there.
      .filter(([name, pkg]) => name !== "" && !(pkg.optional && (pkg.os || pkg.cpu)))
      .filter(([, pkg]) => pkg.engines?.node && !semver.subset(ours, pkg.engines.node))
      .map(([name, pkg]) => [name, pkg.engines?.node]);
    expect(Object.fromEntries(narrower)).toEqual(NARROWER_AND_UNUSED);
  });
});
