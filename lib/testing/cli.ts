import { runCli } from "@/lib/cli/program.ts";
import type { CliIo } from "@/lib/cli/io.ts";
import type { Env } from "@/lib/platform/env.ts";

export interface Terminal {
  /** What standard input gives, one answer per secret asked for (the last one repeats). */
  secrets?: string[];
  /** Whether standard input is a terminal (prompts ask), or piped. */
  interactive?: boolean;
  /** The answer to every yes-or-no question. */
  answer?: boolean;
  /** The environment the command's settings are checked in (this process's by default). */
  env?: Env;
}

/** Runs one command line against buffers: its exit status, its output and errors, the prompts it showed. */
export async function cli(args: string[], { secrets = [""], interactive = false, answer = false, env }: Terminal = {}) {
  let out = "";
  let err = "";
  const prompts: string[] = [];
  let asked = 0;
  const io: CliIo = {
    out: (t) => void (out += `${t}\n`),
    err: (t) => void (err += `${t}\n`),
    readSecret: async (prompt) => {
      prompts.push(prompt);
      return secrets[Math.min(asked++, secrets.length - 1)] ?? "";
    },
    interactive,
    confirm: async (question) => {
      prompts.push(question);
      return answer;
    },
  };
  const status = await runCli(args, io, env);
  return { status, out, err, prompts };
}
