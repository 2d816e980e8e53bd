import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { parseStartScript, spawnNpmStart, startCommand } from "@/lib/scripts/start-command.ts";

const root = path.resolve(import.meta.dirname, "../..");

describe("the start command", () => {
  it("reads the leading environment settings and Node's arguments", () => {
    expect(parseStartScript("  A=1 B_2=x/y  node --flag=3 .next/launcher/start.mjs ")).toEqual({
      env: { A: "1", B_2: "x/y" },
      args: ["--flag=3", ".next/launcher/start.mjs"],
    });
    expect(parseStartScript("node start.mjs")).toEqual({ env: {}, args: ["start.mjs"] });
    expect(parseStartScript("EMPTY= node start.mjs")).toEqual({ env: { EMPTY: "" }, args: ["start.mjs"] });
    expect(parseStartScript("A=1 exec node start.mjs")).toEqual({ env: { A: "1" }, args: ["start.mjs"] });
  });

  it("refuses a script it could not run as sh would", () => {
    expect(() => parseStartScript("tsx lib/scripts/start.ts")).toThrow(/must be \[NAME=value …\] \[exec\] node/);
    expect(() => parseStartScript("A=1")).toThrow(/must be \[NAME=value …\] \[exec\] node/);
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

  it("is the command the README gives for starting the server some other way", () => {
    const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
    const given = [...readme.matchAll(/`([^`]*node [^`]*\.next\/launcher\/start\.cjs)`/g)].map((m) => m[1]!);
    expect(given.length).toBeGreaterThan(0);
    for (const command of given) expect(parseStartScript(command)).toEqual(startCommand(root));
  });

  it("hands npm's SIGTERM to the server itself: sh runs node in its place (exec), else node outlives npm and no graceful stop happens", async () => {
    const project = fs.mkdtempSync(path.join(os.tmpdir(), "start-signal-"));
    const script = (JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { scripts: { start: string } }).scripts.start;
    try {
      // package.json's own script, its launcher replaced by one that says when it is up and what it got.
      fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ scripts: { start: script.replace(".next/launcher/start.cjs", "server.cjs") } }));
      fs.writeFileSync(
        path.join(project, "server.cjs"),
        `const fs = require("node:fs");
process.on("SIGTERM", () => { fs.writeFileSync("stopped", String(process.pid)); process.exit(0); });
fs.writeFileSync("up", String(process.pid));
setInterval(() => undefined, 1000);`,
      );
      const npm = spawn("npm", ["start", "--silent"], { cwd: project, stdio: "ignore", env: { ...process.env, npm_config_update_notifier: "false" } });
      const file = (name: string) => path.join(project, name);
      const waitFor = async (name: string) => {
        for (let i = 0; i < 100 && !fs.existsSync(file(name)); i++) await new Promise((r) => setTimeout(r, 100));
        return fs.existsSync(file(name));
      };
      expect(await waitFor("up")).toBe(true);
      const server = Number(fs.readFileSync(file("up"), "utf8"));
      npm.kill("SIGTERM");
      const stopped = await waitFor("stopped");
      if (!stopped) process.kill(server, "SIGKILL");
      expect(stopped).toBe(true);
    } finally {
      fs.rmSync(project, { recursive: true, force: true });
    }
  });

  it("starts the script's node in the project folder, its settings on top of the environment given", async () => {
    const project = fs.mkdtempSync(path.join(os.tmpdir(), "start-command-"));
    try {
      fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ scripts: { start: "SET=script KEPT= node --no-warnings report.cjs one" } }));
      fs.writeFileSync(
        path.join(project, "report.cjs"),
        "process.stdout.write(JSON.stringify({ cwd: process.cwd(), argv: process.argv.slice(2), execArgv: process.execArgv, SET: process.env.SET, KEPT: process.env.KEPT, GIVEN: process.env.GIVEN }));",
      );
      const child = spawnNpmStart(project, { NODE_ENV: "test", GIVEN: "caller", SET: "caller", KEPT: "caller" }, ["ignore", "pipe", "inherit"]);
      let output = "";
      child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
      const code = await new Promise((resolve) => child.on("exit", resolve));
      expect(code).toBe(0);
      expect(JSON.parse(output)).toEqual({
        cwd: fs.realpathSync(project),
        argv: ["one"],
        execArgv: ["--no-warnings"],
        SET: "script",
        KEPT: "",
        GIVEN: "caller",
      });
    } finally {
      fs.rmSync(project, { recursive: true, force: true });
    }
  });
});
