import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import pino from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "@/lib/platform/logger.ts";

const files: string[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const file of files.splice(0)) fs.rmSync(file, { force: true });
});

/** The production destination (buffered, a write per 4 KiB), into a file the test reads. */
async function bufferedFile() {
  const file = path.join(os.tmpdir(), `ropc-log-${randomUUID()}.log`);
  files.push(file);
  const destination = pino.destination({ dest: file, sync: false, minLength: 4096 });
  await once(destination, "ready");
  return { destination, read: () => fs.readFileSync(file, "utf8") };
}

/** Lets the file system's callbacks run: what a write already started has written by then. */
const settle = (ms = 50) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the production logger", () => {
  it("writes a buffered line within a second", async () => {
    // Only the flush timer is faked: the writes themselves are real file I/O.
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const { destination, read } = await bufferedFile();
    const log = createLogger({ NODE_ENV: "production", LOG_LEVEL: "info" }, destination);
    log.error({ reason: "database unavailable" }, "token request failed");
    await vi.advanceTimersByTimeAsync(999);
    await settle();
    expect(read()).toBe("");
    const written = once(destination, "write");
    await vi.advanceTimersByTimeAsync(1);
    await Promise.race([written, settle(500)]);
    const lines = read()
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as unknown);
    expect(lines).toEqual([expect.objectContaining({ level: 50, service: "ropc-login-kit", reason: "database unavailable", msg: "token request failed" })]);
    destination.destroy();
  });
});
