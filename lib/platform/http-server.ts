import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type OutgoingHttpHeader, type OutgoingHttpHeaders, type Server, ServerResponse } from "node:http";
import type { Server as NetServer } from "node:net";
import type { Duplex } from "node:stream";
import type { Settings } from "@/lib/platform/env.ts";
import { PEER_HEADER, peerHeaderValue } from "@/lib/platform/client-address.ts";
import { SECURITY_HEADERS } from "@/lib/platform/security-headers.mjs";
import type { Logger } from "@/lib/platform/logger.ts";
import type { PageStorages } from "@/lib/platform/page-storages.ts";
import { percentDecoded } from "@/lib/platform/percent-decoding.ts";

export type ServerSettings = Pick<Settings, "HEADERS_TIMEOUT_SECONDS" | "REQUEST_TIMEOUT_SECONDS" | "MAX_CONNECTIONS"> & Partial<Pick<Settings, "ACCESS_LOG">>;

/** What a handler tells the access log about a response it wrote: its request id and route name. */
export const RESPONSE_INFO = Symbol.for("ropc.response-info");
export type TaggedResponse = ServerResponse & { [RESPONSE_INFO]?: { requestId: string; route: string } };

export interface AppServerOptions {
  /** Next's request handler: every path `serveOAuth` leaves. */
  handle: (req: IncomingMessage, res: ServerResponse) => unknown;
  /** Answers the authorization server's paths itself; false for any other path (lib/oauth/pipeline/node-adapter.ts). */
  serveOAuth: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Health, readiness and metrics paths (lib/operations/server.ts), answered before anything else; false for any other path. */
  serveOperations?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Next's WebSocket handler (hot reload in development). */
  upgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => unknown;
  /** Told of each request handed to Next (lib/platform/page-storages.ts). */
  pages?: Pick<PageStorages, "track">;
  settings: ServerSettings;
  log: Logger;
}

// Node enforces headersTimeout and requestTimeout only when it sweeps its connections, every
// connectionsCheckingInterval (30 s by default): a slow body would hold its connection for up to
// the timeout plus 30 s.
const TIMEOUT_CHECK_MS = 500;

const UNKNOWN_ADDRESS_BODY = JSON.stringify({ error: "invalid_request", error_description: "the client's address is unknown" });
// The asterisk form (`OPTIONS *`) and any other target neither a path nor an absolute URL: Next
// answered it with a 500 and a stack trace on stderr.
const NOT_A_PATH_BODY = JSON.stringify({ error: "invalid_request", error_description: "the request target must be a path" });
// A path whose percent-encoding does not decode: Next's router failed on it with a 500.
const UNDECODABLE_PATH_BODY = JSON.stringify({ error: "invalid_request", error_description: "the request path is not validly percent-encoded" });
function decodablePath(url: string): boolean {
  const query = url.indexOf("?");
  return percentDecoded(query === -1 ? url : url.slice(0, query)) !== undefined;
}
const hasPathTarget = (url: string | undefined) => url !== undefined && (url.startsWith("/") || /^https?:\/\//i.test(url));

/**
 * The production server's `node:http` server: stamps every request with its socket's address
 * (lib/platform/client-address.ts) and hands it to the authorization server or to Next. The address is
 * read when the connection is accepted: a client that resets its connection right after sending
 * a request leaves `socket.remoteAddress` undefined by the time the request is handled, and a
 * request without an address would be judged by the `X-Forwarded-For` it chose itself. A request
 * whose address is unknown even then is refused, never handed on.
 */
export function createAppServer({ handle, serveOAuth, serveOperations, upgrade, pages, settings, log }: AppServerOptions): Server {
  const accessLog = settings.ACCESS_LOG === "info";
  const requestTimeout = settings.REQUEST_TIMEOUT_SECONDS * 1000;
  const server: Server = createServer({
    ServerResponse: class AppResponse extends ServerResponse {
      /**
       * Stopping (closeGracefully): this connection ends with this answer (`Connection: close`),
       * so that no idle keep-alive connection is left for a load balancer to send the next
       * request on. Decided when the headers are written (an answer's every path comes here:
       * Node's implicit headers too), so that no response needs to be kept in a set meanwhile: a
       * set of the responses under way kept each of them, with its request and headers, past V8's
       * young-generation collections (README, Performance).
       */
      override writeHead(
        statusCode: number,
        reason?: string | OutgoingHttpHeaders | OutgoingHttpHeader[],
        headers?: OutgoingHttpHeaders | OutgoingHttpHeader[],
      ): this {
        if (closing.has(server)) this.shouldKeepAlive = false;
        return super.writeHead(statusCode, reason as string | undefined, headers);
      }
    },
    // The headers are part of the request: a longer headers timeout could never fire (and Node
    // refuses to start with one).
    headersTimeout: Math.min(settings.HEADERS_TIMEOUT_SECONDS * 1000, requestTimeout),
    requestTimeout,
    connectionsCheckingInterval: TIMEOUT_CHECK_MS,
  });
  server.maxConnections = settings.MAX_CONNECTIONS;
  const addresses = new WeakMap<Duplex, string>();
  // Before Node's own listener, which starts reading (and parsing) the connection.
  server.prependListener("connection", (socket: Duplex & { remoteAddress?: string }) => {
    if (socket.remoteAddress !== undefined) addresses.set(socket, socket.remoteAddress);
  });
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (!stamp(req, addresses, log)) return refuse(res, UNKNOWN_ADDRESS_BODY);
    if (!hasPathTarget(req.url)) return refuse(res, NOT_A_PATH_BODY);
    if (accessLog) logAccess(req, res, log);
    if (serveOperations?.(req, res) || serveOAuth(req, res)) return;
    // The authorization server's answers carry their own request id; the others get one here.
    if (accessLog) (res as TaggedResponse)[RESPONSE_INFO] = { requestId: setRequestId(res), route: "app" };
    if (!decodablePath(req.url ?? "/")) return refuse(res, UNDECODABLE_PATH_BODY);
    const handled = handle(req, res);
    // Whatever Next's handler rejects with stays unhandled, as it was without the count.
    void pages?.track(handled, res);
  });
  if (upgrade) {
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (!stamp(req, addresses, log)) return void socket.destroy();
      void upgrade(req, socket, head);
    });
  }
  return server;
}

const closing = new WeakSet<Server>();

// While stopping, how often connections that have become idle are closed.
const IDLE_SWEEP_MS = 50;

/** Why a server could not listen, in words that name the setting to change. */
export class ListenFailure extends Error {}

/**
 * Listens on `hostname`:`port`, or rejects with a ListenFailure that names `setting` (the port's,
 * and HOSTNAME for an address this machine does not have). Without it, a port in use would be an
 * uncaught 'error' event: a stack trace, and a process that ends with status 0, as if it had been
 * stopped.
 */
export function listen(server: NetServer, port: number, hostname: string, setting: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) => reject(new ListenFailure(listenProblem(err, `${hostname}:${port}`, setting)));
    server.once("error", failed);
    server.listen(port, hostname, () => {
      server.off("error", failed);
      resolve();
    });
  });
}

function listenProblem(err: NodeJS.ErrnoException, address: string, setting: string): string {
  switch (err.code) {
    case "EADDRINUSE":
      return `${address} is in use: stop what listens there, or set ${setting} to a free port.`;
    case "EACCES":
      return `${address} needs privileges this process does not have: set ${setting} to a port above 1023 (a load balancer or proxy can take 80 and 443).`;
    case "EADDRNOTAVAIL":
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `${address}: no address of this machine: check HOSTNAME (0.0.0.0 listens on every one).`;
    default:
      return `cannot listen on ${address} (${setting}, HOSTNAME): ${err.message}`;
  }
}

/**
 * Stops `server` without cutting a request short: it accepts no new connection, closes the idle
 * ones, and answers every request it has begun reading, each with `Connection: close`. Resolves
 * when the last connection has closed, or after `timeoutMs` (then it closes what is left). A
 * request a load balancer sent on a connection closed while idle was never read: the balancer
 * may send it again elsewhere (HAProxy's `retry-on empty-response`).
 */
export function closeGracefully(server: Server, timeoutMs: number): Promise<void> {
  closing.add(server);
  return new Promise((resolve) => {
    const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
    const deadline = setTimeout(() => server.closeAllConnections(), timeoutMs);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(deadline);
      resolve();
    });
  });
}

/** Overwrites any peer header the client sent with ours; false when the socket's address is unknown. */
function stamp(req: IncomingMessage, addresses: WeakMap<Duplex, string>, log: Logger): boolean {
  const address = addresses.get(req.socket);
  if (address === undefined) {
    // The path only: a query string may carry a token.
    log.warn({ method: req.method, path: (req.url ?? "/").split("?", 1)[0] }, "refused a request: the client's address is unknown");
    return false;
  }
  req.headers[PEER_HEADER] = peerHeaderValue(address);
  return true;
}

/** A 400 with `body` (an OAuth error object), the connection closed after it. */
function refuse(res: ServerResponse, body: string): void {
  const headers: Array<[string, string]> = SECURITY_HEADERS.map(({ key, value }) => [key, value]);
  headers.push(
    ["Content-Type", "application/json;charset=UTF-8"],
    ["Cache-Control", "no-store"],
    ["Connection", "close"],
    ["Content-Length", String(Buffer.byteLength(body))],
  );
  res.writeHead(400, headers.flat());
  res.end(body);
}

function setRequestId(res: ServerResponse): string {
  const requestId = randomUUID();
  res.setHeader("X-Request-Id", requestId);
  return requestId;
}

/**
 * One line per request once it is answered (ACCESS_LOG=info), or once its connection closed
 * before the answer was sent (`aborted: true`: a client that gave up, a proxy's timeout; with a
 * `status` only if the answer had begun): never its query string, which may carry a token.
 */
function logAccess(req: IncomingMessage, res: TaggedResponse, log: Logger): void {
  const started = performance.now();
  res.once("close", () => {
    const info = res[RESPONSE_INFO];
    log.info(
      {
        event: "http.access",
        requestId: info?.requestId,
        route: info?.route,
        method: req.method,
        path: (req.url ?? "/").split("?", 1)[0],
        status: res.headersSent ? res.statusCode : undefined,
        ...(res.writableFinished ? {} : { aborted: true }),
        durationMs: Math.round((performance.now() - started) * 100) / 100,
      },
      "request",
    );
  });
}
