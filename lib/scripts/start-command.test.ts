import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseStartScript, startCommand } from "@/lib/scripts/start-command.ts";

const root = path.resolve(import.meta.dirname, "../..");

describe("the start command", () => {
  it("reads the leading environment settings and Node's arguments", () => {
    expect(parseStartScript("  A=1 B_2=x/y  node --flag=3 .next/launcher/start.mjs ")).toEqual({
      env: { A: "1", B_2: "x/y" },
      args: ["--flag=3", ".next/launcher/start.mjs"],
    });
    expect(parseStartScript("node start.mjs")).toEqual({ env: {}, args: ["start.mjs"] });
    expect(parseStartScript("EMPTY= node start.mjs")).toEqual({ env: { EMPTY: "" }, args: ["start.mjs"] });
  });

  it("refuses a script it could not run as sh would", () => {
    expect(() => parseStartScript("tsx lib/scripts/start.ts")).toThrow(/must be \[NAME=value …\] node/);
    expect(() => parseStartScript("A=1")).toThrow(/must be \[NAME=value …\] node/);
    expect(() => parseStartScript(`A="two words" node start.mjs`)).toThrow(/without quotes/);
    expect(() => parseStartScript("node start.mjs && echo done")).toThrow(/without quotes or other shell syntax/);
    expect(() => parseStartScript("node --title=$NAME start.mjs")).toThrow(/without quotes or other shell syntax/);
  });

  it("is package.json's: malloc's two settings, then the launcher's CommonJS entry (which sizes libuv's pool) with the two V8 settings", () => {
    expect(startCommand(root)).toEqual({
      env: { MALLOC_ARENA_MAX: "2", MALLOC_MMAP_THRESHOLD_: "65536" },
      args: ["--max-semi-space-size=8", "--heap-growing-percent=30", ".next/launcher/start.cjs"],
    });
  });
});
