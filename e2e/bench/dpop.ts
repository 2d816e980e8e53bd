// The CPU a DPoP proof costs the server per request (RFC 9449), in-process as inprocess.ts
// measures the password grant: no HTTP, no Next, no argon2 (the verifier is a stub), proofs signed
// before the clock starts (their signing is the client's cost, not ours). Scenarios run in
// alternating rounds so that a drift in the machine's speed weighs on each alike.
// `tsx e2e/bench/dpop.ts [database file]`: by default it prepares e2e/.data/dpop.db (migrated, seeded).
import { spawnSync } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

const root = path.resolve(import.meta.dirname, "../..");
const given = process.argv[2];
const file = given ?? path.join(root, "e2e", ".data", "dpop.db");
Object.assign(process.env, { DATABASE_URL: `file:${file}`, LOG_LEVEL: process.env.LOG_LEVEL ?? "warn", APP_URL: "http://127.0.0.1:3200" });
if (!given) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  for (const suffix of ["", "-wal", "-shm"]) fs.rmSync(file + suffix, { force: true });
  for (const argv of [
    [path.join(root, "prisma", "cli.mjs"), "migrate", "deploy"],
    ["--import", "tsx", path.join(root, "e2e", "bench", "seed.ts")],
  ]) {
    const done = spawnSync(process.execPath, argv, { cwd: root, env: process.env, stdio: ["ignore", "ignore", "inherit"] });
    if (done.status !== 0) throw new Error(`${argv.join(" ")} failed`);
  }
}

const { passwordVerifier } = await import("@/lib/platform/passwords.ts");
const { routes } = await import("@/lib/oauth/routes.ts");
passwordVerifier.verify = async () => true;

const ISSUER = "http://127.0.0.1:3200/demo/default";
const basic = `Basic ${Buffer.from("demo-backend:demo-backend-secret").toString("base64")}`;
const { privateKey, publicKey } = await generateKeyPair("ES256");
const jwk = await exportJWK(publicKey);
const proof = (htm: string, htu: string, ath?: string) =>
  new SignJWT({ jti: randomUUID(), htm, htu, iat: Math.floor(Date.now() / 1000), ...(ath ? { ath } : {}) })
    .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk })
    .sign(privateKey);

// As the production server calls an endpoint (lib/oauth/pipeline/node-adapter.ts): no Web Request.
const request = (method: string, url: string, headers: Record<string, string>, body?: string) => {
  const map = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    method,
    url,
    headers: { get: (name: string) => map.get(name.toLowerCase()) ?? null },
    body:
      body === undefined
        ? null
        : (async function* () {
            yield Buffer.from(body);
          })(),
  };
};

const passwordBody = (i: number) => `grant_type=password&username=bench-${i % 100}&password=bench-password-1&scope=openid%20profile%20email`;
const password = (i: number, dpop?: string) =>
  routes.token.serve(
    request(
      "POST",
      "/demo/default/oauth2/token",
      { authorization: basic, "content-type": "application/x-www-form-urlencoded", ...(dpop ? { dpop } : {}) },
      passwordBody(i),
    ),
    "demo",
    "default",
  );

async function accessToken(dpop: boolean): Promise<string> {
  const res = await password(0, dpop ? await proof("POST", `${ISSUER}/oauth2/token`) : undefined);
  if (res.status !== 200) throw new Error(`sign-in: ${res.status} ${res.body}`);
  return (JSON.parse(res.body ?? "{}") as { access_token: string }).access_token;
}
const bearerToken = await accessToken(false);
const boundToken = await accessToken(true);
const ath = createHash("sha256").update(boundToken).digest("base64url");
const userinfo = (token: string, scheme: string, dpop?: string) =>
  routes.userinfo.serve(request("GET", "/demo/default/userinfo", { authorization: `${scheme} ${token}`, ...(dpop ? { dpop } : {}) }), "demo", "default");

interface Scenario {
  name: string;
  /** Proofs made ahead of the timed loop, one per request. */
  prepare(n: number): Promise<Array<string | undefined>>;
  run(i: number, dpop: string | undefined): Promise<{ status: number; body: string | null }>;
}

const none = async (n: number) => Array.from({ length: n }, () => undefined);
const scenarios: Scenario[] = [
  { name: "password grant", prepare: none, run: (i) => password(i) },
  {
    name: "password grant + DPoP",
    prepare: (n) => Promise.all(Array.from({ length: n }, () => proof("POST", `${ISSUER}/oauth2/token`))),
    run: (i, dpop) => password(i, dpop),
  },
  { name: "userinfo (Bearer)", prepare: none, run: () => userinfo(bearerToken, "Bearer") },
  {
    name: "userinfo (DPoP)",
    prepare: (n) => Promise.all(Array.from({ length: n }, () => proof("GET", `${ISSUER}/userinfo`, ath))),
    run: (_, dpop) => userinfo(boundToken, "DPoP", dpop),
  },
];

const N = Number(process.env.DPOP_BENCH_REQUESTS ?? 1000);
const ROUNDS = Number(process.env.DPOP_BENCH_ROUNDS ?? 4);
const cpu: Record<string, number[]> = {};
for (const s of scenarios) {
  // Warm-up: the JIT, the caches, the key set.
  const warm = await s.prepare(100);
  for (let i = 0; i < warm.length; i++) await s.run(i, warm[i]);
}
for (let round = 0; round < ROUNDS; round++) {
  for (const s of round % 2 === 0 ? scenarios : [...scenarios].reverse()) {
    const proofs = await s.prepare(N);
    const before = process.cpuUsage();
    for (let i = 0; i < N; i++) {
      const res = await s.run(i, proofs[i]);
      if (res.status !== 200) throw new Error(`${s.name}: ${res.status} ${res.body}`);
    }
    const used = process.cpuUsage(before);
    (cpu[s.name] ??= []).push((used.user + used.system) / 1000 / N);
  }
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const ms = (name: string) => mean(cpu[name] ?? []);
const lines = [
  `${N} requests x ${ROUNDS} rounds per scenario, CPU of this process per request (ms):`,
  ...scenarios.map((s) => `  ${s.name.padEnd(24)} ${ms(s.name).toFixed(3)}  (rounds: ${(cpu[s.name] ?? []).map((x) => x.toFixed(3)).join(" ")})`),
  `  DPoP proof at the token endpoint: +${(ms("password grant + DPoP") - ms("password grant")).toFixed(3)} ms`,
  `  DPoP proof at userinfo:           +${(ms("userinfo (DPoP)") - ms("userinfo (Bearer)")).toFixed(3)} ms`,
];
process.stdout.write(`${lines.join("\n")}\n`);
