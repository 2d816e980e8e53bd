// `npm run cli -- <command>`: the admin CLI (lib/cli/program.ts).
export {};
// Quiet logs unless asked (in its own environment, not an env file's): the CLI prints its own results.
(process.env as Record<string, string>).LOG_LEVEL ||= "warn";
// The settings the server reads from the project's env files, of NODE_ENV's mode (development unless set).
const { loadEnvFiles } = await import("@/lib/scripts/env-files.ts");
loadEnvFiles(process.env.NODE_ENV === "production");

const { runCli } = await import("@/lib/cli/program.ts");
const { terminalIo } = await import("@/lib/cli/io.ts");
const { db } = await import("@/lib/platform/db.ts");
const { settleLeftoverWork } = await import("@/lib/platform/leftover-work.ts");
const status = await runCli(process.argv.slice(2), terminalIo());
// What the command left for after its answer (a notice mailed to a user it changed) is done
// before the process ends.
await settleLeftoverWork();
await db().$disconnect();
process.exit(status);
