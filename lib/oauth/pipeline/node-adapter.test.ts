import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readUpTo, serveOAuth } from "@/lib/oauth/pipeline/node-adapter.ts";

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (!serveOAuth(req, res)) res.writeHead(418).end("next");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("the production server's direct route to the authorization server", () => {
  it("answers the token endpoint like the route handler, with the app's security headers once", async () => {
    const res = await fetch(`${base}/demo/default/oauth2/token`, {
      method: "POST",
      body: new URLSearchParams({ grant_type: "password", client_id: "demo-spa", username: "alice", password: "alice-password-1" }),
    });
    expect(res.status).toBe(200);
    expect((await res.json()).token_type).toBe("bearer");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it.each(["/.well-known/oauth-authorization-server/demo/default", "/.well-known/openid-configuration/demo/default"])(
    "serves discovery at RFC 8414's well-known form %s, like at the issuer's own path",
    async (path) => {
      const res = await fetch(`${base}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      const meta = await res.json();
      expect(meta).toEqual(await (await fetch(`${base}/demo/default/.well-known/openid-configuration`)).json());
      expect(meta.issuer).toBe("http://localhost:3000/demo/default");
    },
  );

  it.each(["/.well-known/oauth-authorization-server/demo", "/.well-known/oauth-authorization-server/demo/default/x", "/.well-known/jwks.json/demo/default"])(
    "leaves %s to Next",
    async (path) => {
      expect((await fetch(`${base}${path}`)).status).toBe(418);
    },
  );

  it("matches a route's path parameter as one whole segment", async () => {
    const res = await fetch(`${base}/demo/default/account/sessions/some%20id`, { method: "DELETE" });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(
      'Bearer realm="http://localhost:3000/demo/default", DPoP realm="http://localhost:3000/demo/default", algs="ES256 RS256 PS256 EdDSA"',
    );
    expect((await fetch(`${base}/demo/default/account/sessions/a/b`, { method: "DELETE" })).status).toBe(418);
    expect((await fetch(`${base}/demo/default/account/sessions/`, { method: "DELETE" })).status).toBe(418);
  });

  it("answers HEAD like GET without a body", async () => {
    const get = await fetch(`${base}/demo/default/.well-known/jwks.json`);
    const text = await get.text();
    expect(get.headers.get("content-length")).toBe(String(Buffer.byteLength(text)));
    const res = await fetch(`${base}/demo/default/.well-known/jwks.json`, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe(String(Buffer.byteLength(text)));
    expect(await res.text()).toBe("");
  });

  it("refuses an oversized body with 413", async () => {
    const res = await fetch(`${base}/demo/default/oauth2/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: `a=${"b".repeat(100_000)}`,
    });
    expect(res.status).toBe(413);
  });

  it("refuses a chunked body that grows past the limit with 413, and keeps serving", async () => {
    const chunk = new TextEncoder().encode("a".repeat(16 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 8) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await fetch(`${base}/demo/default/oauth2/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(res.headers.get("connection")).toBe("close");
    expect((await res.json()).error).toBe("invalid_request");
    expect((await fetch(`${base}/demo/default/.well-known/jwks.json`)).status).toBe(200);
  });

  it("reads a form that arrives in pieces", async () => {
    const { port } = server.address() as AddressInfo;
    const socket = connect(port, "127.0.0.1");
    await once(socket, "connect");
    const body = "grant_type=password&client_id=demo-spa&username=alice&password=wrong-password";
    socket.write(
      `POST /demo/default/oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 30)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.write(body.slice(30));
    let answer = "";
    for await (const chunk of socket) answer += String(chunk);
    // The whole form was read: the grant judged the password (a piece alone lacks one).
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4))).toMatchObject({ error: "invalid_grant" });
  });

  it("answers (to no one) a request whose client goes away mid-upload, and keeps serving", async () => {
    const responses: ServerResponse[] = [];
    const own = createServer((req, res) => {
      responses.push(res);
      serveOAuth(req, res);
    });
    await new Promise<void>((resolve) => own.listen(0, "127.0.0.1", resolve));
    const { port } = own.address() as AddressInfo;
    try {
      const socket = connect(port, "127.0.0.1");
      await once(socket, "connect");
      socket.write(
        "POST /demo/default/oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ngrant_type=pass",
      );
      const started = Date.now();
      while (responses.length === 0 && Date.now() - started < 5000) await new Promise((resolve) => setTimeout(resolve, 10));
      socket.destroy();
      // Its handler ends (the body could not be read): nothing is left waiting for an upload that never comes.
      while (!responses[0]?.writableEnded && Date.now() - started < 5000) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(responses[0]?.writableEnded).toBe(true);
      const res = await fetch(`http://127.0.0.1:${port}/demo/default/.well-known/jwks.json`);
      expect(res.status).toBe(200);
    } finally {
      own.closeAllConnections();
      await new Promise<void>((resolve) => own.close(() => resolve()));
    }
  });

  it("answers a malformed escape in the path with 404 JSON, not a fault", async () => {
    const res = await fetch(`${base}/%E0%A4%A/default/oauth2/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "grant_type=password",
    });
    expect(res.status).toBe(404);
    expect((await res.json()).error).toBe("not_found");
  });

  it("answers a CORS preflight from an allowed origin", async () => {
    const res = await fetch(`${base}/demo/default/oauth2/token`, {
      method: "OPTIONS",
      headers: { Origin: "http://localhost:5173", "Access-Control-Request-Method": "POST" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(res.headers.get("vary")).toBe("Origin");
  });

  it("leaves every other path to Next", async () => {
    for (const path of ["/login", "/account", "/demo/default/oauth2", "/demo/default/oauth2/token/x", "/api/auth/session"]) {
      expect((await fetch(`${base}${path}`)).status).toBe(418);
    }
  });
});

describe("readUpTo (a request's body by Node's events)", () => {
  /** A server whose handler is `handle`, for one test; answers what the handler answers. */
  async function withServer(handle: (req: IncomingMessage) => Promise<unknown>, request: (url: string) => Promise<unknown>) {
    const own = createServer((req, res) => {
      handle(req).then(
        (value) => res.writeHead(200).end(JSON.stringify(value)),
        (err: Error) => res.writeHead(500).end(JSON.stringify({ error: err.message })),
      );
    });
    await new Promise<void>((resolve) => own.listen(0, "127.0.0.1", resolve));
    try {
      return await request(`http://127.0.0.1:${(own.address() as AddressInfo).port}/`);
    } finally {
      own.closeAllConnections();
      await new Promise<void>((resolve) => own.close(() => resolve()));
    }
  }

  it("reads a body once: a second read finds it ended and gets nothing, at once", async () => {
    const answer = await withServer(
      async (req) => {
        const first = await readUpTo(req, 100);
        const second = await readUpTo(req, 100);
        return [first?.toString(), second?.length];
      },
      async (url) => (await fetch(url, { method: "POST", body: "token=abc" })).json(),
    );
    expect(answer).toEqual(["token=abc", 0]);
  });

  it("stops at the limit with null, and refuses a request closed before it was read", async () => {
    let seen: Promise<unknown> | undefined;
    await withServer(
      (req) => {
        seen = (async () => {
          const over = await readUpTo(req, 4);
          req.destroy();
          const gone = await readUpTo(req, 100).then(
            () => "read",
            (err: Error) => err.message,
          );
          return [over, gone];
        })();
        return seen;
      },
      // The connection dies with the request: the client sees an error, the handler its reads.
      (url) => fetch(url, { method: "POST", body: "token=abc" }).catch(() => undefined),
    );
    expect(await seen).toEqual([null, "the request closed before its body was read"]);
  });
});
