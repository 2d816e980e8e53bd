// The Node arguments of `npm start` (package.json's start script), so that the benchmark and the
// end-to-end tests start the production server exactly as `npm start` does, flags included.
import fs from "node:fs";
import path from "node:path";

/** `root` is the project folder. */
export function startArguments(root: string): string[] {
  const script = (JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { scripts: { start: string } }).scripts.start;
  const [command, ...args] = script.trim().split(/\s+/);
  if (command !== "node") throw new Error(`package.json's start script must run node: ${script}`);
  return args;
}
