// The command of `npm start` (package.json's start script), so that the benchmark and the
// end-to-end tests start the production server exactly as `npm start` does: its environment
// settings (the leading `NAME=value` words, as sh reads them) and Node's arguments.
import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export interface StartCommand {
  /** What the script sets in the environment before node starts (malloc's settings). */
  env: Record<string, string>;
  /** Node's arguments, the launcher's path among them. */
  args: string[];
}

const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=(\S*)$/;

/**
 * Reads a start script of the form `[NAME=value …] [exec] node [argument …]` (no quotes, no other
 * shell syntax). `exec` makes sh run node in its own place, so that the signals npm passes on
 * (a supervisor's SIGTERM) reach the server: without it sh dies and node lives on, unstopped.
 */
export function parseStartScript(script: string): StartCommand {
  const words = script.trim().split(/\s+/);
  const env: Record<string, string> = {};
  while (words.length > 0) {
    const [, name, value] = ASSIGNMENT.exec(words[0]!) ?? [];
    if (name === undefined) break;
    env[name] = value ?? "";
    words.shift();
  }
  if (words[0] === "exec") words.shift();
  const [command, ...args] = words;
  if (command !== "node" || args.some((word) => /["'`$\\;&|<>()]/.test(word))) {
    throw new Error(`package.json's start script must be [NAME=value …] [exec] node [argument …], without quotes or other shell syntax: ${script}`);
  }
  return { env, args };
}

/** `root` is the project folder. */
export function startCommand(root: string): StartCommand {
  const script = (JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { scripts: { start: string } }).scripts.start;
  return parseStartScript(script);
}

/**
 * Starts `npm start`'s server from `root` as npm would, without npm in between (so that the child
 * is the server itself, to signal and to measure): the script's settings go on top of `env`, as
 * sh puts a command's leading assignments on top of the environment it inherits.
 */
export function spawnNpmStart(root: string, env: NodeJS.ProcessEnv, stdio: StdioOptions = "ignore"): ChildProcess {
  const command = startCommand(root);
  return spawn(process.execPath, command.args, { cwd: root, env: { ...env, ...command.env }, stdio });
}
