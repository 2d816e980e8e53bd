// The CLI's terminal: its hidden password prompt, key by key and in a real pseudo-terminal
// (util-linux's `script`), and Ctrl-C at a question.
import { spawn } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { db } from "@/lib/platform/db.ts";
import { passwordVerifier } from "@/lib/platform/passwords.ts";
import { hiddenKey } from "@/lib/cli/io.ts";

/** The line after typing `keys` at a hidden prompt, and how it ended. */
function typed(keys: string): { line: string; end?: "enter" | "cancel" } {
  let line = "";
  let escape: "none" | "start" | "sequence" = "none";
  for (const ch of keys) {
    const key = hiddenKey(ch, line, escape);
    [line, escape] = [key.line, key.next];
    if (key.end) return { line, end: key.end };
  }
  return { line };
}

describe("the hidden prompt's keys", () => {
  it.each<[string, string, { line: string; end?: "enter" | "cancel" }]>([
    ["a line", "secret\r", { line: "secret", end: "enter" }],
    ["a backspace", "secrex\x7ft\r", { line: "secret", end: "enter" }],
    ["a backspace over a character outside the BMP", "pass🔑\x7fword\r", { line: "password", end: "enter" }],
    ["arrow keys and Alt+x, ignored", "se\x1b[Dcr\x1bOAe\x1bxt\r", { line: "secret", end: "enter" }],
    ["Ctrl-U, which clears the line", "wrong\x15secret\n", { line: "secret", end: "enter" }],
    ["other control keys, ignored", "sec\x01\x05ret\r", { line: "secret", end: "enter" }],
    ["Ctrl-C", "secr\x03et\r", { line: "secr", end: "cancel" }],
    ["Ctrl-D on an empty line", "\x04", { line: "", end: "cancel" }],
    ["Ctrl-D after some characters, ignored", "se\x04cret\r", { line: "secret", end: "enter" }],
  ])("%s", (_, keys, expected) => {
    expect(typed(keys)).toEqual(expected);
  });
});

/**
 * Runs the CLI in a pseudo-terminal and types `answers`, each once `prompt` shows (a key typed
 * before the prompt set raw mode would be echoed by the terminal itself): everything it printed,
 * and its exit status.
 */
function inTerminal(args: string[], answers: Array<{ after: string; keys: string }>): Promise<{ output: string; status: number | null }> {
  const root = path.resolve(import.meta.dirname, "..", "..");
  const command = [path.join(root, "node_modules", ".bin", "tsx"), "lib/cli/main.ts", ...args].map((a) => `'${a}'`).join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qfec", command, "/dev/null"], { cwd: root, env: { ...process.env, COLUMNS: "40" } });
    let output = "";
    let next = 0;
    let seen = 0;
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
      const answer = answers[next];
      const at = answer ? output.indexOf(answer.after, seen) : -1;
      if (answer && at >= 0) {
        seen = at + answer.after.length;
        next += 1;
        // Key by key, as typed: a terminal hands them over one read at a time.
        void (async () => {
          for (const key of answer.keys) {
            child.stdin.write(key);
            await new Promise((r) => setTimeout(r, 5));
          }
        })();
      }
    });
    child.on("error", reject);
    child.on("close", (status) => resolve({ output, status }));
  });
}

describe("the CLI at a terminal", () => {
  it("never shows a typed password: not after a backspace, nor when the line wraps", async () => {
    // Longer than the 40 columns, with a backspace: readline redrew prompt and line on both.
    const password = "correct-horse-battery-staple-correct-horse-battery";
    const keys = `${password}x\x7f\r`;
    const { output, status } = await inTerminal(
      ["user", "add", "demo/default", "pty-user"],
      [
        { after: "Password: ", keys },
        { after: "Password again: ", keys },
      ],
    );
    expect(output).not.toContain("correct-horse");
    expect(output).not.toContain("staple");
    expect(status).toBe(0);
    const user = await db().user.findFirstOrThrow({ where: { username: "pty-user" } });
    expect(await passwordVerifier.verify(user.passwordHash, password)).toBe(true);
  }, 30_000);

  it("stops at Ctrl-C at a question, changing nothing, with status 130", async () => {
    const { output, status } = await inTerminal(["user", "delete", "demo/default", "bob"], [{ after: "[y/N]", keys: "\x03" }]);
    expect(status).toBe(130);
    expect(output).toContain("Cancelled: nothing was changed.");
    expect(await db().user.count({ where: { username: "bob" } })).toBe(1);
  }, 30_000);

  it("takes Ctrl-D at a question for no", async () => {
    const { output, status } = await inTerminal(["user", "delete", "demo/default", "bob"], [{ after: "[y/N]", keys: "\x04" }]);
    expect(status).toBe(1);
    expect(output).toContain("Error: Nothing was deleted");
    expect(await db().user.count({ where: { username: "bob" } })).toBe(1);
  }, 30_000);

  it("stops at Ctrl-C at a password prompt, changing nothing, with status 130", async () => {
    const { output, status } = await inTerminal(["user", "add", "demo/default", "pty-cancelled"], [{ after: "Password: ", keys: "half\x03" }]);
    expect(status).toBe(130);
    expect(output).toContain("Cancelled: nothing was changed.");
    expect(await db().user.count({ where: { username: "pty-cancelled" } })).toBe(0);
  }, 30_000);
});
