import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { messageOf } from "@/lib/platform/error-message.ts";

/**
 * WAL checkpoints off the request thread.
 *
 * In WAL mode SQLite copies the log back into the database file (a checkpoint) from within the
 * commit that makes the log pass `wal_autocheckpoint` pages, and with `synchronous = NORMAL` that
 * checkpoint ends with an fsync. On the server that is one commit in a few thousand stalling the
 * event loop for 30–70 ms (measured here), every request waiting behind it: the tail of the
 * latency. So the server's connection does not checkpoint by itself; a worker thread, on its own
 * connection to the same file, checkpoints every `intervalMs` (PASSIVE: it never blocks a reader
 * or the writer).
 *
 * A passive checkpoint that runs beside a steady stream of commits never catches up with the end
 * of the log, and only a fully copied log is started over: the log would grow for as long as the
 * load lasts. When it passes `maxLogPages`, the worker asks the server's connection to checkpoint
 * once itself: between two requests, nothing is written meanwhile, so the rest is copied and the
 * next commit starts the log over.
 *
 * Only a checkpoint that reaches the end of the log fsyncs the database file, so that one fsync
 * writes every page the worker's checkpoints copied since the last: 11–41 ms of the event loop
 * here, under the refresh grant's load, every two seconds. So before it asks, the worker fsyncs the
 * file itself and copies what was logged meanwhile, until a pass finds little (`LEFT_PAGES`): the
 * connection's own checkpoint then has a few pages to copy and to sync (3–10 ms here).
 */
export interface CheckpointOptions {
  /** How often the worker checkpoints. */
  intervalMs?: number;
  /** The log's size (pages) past which the connection itself catches up, once. */
  maxLogPages?: number;
  /** Where a failure of the worker is told (its checkpoints then fall back to SQLite's own). */
  warn: (message: string, detail: Record<string, unknown>) => void;
}

/** What of the server's better-sqlite3 connection the checkpoints use. */
interface Connection {
  pragma(source: string): unknown;
}

export interface Checkpoints {
  /**
   * Stops the worker after a last checkpoint; the connection checkpoints by itself again. Given
   * `closeConnection`, that comes next, and the worker's descriptor of the file is closed last:
   * closing any descriptor of a file drops every POSIX lock the process holds on it, SQLite's too.
   */
  stop(closeConnection?: () => unknown): Promise<void>;
}

// Before asking the connection to catch up, the worker syncs and copies again until a pass copies
// fewer frames than this (~1 MB), in at most MAX_PASSES passes (a writer faster than the copy).
const LEFT_PAGES = 256;
const MAX_PASSES = 8;

// The worker's whole program (CommonJS, evaluated): better-sqlite3 is handed over by path, the
// one the server's own connection uses.
const WORKER = `
const { fsyncSync } = require("node:fs");
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file, { timeout: 5000 });
const passive = () => db.pragma("wal_checkpoint(PASSIVE)")[0];
let timer;
const checkpoint = () => {
  try {
    let result = passive();
    if (!result || result.log <= workerData.maxLogPages) return;
    // The pages copied so far onto the disk, and what was logged meanwhile into the file, until a
    // pass finds little: the connection's catch-up then copies and syncs only that little.
    for (let pass = 0; workerData.fd !== undefined && pass < ${MAX_PASSES}; pass++) {
      fsyncSync(workerData.fd);
      const logged = result.log;
      result = passive();
      if (result.log - logged < ${LEFT_PAGES}) break;
    }
    parentPort.postMessage({ catchUp: result.log });
  } catch (err) {
    clearInterval(timer);
    parentPort.postMessage({ failed: String((err && err.message) || err) });
  }
};
timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on("message", (message) => {
  if (message !== "stop") return;
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
`;

/** The file of better-sqlite3's entry point, resolved from the app's own directory. */
function driverPath(): string {
  return createRequire(path.join(/*turbopackIgnore: true*/ process.cwd(), "package.json")).resolve("better-sqlite3");
}

/**
 * A descriptor of `file` for the worker's fsyncs (opened for writing: Windows syncs no other), or
 * undefined when it cannot be opened: the worker then checkpoints without them, as SQLite would.
 */
function descriptor(file: string): number | undefined {
  try {
    return fs.openSync(file, "r+");
  } catch {
    return undefined;
  }
}

/** Starts checkpointing `file` from a worker thread; `connection` stops checkpointing by itself meanwhile. */
export function startCheckpoints(connection: Connection, file: string, { intervalMs = 1000, maxLogPages = 16_384, warn }: CheckpointOptions): Checkpoints {
  let fd = descriptor(file);
  // The connection first, the descriptor last (see Checkpoints.stop).
  const release = async (closeConnection?: () => unknown) => {
    try {
      await closeConnection?.();
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
      fd = undefined;
    }
  };
  let worker: Worker;
  try {
    worker = new Worker(WORKER, { eval: true, workerData: { driver: driverPath(), file, intervalMs, maxLogPages, fd } });
  } catch (err) {
    warn("WAL checkpoints stay on the server's own connection: their worker could not start", { error: messageOf(err) });
    return { stop: release };
  }
  worker.unref();
  connection.pragma("wal_autocheckpoint = 0");
  let running = true;
  const fallBack = (detail: Record<string, unknown>) => {
    if (!running) return;
    running = false;
    connection.pragma("wal_autocheckpoint = 1000");
    warn("WAL checkpoints are back on the server's own connection: their worker failed", detail);
  };
  worker.on("message", (message: { catchUp?: number; failed?: string }) => {
    if (message.failed !== undefined) {
      fallBack({ error: message.failed });
      void worker.terminate();
    } else if (message.catchUp !== undefined && running) {
      connection.pragma("wal_checkpoint(PASSIVE)");
    }
  });
  worker.on("error", (err) => fallBack({ error: err.message }));
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  return {
    async stop(closeConnection) {
      // Held open until the worker has made its last checkpoint and closed its connection (or,
      // after a failure, has been terminated): a script's last disconnect must not end first.
      worker.ref();
      if (running) {
        running = false;
        connection.pragma("wal_autocheckpoint = 1000");
        worker.postMessage("stop");
      }
      const stuck = setTimeout(() => void worker.terminate(), 10_000);
      await exited;
      clearTimeout(stuck);
      await release(closeConnection);
    },
  };
}
