import { createInterface } from "node:readline";

/** Where a command reads and writes: the terminal, or a test's buffers. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** A secret: typed at a prompt without echo, or read from standard input when it is piped. */
  readSecret(prompt: string): Promise<string>;
  /** Whether someone types the answers (standard input is a terminal), so that a prompt can ask. */
  interactive: boolean;
  /** A yes-or-no question at a prompt (only asked when interactive); yes is `y` or `yes`. */
  confirm(question: string): Promise<boolean>;
}

export function terminalIo(): CliIo {
  return {
    out: (t) => process.stdout.write(t.endsWith("\n") ? t : `${t}\n`),
    err: (t) => process.stderr.write(t.endsWith("\n") ? t : `${t}\n`),
    readSecret: (prompt) => (process.stdin.isTTY ? promptHidden(prompt) : readStdin()),
    interactive: process.stdin.isTTY === true,
    confirm: async (question) => /^(y|yes)$/i.test((await ask(question)).trim()),
  };
}

/** Ctrl-C at a prompt: the command stops before it changes anything. */
export class Cancelled extends Error {
  override name = "Cancelled";
}

function ask(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
    // readline closes on Ctrl-C without answering the question: the command would wait for ever.
    rl.on("SIGINT", () => {
      process.stdout.write("\n");
      // Before close, whose handler below would answer no.
      reject(new Cancelled());
      rl.close();
    });
    // Ctrl-D: no answer, which is no.
    rl.on("close", () => resolve(""));
    rl.question(question, (answer) => {
      resolve(answer);
      rl.close();
    });
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

/**
 * A line typed at the terminal, never echoed. Not readline: its line editing redraws the line
 * (prompt and password) after a backspace, or when it wraps, wherever its output goes. The
 * terminal is put in raw mode and the keys are read here: Enter ends the line, Backspace erases
 * a character, Ctrl-U the line; Ctrl-C cancels, as does Ctrl-D on an empty line; other control
 * keys and escape sequences (arrows) are ignored.
 */
function promptHidden(prompt: string): Promise<string> {
  const input = process.stdin;
  return new Promise((resolve, reject) => {
    let value = "";
    let escape: "none" | "start" | "sequence" = "none";
    const finish = (err?: Error) => {
      input.off("data", onData);
      input.setRawMode(false);
      input.pause();
      process.stdout.write("\n");
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString("utf8")) {
        const { next, line, end } = hiddenKey(ch, value, escape);
        escape = next;
        value = line;
        if (end === "enter") return finish();
        if (end === "cancel") return finish(new Cancelled());
      }
    };
    process.stdout.write(prompt);
    input.setRawMode(true);
    input.resume();
    input.on("data", onData);
  });
}

/** One key (a character of the raw input) at a hidden prompt: the line after it, and whether it ends it. */
export function hiddenKey(
  ch: string,
  line: string,
  escape: "none" | "start" | "sequence",
): { next: "none" | "start" | "sequence"; line: string; end?: "enter" | "cancel" } {
  // ESC [ … final byte (CSI, e.g. an arrow key), ESC O x, or ESC x (Alt+x): all skipped.
  if (escape === "start") return { next: ch === "[" || ch === "O" ? "sequence" : "none", line };
  if (escape === "sequence") return { next: /[\x40-\x7e]/.test(ch) ? "none" : "sequence", line };
  if (ch === "\x1b") return { next: "start", line };
  if (ch === "\r" || ch === "\n") return { next: "none", line, end: "enter" };
  if (ch === "\x03" || (ch === "\x04" && line === "")) return { next: "none", line, end: "cancel" };
  if (ch === "\x7f" || ch === "\b") return { next: "none", line: Array.from(line).slice(0, -1).join("") };
  if (ch === "\x15") return { next: "none", line: "" };
  if (ch < " ") return { next: "none", line };
  return { next: "none", line: line + ch };
}
