import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);

/** Runs the Next CLI in the foreground, passing signals on and exiting with its status. */
export function runNext(args: string[]): void {
  const bin = path.join(path.dirname(require.resolve("next/package.json")), "dist", "bin", "next");
  const child = spawn(process.execPath, [bin, ...args], {
    stdio: "inherit",
    env: { NEXT_TELEMETRY_DISABLED: "1", ...process.env },
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
