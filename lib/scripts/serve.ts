import { availableParallelism } from "node:os";
import next from "next";
import { settings, type Settings } from "@/lib/platform/env.ts";
import { initPeerSecret } from "@/lib/platform/client-address.ts";
import { closeGracefully, createAppServer, listen, ListenFailure } from "@/lib/platform/http-server.ts";
import { idlePageStorages } from "@/lib/platform/page-storages.ts";
import { settleLeftoverWork } from "@/lib/platform/leftover-work.ts";
import { stopTracing } from "@/lib/platform/tracing-sdk.ts";
import { tracing } from "@/lib/platform/tracing.ts";
import { messageOf } from "@/lib/platform/error-message.ts";

// On SIGTERM, how long the requests under way have to finish.
const STOP_REQUESTS_MS = 10_000;

/**
 * Where the server listens: PORT (the settings' value, checked at start) and HOSTNAME (every
 * interface when unset). An empty variable is an unset one, as for every setting: an env file
 * made from .env.example has `PORT=` and `HOSTNAME=`.
 */
export function listenAddress(s: Pick<Settings, "PORT">, env: Record<string, string | undefined> = process.env): { port: number; hostname: string } {
  return { port: s.PORT, hostname: env.HOSTNAME || "0.0.0.0" };
}

/**
 * Serves the app through Next's request handler behind our own `node:http` server
 * (lib/platform/http-server.ts), so that every request carries the socket's address (see
 * lib/platform/client-address.ts). Used by `npm run dev` and `npm start`; honours PORT and HOSTNAME.
 */
export async function serve({ dev }: { dev: boolean }): Promise<void> {
  process.env.NEXT_TELEMETRY_DISABLED ??= "1";
  // next-auth builds its absolute URLs (redirects after sign-in and sign-out) from NEXTAUTH_URL.
  process.env.NEXTAUTH_URL ??= settings().APP_URL;
  initPeerSecret();
  const { port, hostname } = listenAddress(settings());
  // Before Next makes its storages: Node's promise hooks off while no page is under way, unless
  // spans are exported (OpenTelemetry's context is a storage too; instrumentation.ts may start it).
  const pages = dev ? undefined : idlePageStorages({ keep: () => tracing.tracer !== undefined });
  // The project folder: npm runs its scripts there.
  const app = next({ dev, dir: process.cwd(), port, hostname: hostname === "0.0.0.0" ? "localhost" : hostname });
  const handle = app.getRequestHandler();
  await app.prepare();
  const upgrade = app.getUpgradeHandler();
  // In production the authorization server's paths skip Next's router (lib/oauth/pipeline/node-adapter.ts);
  // in development they go through Next, for hot reloading.
  const { serveOAuth } = dev ? { serveOAuth: () => false } : await import("@/lib/oauth/pipeline/node-adapter.ts");
  // Loaded here, not imported: the logger reads the settings when it loads, and start.ts sets
  // NODE_ENV only after its imports have run.
  const { logger } = await import("@/lib/platform/logger.ts");
  // In development app/healthz and app/readyz answer through Next; metrics are a production matter.
  const operations = dev ? undefined : await import("@/lib/operations/server.ts");
  const s = settings();
  const server = createAppServer({ handle, serveOAuth, serveOperations: operations?.operationsHandler(s, logger), upgrade, pages, settings: s, log: logger });
  const metricsServer = s.METRICS_PORT && operations ? operations.createMetricsServer(s, logger) : undefined;
  if (operations) {
    const exposure = operations.metricsExposure(s, hostname);
    logger[exposure.level]({ event: "metrics.exposure" }, exposure.message);
    const { dummyPasswordHash, hashingCapacity, threadPoolSize } = await import("@/lib/platform/passwords.ts");
    const [threads, cores] = [threadPoolSize(), availableParallelism()];
    const capacity = hashingCapacity(cores, threads);
    logger[capacity.level]({ event: "passwords.capacity", threads, cores }, capacity.message);
    // Made before the first request: the first sign-in of an unknown username would otherwise pay
    // for it, a hash on top of the verification, and be told from a known one by its time.
    await dummyPasswordHash();
  }
  try {
    if (metricsServer && s.METRICS_PORT) await listen(metricsServer, s.METRICS_PORT, hostname, "METRICS_PORT");
    await listen(server, port, hostname, "PORT");
    pages?.ready();
  } catch (err) {
    if (!(err instanceof ListenFailure)) throw err;
    process.stderr.write(`Cannot start: ${err.message}\n`);
    metricsServer?.close();
    await stopTracing();
    process.exit(1);
  }
  process.stdout.write(`Ready on http://${hostname === "0.0.0.0" ? "localhost" : hostname}:${port} (${dev ? "development" : "production"})\n`);
  // How mail goes out; in production without SMTP_URL, a warning that recovery is off.
  void import("@/lib/platform/mail.ts").then(({ reportMailAtStart }) => reportMailAtStart(logger));
  // Does the login app's issuer answer, and does its client authenticate? Logged either way.
  void import("@/lib/login/self-check.ts")
    .then(({ selfCheckAtStart }) => selfCheckAtStart())
    .catch((err: unknown) => logger.error({ err }, "login app self-check could not run"));
  // The login app's issuer, discovered now: what it cannot do (revoke at sign-out) is logged at
  // start. An issuer not reachable yet is discovered again at the first sign-in.
  void import("@/lib/login/token-client.ts")
    .then(({ checkIssuer }) => checkIssuer())
    .catch((err: unknown) =>
      logger.warn({ event: "login.issuer.unreachable", err: messageOf(err) }, "the login app's issuer could not be discovered at start"),
    );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    metricsServer?.close();
    const flushLog = (globalThis as Record<symbol, (() => void) | undefined>)[Symbol.for("ropc.logger.flush")];
    // Every request under way is answered, and the work begun after an answer (a password-reset
    // mail) ends, before the last audit rows and spans are flushed and the process exits (the
    // audit rows already counted are written before that work is waited for: settleLeftoverWork):
    // a refresh the database committed is never left without its answer.
    void closeGracefully(server, STOP_REQUESTS_MS)
      .then(settleLeftoverWork)
      .then(() => stopTracing())
      .then(() => flushLog?.())
      .then(() => app.close())
      .finally(() => process.exit(0));
    setTimeout(() => process.exit(0), STOP_REQUESTS_MS + 5000).unref();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
