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

function ask(question: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
    rl.question(question, (answer) => {
      rl.close();
      resolve(answer);
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

function promptHidden(prompt: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
    const write = (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput;
    (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
      if (s.includes(prompt)) write.call(rl, s);
    };
    rl.question(prompt, (answer) => {
      rl.close();
      process.stdout.write("\n");
      resolve(answer);
    });
  });
}
