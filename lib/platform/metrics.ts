import { createHash, timingSafeEqual } from "node:crypto";
import client from "prom-client";

// Prometheus metrics (prom-client). Labels are names from fixed sets (routes, statuses, outcomes):
// never a username, a token, an address or a raw path, so the number of series stays bounded.
// The metrics live on globalThis: the production server's bundle (which answers the OAuth paths)
// and Next's bundle (the login app, and every route in `next dev`) load their own copies of this
// module, and both must count into one registry.

/** What a sign-in (the password grant) came to. */
export type SignInOutcome = "success" | "invalid_credentials" | "locked" | "refused" | "mfa_required" | "mfa_passed" | "mfa_failed";

interface Metrics {
  registry: client.Registry;
  requests: client.Histogram<"route" | "status">;
  signIns: client.Counter<"outcome">;
  refreshes: client.Counter<"outcome">;
  reuseDetections: client.Counter;
  revocations: client.Counter<"outcome">;
  lockouts: client.Counter<"event">;
  clientAuthFailures: client.Counter<"route">;
  /** Labelled children by `route status`: prom-client's labels() lookup costs more than the observation. */
  children: Map<string, client.Histogram.Internal<"route" | "status">>;
  /** Whether Node's default metrics are collected (collectNodeMetrics). */
  nodeCollected: boolean;
  /** Sources of gauges read at scrape time. */
  sources: { passwordHashes?: () => { running: number; waiting: number }; databasePool?: () => { total: number; idle: number; waiting: number } | undefined };
}

// Seconds; the password grant spends ~15 ms in argon2id alone, the rest take a millisecond or two.
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

function createMetrics(): Metrics {
  const registry = new client.Registry();
  const metrics: Metrics = {
    registry,
    requests: new client.Histogram({
      name: "ropc_http_request_duration_seconds",
      help: "Time to answer a request of the authorization server, by endpoint (the routes table's name) and status; its _count is the request count",
      labelNames: ["route", "status"],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    signIns: new client.Counter({
      name: "ropc_sign_ins_total",
      help: "Sign-in steps by outcome: success, invalid_credentials (wrong password, unknown or disabled user), locked (a brute-force limit), refused (any other error), mfa_required (a right password, a second factor to pass), mfa_passed and mfa_failed (the second step: a code or a recovery code)",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    refreshes: new client.Counter({
      name: "ropc_refreshes_total",
      help: "Refresh token grant requests by outcome (success, failure, locked)",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    reuseDetections: new client.Counter({
      name: "ropc_refresh_reuse_detections_total",
      help: "Consumed refresh tokens presented again: each revoked its whole family (RFC 9700 §4.14.2)",
      registers: [registry],
    }),
    revocations: new client.Counter({
      name: "ropc_revocations_total",
      help: "Revocation requests (RFC 7009) by outcome (success, failure)",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    lockouts: new client.Counter({
      name: "ropc_lockouts_total",
      help: "Requests refused because a brute-force limit was reached (429), by audit event",
      labelNames: ["event"],
      registers: [registry],
    }),
    clientAuthFailures: new client.Counter({
      name: "ropc_client_authentication_failures_total",
      help: "Requests refused with invalid_client (unknown client, wrong or missing secret), by endpoint",
      labelNames: ["route"],
      registers: [registry],
    }),
    children: new Map(),
    nodeCollected: false,
    sources: {},
  };
  const { sources } = metrics;
  new client.Gauge({
    name: "ropc_password_hashes_running",
    help: "argon2id hashes and verifications running on libuv's thread pool",
    registers: [registry],
    collect() {
      this.set(sources.passwordHashes?.().running ?? 0);
    },
  });
  new client.Gauge({
    name: "ropc_password_hashes_waiting",
    help: "argon2id hashes and verifications waiting for a thread of libuv's pool",
    registers: [registry],
    collect() {
      this.set(sources.passwordHashes?.().waiting ?? 0);
    },
  });
  new client.Gauge({
    name: "ropc_database_pool_connections",
    help: "PostgreSQL pool connections by state (total, idle) and requests waiting for one; absent on SQLite (one connection)",
    labelNames: ["state"],
    registers: [registry],
    collect() {
      this.reset();
      const pool = sources.databasePool?.();
      if (!pool) return;
      this.set({ state: "total" }, pool.total);
      this.set({ state: "idle" }, pool.idle);
      this.set({ state: "waiting" }, pool.waiting);
    },
  });
  return metrics;
}

const metrics = ((globalThis as Record<symbol, unknown>)[Symbol.for("ropc.metrics")] ??= createMetrics()) as Metrics;

/**
 * Node's default metrics (prom-client's `process_*` and `nodejs_*`), once the metrics are served
 * (lib/operations/server.ts): their GC histogram's observer lengthens the pause after every
 * garbage collection, for every request in flight (README, Performance).
 */
export function collectNodeMetrics(): void {
  if (metrics.nodeCollected) return;
  metrics.nodeCollected = true;
  client.collectDefaultMetrics({ register: metrics.registry });
}

/** Where the password-hash gauges read their values (lib/platform/passwords.ts). */
export function measurePasswordHashes(read: () => { running: number; waiting: number }): void {
  metrics.sources.passwordHashes = read;
}

/** Where the database pool gauge reads its values (lib/platform/db.ts, PostgreSQL only). */
export function measureDatabasePool(read: () => { total: number; idle: number; waiting: number } | undefined): void {
  metrics.sources.databasePool = read;
}

/**
 * One answered request of an endpoint: one histogram observation (a cached child), and on the
 * token, revocation and introspection endpoints a 401 is invalid_client (RFC 6749 §5.2; userinfo's
 * 401 is a bearer token's).
 */
export function observeRequest(route: string, status: number, seconds: number): void {
  const key = `${route} ${status}`;
  let child = metrics.children.get(key);
  if (!child) metrics.children.set(key, (child = metrics.requests.labels(route, String(status))));
  child.observe(seconds);
  if (status === 401 && route !== "userinfo") metrics.clientAuthFailures.labels(route).inc();
}

/** An audited request's outcome (lib/oauth/pipeline/workspace-route.ts): sign-ins, refreshes, revocations, lockouts. */
export function countOutcome(event: string, outcome: "success" | "failure" | "locked", error: string | undefined): void {
  if (outcome === "locked") metrics.lockouts.labels(event).inc();
  if (event === "token.password") metrics.signIns.labels(signInOutcome(outcome, error)).inc();
  else if (event === "token.mfa_otp" || event === "token.mfa_recovery_code") metrics.signIns.labels(secondStepOutcome(outcome, error)).inc();
  else if (event === "token.refresh_token") metrics.refreshes.labels(outcome).inc();
  else if (event === "token.revoke") metrics.revocations.labels(outcome === "locked" ? "failure" : outcome).inc();
}

function signInOutcome(outcome: "success" | "failure" | "locked", error: string | undefined): SignInOutcome {
  if (outcome !== "failure") return outcome;
  if (error === "mfa_required") return "mfa_required";
  // Wrong password, unknown user and disabled user are one answer (invalid_grant) by design.
  return error === "invalid_grant" ? "invalid_credentials" : "refused";
}

/** The second step of a sign-in (the mfa-otp and mfa-recovery-code grants). */
function secondStepOutcome(outcome: "success" | "failure" | "locked", error: string | undefined): SignInOutcome {
  if (outcome === "success") return "mfa_passed";
  if (outcome === "locked") return "locked";
  return error === "invalid_grant" ? "mfa_failed" : "refused";
}

/** An audit event recorded outside a request's own record (lib/platform/audit.ts): reuse detection. */
export function countAuditEvent(event: string): void {
  if (event === "token.reuse_detected") metrics.reuseDetections.inc();
}

/** The metrics in Prometheus' text format. */
export async function metricsText(): Promise<{ contentType: string; body: string }> {
  return { contentType: metrics.registry.contentType, body: await metrics.registry.metrics() };
}

/** Clears every value (tests). */
export function resetMetrics(): void {
  metrics.registry.resetMetrics();
}

/** Whether an Authorization header carries the bearer token, compared in constant time. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? "");
  // Digests of equal length, so that neither the comparison nor its length check tells anything.
  const digest = (value: string) => createHash("sha256").update(value).digest();
  return timingSafeEqual(digest(match?.[1] ?? ""), digest(token)) && match !== null;
}
