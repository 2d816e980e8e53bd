// `npm run bench [-- --smoke] [-- --no-build]`: loads the production server on loopback with
// autocannon, beside a bare node:http baseline doing the same password-grant work and a peer
// (panva's oidc-provider, e2e/bench/peers/), and prints one table. See the README's Performance section. Full
// runs append their figures to e2e/bench/results.md.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { hash, verify } from "@node-rs/argon2";
import autocannon from "autocannon";
import Database from "better-sqlite3";
import pg from "pg";
import { chromium } from "@playwright/test";
import { chromiumPath } from "../browser.ts";
import { spawnNpmStart } from "../../lib/scripts/start-command.ts";
import { loginAppWeights, weightTable, type Weight } from "../page-weight.ts";
import { freshDatabase } from "../postgres.ts";
import {
  appendResults,
  cpuBetween,
  cpuByPid,
  cpuMs,
  EARLY_MS,
  earlyShare,
  longestTail,
  quantile,
  spread,
  table,
  tail,
  withPeakRss,
  type Row,
} from "./report.ts";

const { values: args } = parseArgs({
  options: { smoke: { type: "boolean", default: false }, "no-build": { type: "boolean", default: false }, postgres: { type: "string" } },
});
const root = path.resolve(import.meta.dirname, "../..");
const data = path.join(root, "e2e", ".data");
const APP_PORT = 3200;
const BASE_PORT = 3201;
const PEER_PORT = 3202;
const STEADY_PORT = 3203;
const APP = `http://127.0.0.1:${APP_PORT}`;
const BASELINE = `http://127.0.0.1:${BASE_PORT}`;
const PEER = `http://127.0.0.1:${PEER_PORT}`;
const STEADY = `http://127.0.0.1:${STEADY_PORT}`;
/** The peer's own grant that fills its token pools (it has no password grant; see the peer). */
const PEER_SIGN_IN = "urn:ropc-login-kit:bench:sign-in";
const DURATION = args.smoke ? 2 : 10;
// The password grant and its baseline are measured side by side in alternating rounds (ABBA), so
// that a drift in the machine's speed during the run weighs on both alike.
const ROUNDS = args.smoke ? 1 : 4;
// The password grant's rounds move most (argon2's speed drifts with the machine's, ±5% here), and
// its ratio is the one with a target near 1: twice the rounds, and each round's ratio reported.
const PASSWORD_ROUNDS = args.smoke ? 1 : 8;
const ROUND_DURATION = args.smoke ? 2 : 5;
// Before its rounds, each server serves each scenario this long, unmeasured: a path's first
// requests run code V8 has not compiled yet, and they would set the first round's p99.
const WARM_UP_DURATION = args.smoke ? 0 : 1;
// Between rounds, each server is given time to finish the requests of its last one (settled()).
const SETTLE_WINDOW_MS = 100;
const SETTLE_MAX_MS = 3000;
const CONNECTIONS = 10;
const USERS = 100;
const PASSWORD = "bench-password-1";
const ARGON2 = { memoryCost: 19456, timeCost: 2, parallelism: 1 };
const BASIC = `Basic ${Buffer.from("demo-backend:demo-backend-secret").toString("base64")}`;
const FORM = "application/x-www-form-urlencoded";
/** On PostgreSQL, each server's own database on the server `--postgres` names. */
const DATABASES = { app: "ropc_bench", baseline: "ropc_bench_floor", peer: "ropc_bench_peer" };

const env = {
  ...process.env,
  NODE_ENV: "production" as const,
  PORT: String(APP_PORT),
  HOSTNAME: "127.0.0.1",
  APP_URL: APP,
  // --postgres <server URL>: the app runs on a fresh database there, the floors and the peer each on another.
  DATABASE_URL: args.postgres ? Object.assign(new URL(args.postgres), { pathname: `/${DATABASES.app}` }).toString() : `file:${path.join(data, "bench.db")}`,
  NEXTAUTH_SECRET: "bench-nextauth-secret-0123456789abcdef0123",
  LOGIN_CLIENT_SECRET: "bench-login-client-secret-0123",
  NEXT_TELEMETRY_DISABLED: "1",
  // One client address does all the signing in; successes never lock it out.
  LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
};

function log(line: string) {
  process.stderr.write(`${line}\n`);
}

function run(cmd: string, argv: string[], extraEnv: Record<string, string> = {}) {
  const result = spawnSync(cmd, argv, { cwd: root, env: { ...env, ...extraEnv }, stdio: ["ignore", "ignore", "inherit"] });
  if (result.status !== 0) throw new Error(`${cmd} ${argv.join(" ")} failed`);
}

/**
 * Fails when something listens on `port` already: the benchmark would measure it in place of the
 * server it starts there (which would fail to listen, after the first answer came from the other).
 */
async function assertFree(port: number): Promise<void> {
  const probe = net.createServer();
  const taken = await new Promise<boolean>((resolve) => {
    probe.once("error", () => resolve(true));
    probe.listen(port, "127.0.0.1", () => resolve(false));
  });
  if (!taken) {
    await new Promise((resolve) => probe.close(resolve));
    return;
  }
  throw new Error(
    `port ${port} is in use, and the benchmark starts a server there: stop what listens on it (a server left running?), then run the benchmark again`,
  );
}

async function waitFor(url: string, child: ChildProcess) {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`${url}: the server exited`);
    if (
      await fetch(url).then(
        (r) => r.status < 500,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

/** The mean share of the rounds' slowest answers that came early in them (Row.early), as `12%`. */
const percent = (rounds: Row[]) => `${Math.round((100 * rounds.reduce((a, r) => a + r.early, 0)) / rounds.length)}%`;

/** The mean of several rounds of one scenario (the worst p99 and memory). */
function mean(xs: Row[], name: string): Row {
  return {
    name,
    rps: xs.reduce((a, r) => a + r.rps, 0) / xs.length,
    p50: xs.reduce((a, r) => a + r.p50, 0) / xs.length,
    p99: Math.max(...xs.map((r) => r.p99)),
    errors: xs.reduce((a, r) => a + r.errors, 0),
    rss: Math.max(...xs.map((r) => r.rss)),
    cpu: xs.reduce((a, r) => a + r.cpu, 0) / xs.length,
    early: xs.reduce((a, r) => a + r.early, 0) / xs.length,
    dbCpu: xs.some((r) => r.dbCpu === undefined) ? undefined : xs.reduce((a, r) => a + r.dbCpu!, 0) / xs.length,
  };
}

/** A server under load: its process and, on PostgreSQL, the database it alone uses. */
interface Server {
  pid: number | undefined;
  database?: string;
}

/** One server's rounds of one scenario. */
interface Runs {
  name: string;
  server: Server;
  options: autocannon.Options;
  rows: Row[];
}

/**
 * On PostgreSQL (on this machine: /proc), the CPU time so far of each backend serving `database`;
 * undefined on SQLite. The bench's own connection is to another database.
 */
let pgAdmin: pg.Client | undefined;
async function databaseCpu(database: string | undefined): Promise<Map<number, number> | undefined> {
  if (!pgAdmin || !database) return undefined;
  const { rows } = await pgAdmin.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1", [database]);
  return cpuByPid(rows.map((row) => row.pid));
}

/**
 * Waits until the server has been idle for a moment (less than one clock tick of CPU over
 * SETTLE_WINDOW_MS), at most SETTLE_MAX_MS: the requests of a finished round are answered.
 */
async function settled(pid: number | undefined): Promise<void> {
  let last = cpuMs(pid);
  if (last === 0) return;
  const end = Date.now() + SETTLE_MAX_MS;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, SETTLE_WINDOW_MS));
    const now = cpuMs(pid);
    if (now - last < 10) return;
    last = now;
  }
}

async function load(name: string, { pid, database }: Server, options: autocannon.Options, duration = DURATION): Promise<Row> {
  const dbBefore = await databaseCpu(database);
  const before = cpuMs(pid);
  // Each 2xx answer's latency (ms, from hrtime), as autocannon counts them in its histogram, and
  // when it came (ms into the round).
  const latencies: number[] = [];
  const times: number[] = [];
  // BENCH_TRACE=<file>: each answer's time into the round, latency and status, a JSON line a round.
  const traceFile = process.env.BENCH_TRACE;
  const trace: number[][] | undefined = traceFile ? [] : undefined;
  const t0 = performance.now();
  const [result, rss] = await withPeakRss(
    pid,
    () =>
      new Promise<autocannon.Result>((resolve, reject) => {
        const instance = autocannon({ connections: CONNECTIONS, duration, ...options }, (err, done) => (err ? reject(err as Error) : resolve(done)));
        instance.on("response", (_client, status, _bytes, ms) => {
          const at = performance.now() - t0;
          if (status >= 200 && status < 300) {
            latencies.push(ms);
            times.push(at);
          }
          trace?.push([Math.round(at), Math.round(ms * 10) / 10, status]);
        });
      }),
  );
  // autocannon's clients are gone at the end of the round, but the requests they had in flight
  // are still in the server's queue: the next round's first requests would queue behind them, at
  // twice the round's concurrency, and they set a 5-second round's p99. The round's CPU is read
  // once they are done, so that it counts its own work.
  await settled(pid);
  const cpu = (cpuMs(pid) - before) / Math.max(1, result.requests.total);
  const dbAfter = dbBefore && (await databaseCpu(database));
  // None found: no backend serves the database now, or the database server is not on this machine.
  const dbCpu = dbBefore && dbAfter?.size ? cpuBetween(dbBefore, dbAfter) / Math.max(1, result.requests.total) : undefined;
  if (traceFile && trace) fs.appendFileSync(traceFile, `${JSON.stringify({ name, started: Date.now() - Math.round(performance.now() - t0), trace })}\n`);
  const p99 = quantile(latencies, 0.99);
  return {
    name,
    rps: result.requests.average,
    p50: quantile(latencies, 0.5),
    p99,
    errors: result.errors + result.timeouts + result.non2xx,
    rss,
    cpu,
    early: earlyShare(latencies, times, p99),
    dbCpu,
  };
}

async function passwordGrant(url: string) {
  let n = 0;
  return {
    url: `${url}/demo/default/oauth2/token`,
    requests: [
      {
        method: "POST" as const,
        headers: { Authorization: BASIC, "Content-Type": FORM },
        setupRequest: (req: autocannon.Request) => ({
          ...req,
          body: new URLSearchParams({ grant_type: "password", username: `bench-${n++ % USERS}`, password: PASSWORD, scope: "openid profile email" }).toString(),
        }),
      },
    ],
  };
}

/**
 * The refresh grant against a queue of live refresh tokens: each request takes one and gives back
 * its successor, so no token is ever spent twice. (autocannon resets its per-connection context
 * after every pass over `requests`, so it cannot hold a connection's token.)
 */
function refreshGrant(url: string, tokens: string[]): autocannon.Options {
  return {
    url: `${url}/demo/default/oauth2/token`,
    requests: [
      {
        method: "POST",
        headers: { Authorization: BASIC, "Content-Type": FORM },
        setupRequest: (req) => ({ ...req, body: `grant_type=refresh_token&refresh_token=${tokens.shift()}` }),
        onResponse: (status, body) => {
          if (status === 200) tokens.push((JSON.parse(body) as { refresh_token: string }).refresh_token);
        },
      },
    ],
  };
}

async function signIn(url: string, i: number) {
  const username = `bench-${i % USERS}`;
  const res = await fetch(`${url}/demo/default/oauth2/token`, {
    method: "POST",
    headers: { Authorization: BASIC, "Content-Type": FORM },
    body: new URLSearchParams(
      url === PEER ? { grant_type: PEER_SIGN_IN, username } : { grant_type: "password", username, password: PASSWORD, scope: "openid profile email" },
    ),
  });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { access_token: string; refresh_token: string };
}

/** The argon2id verifications per second this machine manages with every core busy. */
async function argon2Ceiling(seconds: number): Promise<number> {
  const stored = await hash(PASSWORD, ARGON2);
  const end = Date.now() + seconds * 1000;
  let count = 0;
  const worker = async () => {
    while (Date.now() < end) {
      await verify(stored, PASSWORD);
      count += 1;
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: Math.max(4, os.availableParallelism()) }, worker));
  return count / ((Date.now() - started) / 1000);
}

// The floors' tables; an instant is milliseconds since the epoch (PostgreSQL's INTEGER is 32 bits).
const FLOOR_TABLES = (instant: string) =>
  "CREATE TABLE users (id TEXT PRIMARY KEY, username TEXT UNIQUE, hash TEXT, name TEXT, email TEXT, disabled INTEGER DEFAULT 0);" +
  `CREATE TABLE tokens (hash TEXT PRIMARY KEY, family TEXT, user_id TEXT, scope TEXT, auth_time INTEGER, expires_at ${instant}, consumed_at ${instant}, created_at ${instant});` +
  "CREATE INDEX tokens_family ON tokens (family);" +
  `CREATE TABLE denylist (jti TEXT PRIMARY KEY, expires_at ${instant});` +
  `CREATE TABLE audit (id TEXT PRIMARY KEY, created_at ${instant}, event TEXT, user_id TEXT, ip TEXT);`;
const floorUser = (i: number, passwordHash: string) => [crypto.randomUUID(), `bench-${i}`, passwordHash, `Bench ${i}`, `bench-${i}@example.com`];

/** The floors' tables and users in a fresh SQLite file (`file`, returned). */
function prepareBaselineDb(file: string, passwordHash: string): string {
  for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });
  const db = new Database(file);
  db.exec(FLOOR_TABLES("INTEGER"));
  const insert = db.prepare("INSERT INTO users (id, username, hash, name, email) VALUES (?, ?, ?, ?, ?)");
  for (let i = 0; i < USERS; i++) insert.run(...floorUser(i, passwordHash));
  db.close();
  return file;
}

/** The floors' tables and users in a fresh PostgreSQL database: with the app on PostgreSQL, its floors and the peer are too. */
async function prepareBaselinePg(server: string, name: string, passwordHash: string): Promise<string> {
  const url = await freshDatabase(server, name);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(FLOOR_TABLES("BIGINT"));
    for (let i = 0; i < USERS; i++)
      await client.query("INSERT INTO users (id, username, hash, name, email) VALUES ($1, $2, $3, $4, $5)", floorUser(i, passwordHash));
  } finally {
    await client.end();
  }
  return url;
}

async function main() {
  // Before anything is built or prepared.
  for (const port of [APP_PORT, BASE_PORT, PEER_PORT, STEADY_PORT]) await assertFree(port);
  fs.mkdirSync(data, { recursive: true });
  for (const f of ["bench.db", "bench.db-wal", "bench.db-shm"]) fs.rmSync(path.join(data, f), { force: true });
  if (args.postgres) await freshDatabase(args.postgres, DATABASES.app);
  log("preparing the databases");
  run(process.execPath, [path.join(root, "prisma", "cli.mjs"), "migrate", "deploy"]);
  run(process.execPath, ["--import", "tsx", path.join(root, "e2e", "bench", "seed.ts")], { BENCH_USERS: String(USERS), BENCH_PASSWORD: PASSWORD });
  const passwordHash = await hash(PASSWORD, ARGON2);
  const floorDb = args.postgres
    ? { BASELINE_PG: await prepareBaselinePg(args.postgres, DATABASES.baseline, passwordHash) }
    : { BASELINE_DB: prepareBaselineDb(path.join(data, "baseline.db"), passwordHash) };
  // The peer reads the same users (it never checks their passwords) and adds its own table, on the app's kind of database.
  const peerDb = args.postgres
    ? { PEER_PG: await prepareBaselinePg(args.postgres, DATABASES.peer, passwordHash) }
    : { PEER_DB: prepareBaselineDb(path.join(data, "peer.db"), passwordHash) };
  if (!args["no-build"]) {
    log("building");
    run(process.execPath, [path.join(root, "lib", "scripts", "build.mjs")]);
  }

  log("starting the servers");
  // `npm start`, as npm would run it.
  const app = spawnNpmStart(root, env, ["ignore", "ignore", "inherit"]);
  const baseline = spawn(process.execPath, ["--import", "tsx", path.join(root, "e2e", "bench", "baseline-server.ts")], {
    cwd: root,
    env: { ...env, PORT: String(BASE_PORT), ...floorDb },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const peer = spawn(process.execPath, [path.join(root, "e2e", "bench", "peers", "oidc-provider.mjs")], {
    cwd: root,
    env: { ...env, PORT: String(PEER_PORT), ...peerDb },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const steady = spawn(process.execPath, ["--import", "tsx", path.join(root, "e2e", "bench", "steady-server.ts")], {
    cwd: root,
    env: { ...env, PORT: String(STEADY_PORT) },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const onPostgres = (database: string) => (args.postgres ? database : undefined);
  const servers: Record<"app" | "baseline" | "peer" | "steady", Server> = {
    app: { pid: app.pid, database: onPostgres(DATABASES.app) },
    baseline: { pid: baseline.pid, database: onPostgres(DATABASES.baseline) },
    peer: { pid: peer.pid, database: onPostgres(DATABASES.peer) },
    steady: { pid: steady.pid },
  };
  try {
    if (args.postgres) {
      pgAdmin = new pg.Client({ connectionString: args.postgres });
      await pgAdmin.connect();
    }
    await waitFor(`${APP}/demo/default/.well-known/jwks.json`, app);
    await waitFor(BASELINE, baseline);
    await waitFor(`${PEER}/.well-known/openid-configuration`, peer);
    await waitFor(STEADY, steady);

    log("measuring the pages' JavaScript");
    const weights = await pageWeights();

    log("warming up");
    await autocannon({ ...(await passwordGrant(APP)), connections: 4, duration: 1 });
    await autocannon({ ...(await passwordGrant(BASELINE)), connections: 4, duration: 1 });
    await Promise.all([settled(app.pid), settled(baseline.pid)]);

    log("measuring the argon2id ceiling");
    const ceiling = await argon2Ceiling(args.smoke ? 1 : 3);

    const rows: Row[] = [];
    const ratios: Array<[string, number]> = [];
    const peerRatios: Array<[string, number]> = [];
    // Each round's own p99 / p50, ours, the floor's and, beside introspection, the machine's: how
    // far the tail moves from round to round.
    const roundTails: RoundTails[] = [];
    /**
     * The app's scenario, given `floorName` its floor's and, given `peerName`, the peer's, in
     * alternating rounds (ABBA, or ABCCBA with the peer: the machine's speed drifts, and each
     * server's mean position in the sequence is the same). Given `machineName`, the steady server
     * (steady-server.ts) joins the rounds at the app's rate.
     */
    const compare = async (
      name: string,
      floorName: string | undefined,
      options: (url: string) => Promise<autocannon.Options>,
      { peerName, machineName, rounds = ROUNDS }: { peerName?: string; machineName?: string; rounds?: number } = {},
    ): Promise<{ mine: Row; floor?: Row; roundRatios: number[] }> => {
      const floorRuns: Runs | undefined = floorName ? { name: floorName, server: servers.baseline, options: await options(BASELINE), rows: [] } : undefined;
      const appRuns: Runs = { name, server: servers.app, options: await options(APP), rows: [] };
      const peerRuns: Runs | undefined = peerName ? { name: peerName, server: servers.peer, options: await options(PEER), rows: [] } : undefined;
      const order = [...(floorRuns ? [floorRuns] : []), appRuns, ...(peerRuns ? [peerRuns] : [])];
      // The app's rate in its warm-up: the steady server's first spin is set from it.
      let warmRate: number | undefined;
      if (WARM_UP_DURATION > 0) {
        for (const runs of order) {
          const row = await load(runs.name, runs.server, runs.options, WARM_UP_DURATION);
          if (runs === appRuns) warmRate = row.rps;
        }
      }
      let machine: { runs: Runs; spinFor: (appRate: number) => autocannon.Options; ran: (rate: number) => void } | undefined;
      if (machineName) {
        // The steady server spins for as long as the app took over a request in its latest round
        // (by their rates: at the same rate, the two have the same p50 under the same load), less
        // its own cost per request: from a second of it spinning for nothing (which warms it up),
        // then from each of its loads since, by how far its rate fell from the app's. The tail's
        // measure grows with the rate: a slower steady server would flatter the machine, and one
        // whose rounds ran at different rates would have the difference counted as its tail.
        const runs: Runs = { name: machineName, server: servers.steady, options: { url: STEADY }, rows: [] };
        let lastRate = (await load(machineName, servers.steady, runs.options, 1)).rps;
        let spinUs = 0;
        machine = {
          runs,
          spinFor: (appRate) => {
            spinUs = Math.max(0, spinUs + 1e6 / appRate - 1e6 / lastRate);
            return { url: `${STEADY}/?us=${Math.round(spinUs)}` };
          },
          ran: (rate) => void (lastRate = rate),
        };
        // Its first spin tried before the rounds, as the others warm up.
        if (warmRate !== undefined) machine.ran((await load(machineName, servers.steady, machine.spinFor(warmRate), WARM_UP_DURATION)).rps);
        order.push(machine.runs);
      }
      for (let round = 0; round < rounds; round++) {
        log(`${name}, round ${round + 1} of ${rounds}`);
        for (const runs of round % 2 === 0 ? order : [...order].reverse()) {
          // In the first round the app comes before the steady server; after that, its latest round.
          if (runs === machine?.runs) runs.options = machine.spinFor(appRuns.rows.at(-1)!.rps);
          const row = await load(runs.name, runs.server, runs.options, ROUND_DURATION);
          runs.rows.push(row);
          if (runs === machine?.runs) machine.ran(row.rps);
        }
      }
      const mine = mean(appRuns.rows, name);
      const floor = floorRuns && mean(floorRuns.rows, floorRuns.name);
      rows.push(mine, ...(floor ? [floor] : []));
      if (floor) ratios.push([name, mine.rps / floor.rps]);
      roundTails.push({ name, mine: appRuns.rows, floor: floorRuns?.rows, machine: machine?.runs.rows });
      if (peerRuns) {
        const other = mean(peerRuns.rows, peerRuns.name);
        rows.push(other);
        peerRatios.push([name, mine.rps / other.rps]);
      }
      if (machine) rows.push(mean(machine.runs.rows, machine.runs.name));
      return { mine, floor, roundRatios: floorRuns ? appRuns.rows.map((row, i) => row.rps / floorRuns.rows[i]!.rps) : [] };
    };
    const {
      mine: pw,
      floor: base,
      roundRatios: pwRounds,
    } = await compare("password grant (demo-backend, Basic)", "baseline: password grant (node:http)", async (url) => passwordGrant(url), {
      rounds: PASSWORD_ROUNDS,
    });
    if (!base) throw new Error("the password grant is measured beside its baseline");

    log("signing in the token pools");
    const pools = new Map<string, Array<{ access_token: string; refresh_token: string }>>();
    // The requests in flight when a round (or the warm-up) ends lose their tokens (autocannon drops
    // their answers): enough tokens for every round's losses and a full set of connections after them.
    const poolSize = CONNECTIONS * (ROUNDS + 3);
    for (const url of [APP, BASELINE, PEER]) pools.set(url, await Promise.all(Array.from({ length: poolSize }, (_, i) => signIn(url, i))));
    const pool = (url: string) => pools.get(url) ?? [];
    await compare(
      "refresh grant",
      "floor: refresh grant (node:http)",
      async (url) =>
        refreshGrant(
          url,
          pool(url).map((t) => t.refresh_token),
        ),
      { peerName: "peer: oidc-provider refresh grant" },
    );
    await compare(
      "introspection (access token)",
      "floor: introspection (node:http)",
      async (url) => ({
        url: `${url}/demo/default/oauth2/introspect`,
        method: "POST",
        headers: { Authorization: BASIC, "Content-Type": FORM },
        body: `token=${pool(url)[0]?.access_token}`,
      }),
      { peerName: "peer: oidc-provider introspection", machineName: machineAt("introspection") },
    );
    await compare(
      "userinfo",
      "floor: userinfo (node:http)",
      async (url) => ({
        url: `${url}/demo/default/userinfo`,
        headers: { Authorization: `Bearer ${pool(url)[0]?.access_token}` },
      }),
      { peerName: "peer: oidc-provider userinfo" },
    );
    // No floor: each answers a document it holds. Beside the steady server at their rates, the
    // tail a server that does nothing else shows there (the faster the answer, the larger the same
    // stall against its p50).
    for (const [name, path] of [
      ["JWKS", "jwks.json"],
      ["discovery", "openid-configuration"],
    ] as const) {
      await compare(name, undefined, async (url) => ({ url: `${url}/demo/default/.well-known/${path}` }), { machineName: machineAt(name) });
    }

    const table = report(rows, pw, base, pwRounds, ceiling, ratios, peerRatios, roundTails, weights);
    process.stdout.write(table);
    if (!args.smoke) appendResults(path.join(root, "e2e", "bench", "results.md"), table);
  } finally {
    app.kill("SIGTERM");
    baseline.kill("SIGTERM");
    peer.kill("SIGTERM");
    steady.kill("SIGTERM");
    await pgAdmin?.end();
  }
}

/** The login app's pages on a cold load in Chromium (the same measure as e2e/page-weight.spec.ts). */
async function pageWeights(): Promise<Weight[]> {
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: ["--no-sandbox", "--disable-gpu"],
  });
  try {
    return await loginAppWeights(browser, APP, "bench-0", PASSWORD);
  } finally {
    await browser.close();
  }
}

/** A request's CPU time (ms): the server's and, on PostgreSQL, the database server's. */
const allCpu = (r: Row) => r.cpu + (r.dbCpu ?? 0);

/** The rows of the servers we compare against: the baseline and the floors, the peer, and the machine's steady server. */
const FLOORS = /^(baseline|floor):/;
const OTHERS = /^(baseline|floor|peer|machine):/;
const machineAt = (scenario: string) => `machine: a steady server at ${scenario}'s rate (node:http)`;
const MACHINE_AT = /^machine: a steady server at (.+)'s rate/;

/** One scenario's rounds: ours, its floor's (if it has one) and the steady server's (if it ran beside). */
interface RoundTails {
  name: string;
  mine: Row[];
  floor?: Row[];
  machine?: Row[];
}

function report(
  rows: Row[],
  pw: Row,
  base: Row,
  pwRounds: number[],
  ceiling: number,
  ratios: Array<[string, number]>,
  peerRatios: Array<[string, number]>,
  roundTails: RoundTails[],
  weights: Weight[],
): string {
  const f = (n: number, d = 0) => n.toFixed(d);
  // The steady server's rows, each with the scenario whose rate it ran at.
  const machines = rows.flatMap((r) => {
    const at = MACHINE_AT.exec(r.name)?.[1];
    return at ? [[at, r] as const] : [];
  });
  const floorOf = (name: string) => (name === pw.name ? "the baseline's" : "the floor's");
  const peerVersion = (JSON.parse(fs.readFileSync(path.join(root, "node_modules", "oidc-provider", "package.json"), "utf8")) as { version: string }).version;
  const lines = [
    ...table(rows),
    "",
    `- password grant / baseline: **${f(pw.rps / base.rps, 3)}** (target >= 0.95)${pwRounds.length > 1 ? `; round by round ${spread(pwRounds)}` : ""}`,
    `- CPU per password grant, the server's${args.postgres ? " and the database server's together" : ""}: ours ${f(allCpu(pw), 2)} ms, the baseline's ${f(allCpu(base), 2)} ms; on a machine whose cores it keeps busy, that alone would make the ratio ${f(allCpu(base) / allCpu(pw), 3)}`,
    ...ratios.slice(1).map(([name, ratio]) => `- ${name} / its floor: **${f(ratio, 3)}** (target >= 0.6)`),
    ...peerRatios.map(([name, ratio]) => `- ${name} / oidc-provider: **${f(ratio, 3)}**${name === "refresh grant" ? " (target > 1)" : ""}`),
    `- p99 / p50, the worst round's p99 over the mean p50 (target <= 3): ours at most **${longestTail(rows.filter((r) => !OTHERS.test(r.name)))}**; the baseline's and floors' at most ${longestTail(rows.filter((r) => FLOORS.test(r.name)))}; the machine's own (a server that spends the same time on every request and does nothing else, at each scenario's rate) ${machines.map(([name, row]) => `${f(tail(row), 2)} (${name})`).join(", ") || "-"}`,
    ...roundTails.map(
      ({ name, mine, floor, machine }) =>
        `- ${name}, each round's own p99 / p50: ours ${mine.map((r) => f(tail(r), 2)).join(", ")}${floor ? `; ${floorOf(name)} ${floor.map((r) => f(tail(r), 2)).join(", ")}` : ""}${machine ? `; the machine's ${machine.map((r) => f(tail(r), 2)).join(", ")}` : ""}`,
    ),
    `- the share of each round's slowest 1% that came in its first ${EARLY_MS / 1000} s of ${ROUND_DURATION}, the mean over the rounds: ${roundTails
      .map(
        ({ name, mine, floor, machine }) =>
          `${name} ${percent(mine)}${floor ? `, ${floorOf(name)} ${percent(floor)}` : ""}${machine ? `, the machine's ${percent(machine)}` : ""}`,
      )
      .join("; ")}`,
    `- argon2id ceiling (all cores, in-process): ${f(ceiling, 1)} verifications/s; the password grant reaches ${f((100 * pw.rps) / ceiling, 1)}% of it, the baseline ${f((100 * base.rps) / ceiling, 1)}%`,
    `- ${CONNECTIONS} connections, ${DURATION} s per scenario; each scenario and its floor (or the steady server) in ${ROUNDS === 1 ? "one round" : `${ROUNDS} alternating rounds`} of ${ROUND_DURATION} s${PASSWORD_ROUNDS !== ROUNDS ? ` (the password grant in ${PASSWORD_ROUNDS})` : ""}; CPU is the server's, all threads, per request${args.smoke ? " (smoke: the figures mean nothing)" : ""}; load generator on the same machine; the app on ${args.postgres ? "PostgreSQL (same machine), its floors too" : "SQLite"}`,
    `- peer: oidc-provider ${peerVersion} on ${args.postgres ? "PostgreSQL" : "SQLite"} (e2e/bench/peers/oidc-provider.mjs), in the same rounds: opaque access tokens (ours are ES256 JWTs), refresh tokens rotated on every use, ES256 ID tokens`,
    "",
    "Page weight: gzip JavaScript of a cold load in Chromium (budget: 15 kB over the empty page)",
    "",
    ...weightTable(weights),
    "",
  ];
  return lines.join("\n");
}

await main();
