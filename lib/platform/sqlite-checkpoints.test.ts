import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type * as workerThreads from "node:worker_threads";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it, vi } from "vitest";
import { startCheckpoints, type Checkpoints } from "@/lib/platform/sqlite-checkpoints.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ropc-checkpoints-"));
const running: Checkpoints[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop()));
});

function open(name: string) {
  const file = path.join(dir, name);
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
  const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
  const write = (rows: number) => db.transaction(() => Array.from({ length: rows }, () => insert.run("x".repeat(500))))();
  return { db, file, write };
}

const until = async (condition: () => boolean, ms = 5000) => {
  for (const started = Date.now(); !condition();) {
    if (Date.now() - started > ms) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe("WAL checkpoints from a worker thread", () => {
  it("turn the connection's own checkpoints off, copy the log from the worker, and hand back on stop", async () => {
    const { db, file, write } = open("a.db");
    const warn = vi.fn();
    const checkpoints = startCheckpoints(db, file, { intervalMs: 300, warn });
    running.push(checkpoints);
    expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(0);
    const empty = fs.statSync(file).size;
    // ~2,000 pages, past SQLite's own threshold of 1,000: the commit leaves them in the log...
    write(8000);
    expect(fs.statSync(file).size).toBe(empty);
    // ...and the worker copies them into the database file.
    await until(() => fs.statSync(file).size > 4_000_000);
    await checkpoints.stop();
    expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(1000);
    expect(warn).not.toHaveBeenCalled();
  });

  it("make the connection catch up itself when the log passes its bound under a steady load", async () => {
    const { db, file, write } = open("b.db");
    const pragma = vi.spyOn(db, "pragma");
    running.push(startCheckpoints(db, file, { intervalMs: 10, maxLogPages: 50, warn: vi.fn() }));
    write(1000);
    await until(() => pragma.mock.calls.some(([source]) => source === "wal_checkpoint(PASSIVE)"));
  });

  it("under a writer that never pauses, still ask for the catch-up after the fsync and copy passes, and let the log start over", async () => {
    const { db, file, write } = open("e.db");
    const pragma = vi.spyOn(db, "pragma");
    running.push(startCheckpoints(db, file, { intervalMs: 20, maxLogPages: 200, warn: vi.fn() }));
    // The log's last frame, from the wal-index header in the shared-memory file (sqlite.org/walformat.html).
    const lastFrame = () => {
      const header = fs.readFileSync(`${file}-shm`);
      return os.endianness() === "LE" ? header.readUInt32LE(16) : header.readUInt32BE(16);
    };
    const frames: number[] = [];
    const catchUps = () => pragma.mock.calls.filter(([source]) => source === "wal_checkpoint(PASSIVE)").length;
    // A commit every turn of the event loop: the worker's passes never find the log still.
    const writer = setInterval(() => {
      write(20);
      frames.push(lastFrame());
    }, 0);
    try {
      await until(() => catchUps() >= 2, 20_000);
    } finally {
      clearInterval(writer);
    }
    // The log passed its bound, and started over after a catch-up.
    const peak = frames.findIndex((n) => n > 200);
    expect(peak).toBeGreaterThanOrEqual(0);
    expect(frames.slice(peak).some((n) => n < 200)).toBe(true);
  });

  // Linux's /proc lists the process's descriptors; elsewhere nothing here can count them.
  it.runIf(fs.existsSync("/proc/self/fd"))("keep the worker's descriptor of the file until the connection has closed, then close it", async () => {
    const { db, file } = open("f.db");
    const target = (fd: string) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return undefined; // closed meanwhile (the directory's own, for one)
      }
    };
    const descriptors = () => fs.readdirSync("/proc/self/fd").filter((fd) => target(fd) === file).length;
    const checkpoints = startCheckpoints(db, file, { intervalMs: 50, warn: vi.fn() });
    let atClose = -1;
    await checkpoints.stop(() => {
      db.close();
      atClose = descriptors();
    });
    expect(atClose).toBe(1);
    expect(descriptors()).toBe(0);
  });

  it("fall back to the connection's own checkpoints, with a warning, when the worker fails", async () => {
    const { db } = open("c.db");
    const warn = vi.fn();
    running.push(startCheckpoints(db, path.join(dir, "missing", "x.db"), { intervalMs: 10, warn }));
    await until(() => warn.mock.calls.length > 0);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^WAL checkpoints are back on the server's own connection/), { error: expect.any(String) });
    expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(1000);
  });

  it("keep the connection's own checkpoints, with a warning, when the worker cannot start, and still close the descriptor after the connection", async () => {
    const { db, file } = open("g.db");
    vi.resetModules();
    vi.doMock("node:worker_threads", async (original) => ({
      ...(await original<typeof workerThreads>()),
      Worker: class {
        constructor() {
          throw new Error("Worker initialization failure: EAGAIN");
        }
      },
    }));
    try {
      const { startCheckpoints: startWithoutWorkers } = await import("@/lib/platform/sqlite-checkpoints.ts");
      const warn = vi.fn();
      const checkpoints = startWithoutWorkers(db, file, { warn });
      expect(warn.mock.calls).toEqual([
        ["WAL checkpoints stay on the server's own connection: their worker could not start", { error: "Worker initialization failure: EAGAIN" }],
      ]);
      expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(1000);
      const closed: string[] = [];
      const close = vi.spyOn(fs, "closeSync").mockImplementation((fd) => {
        closed.push(`descriptor ${typeof fd}`);
        close.mockRestore();
        fs.closeSync(fd);
      });
      await checkpoints.stop(() => {
        closed.push("connection");
        db.close();
      });
      expect(closed).toEqual(["connection", "descriptor number"]);
    } finally {
      vi.doUnmock("node:worker_threads");
      vi.resetModules();
    }
  });

  it("stop, even when nothing else keeps the process alive (a script's last disconnect)", { timeout: 90_000 }, () => {
    const { file } = open("d.db");
    const script = `
      import Database from "better-sqlite3";
      import { startCheckpoints } from ${JSON.stringify(path.resolve("lib/platform/sqlite-checkpoints.ts"))};
      const db = new Database(${JSON.stringify(file)});
      const checkpoints = startCheckpoints(db, ${JSON.stringify(file)}, { intervalMs: 50, warn: () => undefined });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await checkpoints.stop();
      console.log("stopped");`;
    // A loaded machine starts a TypeScript loader slowly: the time limit is generous.
    const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
    expect({ stdout: child.stdout.trim(), stderr: child.stderr.trim(), signal: child.signal, status: child.status }).toEqual({
      stdout: "stopped",
      stderr: "",
      signal: null,
      status: 0,
    });
  });
});
