// The CPU our own code spends per password-grant request, with no HTTP, no Next and no argon2
// (the verifier is replaced by a stub): `tsx e2e/bench/inprocess.ts [database file]`, against a
// copy of the benchmark's database. For profiles: `node --cpu-prof --import tsx e2e/bench/inprocess.ts`.
import fs from "node:fs";
import path from "node:path";

const source = process.argv[2] ?? path.resolve(import.meta.dirname, "../.data/bench.db");
const copy = path.join(path.dirname(source), "inprocess.db");
// The database with its write-ahead log, if it has one; never a stale log of an earlier copy.
for (const suffix of ["", "-wal", "-shm"]) {
  fs.rmSync(copy + suffix, { force: true });
  if (fs.existsSync(source + suffix)) fs.copyFileSync(source + suffix, copy + suffix);
}
Object.assign(process.env, { DATABASE_URL: `file:${copy}`, LOG_LEVEL: process.env.LOG_LEVEL ?? "info", APP_URL: "http://127.0.0.1:3200" });

const { passwordVerifier } = await import("@/lib/platform/passwords.ts");
const { routes } = await import("@/lib/oauth/routes.ts");
passwordVerifier.verify = async () => true;
const basic = `Basic ${Buffer.from("demo-backend:demo-backend-secret").toString("base64")}`;
// As the production server calls it (lib/oauth/pipeline/node-adapter.ts): no Web Request, the body in chunks.
const headers = new Map([
  ["authorization", basic],
  ["content-type", "application/x-www-form-urlencoded"],
]);
const call = async (i: number) => {
  const body = Buffer.from(`grant_type=password&username=bench-${i % 100}&password=bench-password-1&scope=openid%20profile%20email`);
  return routes.token.serve(
    {
      method: "POST",
      url: "/demo/default/oauth2/token",
      headers: { get: (name: string) => headers.get(name.toLowerCase()) ?? null },
      body: (async function* () {
        yield body;
      })(),
    },
    "demo",
    "default",
  );
};

for (let i = 0; i < 300; i++) await call(i);
const N = 3000;
const cpu = process.cpuUsage();
const start = performance.now();
for (let i = 0; i < N; i++) {
  const res = await call(i);
  if (res.status !== 200) throw new Error(`status ${res.status}: ${res.body}`);
}
const used = process.cpuUsage(cpu);
process.stdout.write(`per request: ${((used.user + used.system) / 1000 / N).toFixed(3)} ms CPU, ${((performance.now() - start) / N).toFixed(3)} ms wall\n`);
process.exit(0);
