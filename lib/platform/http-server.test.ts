import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import net, { type AddressInfo } from "node:net";
import { Duplex } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { flushAudit } from "@/lib/platform/audit.ts";
import { db } from "@/lib/platform/db.ts";
import { PEER_HEADER, peerHeaderValue } from "@/lib/platform/client-address.ts";
import { serveOAuth } from "@/lib/oauth/pipeline/node-adapter.ts";
import { type AppServerOptions, closeGracefully, createAppServer, listen as listenOn, ListenFailure, type ServerSettings } from "@/lib/platform/http-server.ts";
import { logger } from "@/lib/platform/logger.ts";

const DEFAULTS: ServerSettings = { HEADERS_TIMEOUT_SECONDS: 10, REQUEST_TIMEOUT_SECONDS: 30, MAX_CONNECTIONS: 1024 };
const TOKEN_PATH = "/demo/default/oauth2/token";
const SPOOFED = "203.0.113.10";
const UNKNOWN_ADDRESS = { error: "invalid_request", error_description: "the client's address is unknown" };

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;

function appServer(
  options: {
    handle?: Handler;
    serveOAuth?: (req: IncomingMessage, res: ServerResponse) => boolean;
    pages?: AppServerOptions["pages"];
    settings?: Partial<ServerSettings>;
  } = {},
): Server {
  const handle = options.handle ?? ((_req: IncomingMessage, res: ServerResponse) => res.writeHead(418).end("next"));
  const server = createAppServer({
    handle,
    serveOAuth: options.serveOAuth ?? serveOAuth,
    pages: options.pages,
    settings: { ...DEFAULTS, ...options.settings },
    log: logger,
  });
  servers.push(server);
  return server;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

/** A connection whose peer address the test sets, as `net.Socket#remoteAddress` would report it. */
class FakeSocket extends Duplex {
  written = "";
  constructor(public remoteAddress: string | undefined) {
    super();
  }
  override _read(): void {}
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.written += chunk.toString("latin1");
    callback();
  }
}

/** The status, lower-cased headers and body of a raw HTTP/1.1 response. */
function parseResponse(raw: string) {
  const [head = "", body = ""] = raw.split("\r\n\r\n", 2);
  const [statusLine = "", ...lines] = head.split("\r\n");
  const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(":")).toLowerCase(), line.slice(line.indexOf(":") + 1).trim()]));
  return { status: Number(statusLine.split(" ")[1]), headers, body };
}

function passwordRequest(extraHeaders: string[] = []): string {
  const body = new URLSearchParams({ grant_type: "password", client_id: "demo-spa", username: "alice", password: "wrong-password" }).toString();
  return [
    `POST ${TOKEN_PATH} HTTP/1.1`,
    "Host: localhost",
    "Content-Type: application/x-www-form-urlencoded",
    `Content-Length: ${body.length}`,
    ...extraHeaders,
    "",
    body,
  ].join("\r\n");
}

async function until(condition: () => boolean, deadlineMs = 10_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("the client's address (lib/platform/client-address.ts)", () => {
  it("stamps the address read when the connection was accepted, though the socket has lost it since", async () => {
    const seen: Array<string | string[] | undefined> = [];
    const server = appServer({ serveOAuth: () => false, handle: (req, res) => (seen.push(req.headers[PEER_HEADER]), res.end("ok")) });
    const socket = new FakeSocket("198.51.100.7");
    server.emit("connection", socket);
    // The client reset the connection: Node can no longer read the peer's address.
    socket.remoteAddress = undefined;
    socket.push(`GET /login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Forwarded-For: ${SPOOFED}\r\n${PEER_HEADER}: forged ${SPOOFED}\r\n\r\n`);
    await once(socket, "finish");
    expect(parseResponse(socket.written).status).toBe(200);
    expect(seen).toEqual([peerHeaderValue("198.51.100.7")]);
  });

  it("refuses a request whose address was unknown already when the connection was accepted, handing it to nobody", async () => {
    const handed = vi.fn((_req: IncomingMessage, res: ServerResponse) => (res.writeHead(418).end(), true));
    const server = appServer({ serveOAuth: handed, handle: handed });
    const socket = new FakeSocket(undefined);
    server.emit("connection", socket);
    socket.push(passwordRequest([`X-Forwarded-For: ${SPOOFED}`, "Connection: close"]));
    await once(socket, "finish");
    const res = parseResponse(socket.written);
    expect(res.status).toBe(400);
    expect(res.headers["connection"]).toBe("close");
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(res.headers["content-type"]).toBe("application/json;charset=UTF-8");
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(JSON.parse(res.body)).toEqual(UNKNOWN_ADDRESS);
    expect(handed).not.toHaveBeenCalled();
  });

  it.each(["OPTIONS *"])("answers a request target that is no path (%s) with 400 invalid_request, handing it to nobody", async (line) => {
    const handed = vi.fn((_req: IncomingMessage, res: ServerResponse) => (res.writeHead(418).end(), true));
    const server = appServer({ serveOAuth: handed, handle: handed });
    const socket = new FakeSocket("198.51.100.9");
    server.emit("connection", socket);
    socket.push(`${line} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
    await once(socket, "finish");
    const res = parseResponse(socket.written);
    expect(res.status).toBe(400);
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(JSON.parse(res.body)).toEqual({ error: "invalid_request", error_description: "the request target must be a path" });
    expect(handed).not.toHaveBeenCalled();
  });

  it("answers a path Next could not decode (a malformed percent-encoding) with 400 invalid_request, not handing it to Next", async () => {
    const handle = vi.fn((_req: IncomingMessage, res: ServerResponse) => res.writeHead(418).end());
    const server = appServer({ serveOAuth: () => false, handle });
    const socket = new FakeSocket("198.51.100.9");
    server.emit("connection", socket);
    socket.push("GET /api/auth/%zz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    await once(socket, "finish");
    const res = parseResponse(socket.written);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toEqual({ error: "invalid_request", error_description: "the request path is not validly percent-encoded" });
    expect(handle).not.toHaveBeenCalled();
  });

  it("drops an upgrade whose address is unknown", async () => {
    const upgrade = vi.fn((_req: IncomingMessage, socket: Duplex) => socket.destroy());
    const server = createAppServer({ handle: vi.fn(), serveOAuth: () => false, upgrade, settings: DEFAULTS, log: logger });
    const socket = new FakeSocket(undefined);
    server.emit("connection", socket);
    socket.push("GET /_next/webpack-hmr HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    await once(socket, "close");
    expect(upgrade).not.toHaveBeenCalled();
    expect(socket.written).toBe("");
  });

  it("never counts or audits a failure against the X-Forwarded-For of clients that reset right after sending", async () => {
    const responses: ServerResponse[] = [];
    let handedOn = 0;
    const server = appServer({
      serveOAuth: (req, res) => {
        handedOn++;
        responses.push(res);
        return serveOAuth(req, res);
      },
    });
    let [connections, requests] = [0, 0];
    server.on("connection", () => connections++);
    server.on("request", () => requests++);
    const port = await listen(server);
    const request = passwordRequest([`X-Forwarded-For: ${SPOOFED}`]);
    const sendAndReset = (socket: net.Socket) => socket.write(request, () => socket.resetAndDestroy());
    const connect = () => net.connect(port, "127.0.0.1").on("error", () => {});
    // Reset before the server accepted the connection: its address is unknown from the start.
    await Promise.all(
      Array.from({ length: 20 }, () => {
        const socket = connect();
        socket.on("connect", () => sendAndReset(socket));
        return once(socket, "close");
      }),
    );
    await until(() => connections === 20);
    // Reset after the server accepted it: the address was read, the socket no longer has it.
    const ACCEPTED_FIRST = 20;
    for (let i = 0; i < ACCEPTED_FIRST; i++) {
      const accepted = once(server, "connection");
      const socket = connect();
      await accepted;
      sendAndReset(socket);
      await once(socket, "close");
    }
    await until(() => requests >= ACCEPTED_FIRST && responses.length === handedOn && responses.every((res) => res.writableEnded));
    // Whether a reset request got as far as the password is a race; one that stays makes sure a
    // failure is counted, so that the checks below always have something to judge.
    const whole = await fetch(`http://127.0.0.1:${port}${TOKEN_PATH}`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": SPOOFED },
      body: "grant_type=password&client_id=demo-spa&username=alice&password=wrong-password",
    });
    expect(whole.status).toBe(400);
    await flushAudit();
    expect(handedOn).toBeGreaterThanOrEqual(ACCEPTED_FIRST);
    // A request whose body the reset cut short fails before the password is checked: at most one
    // failure per request handed on, each from the socket's address.
    const failures = await db().failedLogin.findMany({ where: { username: "alice" }, select: { ip: true } });
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.length).toBeLessThanOrEqual(handedOn);
    expect(new Set(failures.map((f) => f.ip))).toEqual(new Set(["127.0.0.1"]));
    const events = await db().auditEvent.findMany({ where: { username: "alice" }, select: { ip: true } });
    expect(events.length).toBe(failures.length);
    expect(new Set(events.map((e) => e.ip))).toEqual(new Set(["127.0.0.1"]));
    expect(await db().failedLogin.count({ where: { ip: SPOOFED } })).toBe(0);
    expect(await db().auditEvent.count({ where: { ip: SPOOFED } })).toBe(0);
  });
});

describe("the pages handed to Next (lib/platform/page-storages.ts)", () => {
  it("reports each request handed to Next, with what its handler returned and its response, and no other", async () => {
    const tracked: Array<{ handled: unknown; res: ServerResponse; path: string | undefined }> = [];
    const returned = Promise.resolve("rendered");
    const handle = vi.fn((_req: IncomingMessage, res: ServerResponse) => (res.end("page"), returned));
    const oauth = (req: IncomingMessage, res: ServerResponse) => req.url!.startsWith("/demo/") && (res.writeHead(200).end("{}"), true);
    const server = appServer({
      serveOAuth: oauth,
      handle,
      pages: { track: (handled, res) => (tracked.push({ handled, res, path: res.req.url }), Promise.resolve()) },
    });
    for (const line of ["GET /login", "POST /demo/default/oauth2/token", "GET /api/auth/%zz", "OPTIONS *"]) {
      const socket = new FakeSocket("198.51.100.9");
      server.emit("connection", socket);
      socket.push(`${line} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      await once(socket, "finish");
    }
    expect(handle).toHaveBeenCalledTimes(1);
    expect(tracked.map(({ path }) => path)).toEqual(["/login"]);
    expect(tracked[0]!.handled).toBe(returned);
    expect(tracked[0]!.res.closed).toBe(true);
  });
});

describe("timeouts and the connection cap", () => {
  // A connection that sends `first`, then one byte of `rest` every 100 ms (3 s for 30 bytes) until
  // the server closes it.
  async function trickle(port: number, first: string, rest: string) {
    const socket = net.connect(port, "127.0.0.1").on("error", () => {});
    await once(socket, "connect");
    const started = Date.now();
    let received = "";
    socket.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")));
    socket.write(first);
    let sent = 0;
    const timer = setInterval(() => {
      if (!socket.destroyed && sent < rest.length) socket.write(rest[sent++] ?? "");
    }, 100);
    await once(socket, "close");
    clearInterval(timer);
    return { elapsed: Date.now() - started, received };
  }

  const body = "x".repeat(30);
  it.each([
    [
      "a body trickled slower than the request timeout",
      `POST ${TOKEN_PATH} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n`,
      body,
    ],
    ["headers trickled slower than the headers timeout", `POST ${TOKEN_PATH} HTTP/1.1\r\n`, `Host: localhost\r\nX-Padding: ${body}\r\n\r\n`],
  ])("closes a connection with %s with 408 within about a second of the timeout", async (_name, first, rest) => {
    const port = await listen(appServer({ settings: { HEADERS_TIMEOUT_SECONDS: 1, REQUEST_TIMEOUT_SECONDS: 1 } }));
    const { elapsed, received } = await trickle(port, first, rest);
    expect(received.split("\r\n", 1)[0]).toBe("HTTP/1.1 408 Request Timeout");
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(2500);
  });

  it("closes connections over the cap at once, and keeps serving those within it", async () => {
    const server = appServer({ settings: { MAX_CONNECTIONS: 2 } });
    const port = await listen(server);
    const open = async () => {
      const accepted = once(server, "connection");
      const socket = net.connect(port, "127.0.0.1").on("error", () => {});
      await once(socket, "connect");
      return { socket, accepted };
    };
    const first = await open();
    const second = await open();
    await Promise.all([first.accepted, second.accepted]);
    const third = net.connect(port, "127.0.0.1").on("error", () => {});
    let thirdReceived = "";
    third.on("data", (chunk: Buffer) => (thirdReceived += chunk.toString("latin1")));
    const closed = await Promise.race([once(third, "close").then(() => true), new Promise((resolve) => setTimeout(resolve, 1000, false))]);
    expect(closed).toBe(true);
    expect(thirdReceived).toBe("");
    first.socket.write("GET /demo/default/.well-known/jwks.json HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    let received = "";
    first.socket.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")));
    await once(first.socket, "close");
    expect(received.split("\r\n", 1)[0]).toBe("HTTP/1.1 200 OK");
    second.socket.destroy();
  });
});

describe("closeGracefully: a stop that cuts no request short", () => {
  /** A raw keep-alive connection; `send` writes a request and resolves with the raw response once it is complete. */
  async function connection(port: number) {
    const socket = net.connect(port, "127.0.0.1");
    await once(socket, "connect");
    let received = "";
    socket.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")));
    const closed = once(socket, "close").then(() => true);
    return {
      socket,
      closed,
      received: () => received,
      send: (path: string) => socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`),
    };
  }

  it("answers the request under way, with Connection: close, closes idle connections, accepts no new one", async () => {
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const server = appServer({
      serveOAuth: () => false,
      handle: (req, res) => {
        if (req.url === "/slow") void released.then(() => res.writeHead(200, { "Content-Length": "4" }).end("done"));
        // Node writes the headers itself (`end` without `writeHead`), as Next's pages often do.
        else if (req.url === "/slow-implicit") void released.then(() => res.end("also"));
        else res.writeHead(200, { "Content-Length": "2" }).end("ok");
      },
    });
    const port = await listen(server);
    const idle = await connection(port);
    idle.send("/fast");
    await vi.waitFor(() => expect(idle.received()).toContain("\r\n\r\nok"));
    const busy = await connection(port);
    busy.send("/slow");
    const implicit = await connection(port);
    implicit.send("/slow-implicit");
    await vi.waitFor(() => expect(server.listenerCount("request")).toBeGreaterThan(0));
    await new Promise((resolve) => setTimeout(resolve, 50));

    let stopped = false;
    const stopping = closeGracefully(server, 5_000).then(() => (stopped = true));
    expect(await idle.closed).toBe(true);
    const refused = await new Promise<string>((resolve) => net.connect(port, "127.0.0.1").on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "")));
    expect(refused).toBe("ECONNREFUSED");
    expect(stopped).toBe(false);

    release();
    expect(await busy.closed).toBe(true);
    const response = parseResponse(busy.received());
    expect(response.status).toBe(200);
    expect(response.headers.connection).toBe("close");
    expect(response.body).toBe("done");
    expect(await implicit.closed).toBe(true);
    const implicitResponse = parseResponse(implicit.received());
    expect(implicitResponse.status).toBe(200);
    expect(implicitResponse.headers.connection).toBe("close");
    expect(implicitResponse.body).toBe("also");
    await stopping;
    expect(stopped).toBe(true);
  });

  it("closes what is left once its time is up", async () => {
    const server = appServer({ serveOAuth: () => false, handle: () => undefined });
    const port = await listen(server);
    const stuck = await connection(port);
    stuck.send("/never-answered");
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await closeGracefully(server, 300);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(await stuck.closed).toBe(true);
    expect(stuck.received()).toBe("");
  });
});

describe("listen: a server that cannot have its address says which setting to change", () => {
  async function taken(): Promise<{ port: number; holder: net.Server }> {
    const holder = net.createServer();
    holder.listen(0, "127.0.0.1");
    await once(holder, "listening");
    return { port: (holder.address() as AddressInfo).port, holder };
  }

  it("a port in use: the address, and the setting to change", async () => {
    const { port, holder } = await taken();
    try {
      const server = createServer();
      await expect(listenOn(server, port, "127.0.0.1", "PORT")).rejects.toThrow(
        new ListenFailure(`127.0.0.1:${port} is in use: stop what listens there, or set PORT to a free port.`),
      );
      expect(server.listening).toBe(false);
    } finally {
      holder.close();
    }
  });

  it("an address this machine does not have: HOSTNAME", async () => {
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): no machine has it.
    await expect(listenOn(createServer(), 0, "192.0.2.1", "METRICS_PORT")).rejects.toThrow(
      new ListenFailure("192.0.2.1:0: no address of this machine: check HOSTNAME (0.0.0.0 listens on every one)."),
    );
  });

  /** A server whose listen fails as the system would with `code` (root, as these tests run, may take any port). */
  function failingWith(code: string, message: string): net.Server {
    const server = net.createServer();
    server.listen = (() => {
      process.nextTick(() => server.emit("error", Object.assign(new Error(message), { code })));
      return server;
    }) as net.Server["listen"];
    return server;
  }

  it("a port that needs privileges: the setting, a port above 1023", async () => {
    await expect(listenOn(failingWith("EACCES", "listen EACCES: permission denied 0.0.0.0:443"), 443, "0.0.0.0", "PORT")).rejects.toThrow(
      new ListenFailure(
        "0.0.0.0:443 needs privileges this process does not have: set PORT to a port above 1023 (a load balancer or proxy can take 80 and 443).",
      ),
    );
  });

  it("any other failure: the address, both settings, and the system's own words", async () => {
    await expect(listenOn(failingWith("EMFILE", "listen EMFILE: too many open files"), 9464, "127.0.0.1", "METRICS_PORT")).rejects.toThrow(
      new ListenFailure("cannot listen on 127.0.0.1:9464 (METRICS_PORT, HOSTNAME): listen EMFILE: too many open files"),
    );
  });

  it("listens, and leaves no error listener behind", async () => {
    const server = createServer();
    servers.push(server);
    await listenOn(server, 0, "127.0.0.1", "PORT");
    expect(server.listening).toBe(true);
    expect(server.listenerCount("error")).toBe(0);
  });
});
