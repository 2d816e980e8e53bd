// `npm run cli -- <command>`: the admin CLI (lib/cli/program.ts).
export {};
// Quiet logs unless asked: the CLI prints its own results.
(process.env as Record<string, string>).LOG_LEVEL ??= "warn";

const { runCli } = await import("@/lib/cli/program.ts");
const { terminalIo } = await import("@/lib/cli/io.ts");
const { db } = await import("@/lib/platform/db.ts");
const status = await runCli(process.argv.slice(2), terminalIo());
await db().$disconnect();
process.exit(status);
