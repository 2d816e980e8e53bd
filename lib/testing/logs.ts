import { Writable } from "node:stream";
import pino from "pino";
import { vi } from "vitest";
import { logger } from "@/lib/platform/logger.ts";

/** A line a logger wrote, parsed. */
export type LogLine = Record<string, unknown>;

/** A sink that keeps every line written to it, and those lines, parsed. */
function keeping(): { sink: Writable; lines: () => LogLine[] } {
  const written: string[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (written.push(chunk.toString()), done()) });
  return { sink, lines: () => written.map((line) => JSON.parse(line) as LogLine) };
}

/** A logger at `info` that keeps what it writes: `lines()`, each parsed. */
export function capturingLogger(): { log: pino.Logger; lines: () => LogLine[] } {
  const { sink, lines } = keeping();
  return { log: pino({ level: "info" }, sink), lines };
}

/**
 * What requests log from now on (their loggers are the process logger's children) until the
 * test's mocks are restored: `lines()`, each parsed.
 */
export function captureRequestLogs(): () => LogLine[] {
  const { sink, lines } = keeping();
  vi.spyOn(logger, "child").mockReturnValue(pino({ level: "info" }, sink));
  return lines;
}
