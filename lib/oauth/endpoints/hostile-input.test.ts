import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import { routes } from "@/lib/oauth/routes.ts";
import { serveOAuth } from "@/lib/oauth/pipeline/node-adapter.ts";
import type { WorkspaceRoute } from "@/lib/oauth/routes.ts";
import { forgedTokens } from "@/lib/testing/forged.ts";
import { hostileRequests, HOSTILE_URL } from "@/lib/testing/hostile.ts";
import { codeAt, DAVE, DAVE_SECRET, MFA_OTP, mfaTokenFor } from "@/lib/testing/mfa.ts";
import { BACKEND_BASIC, getJwks, postToken, routeContext, SERVICE_BASIC, SPA } from "@/lib/testing/oauth.ts";

// At least 1,000 generated malformed requests per endpoint in `npm test`;
// `npm run test:hostile` runs 20,000 per endpoint.
const SIZE = Number(process.env.HOSTILE_CORPUS_SIZE ?? 1000);

const ENDPOINTS: Array<[string, WorkspaceRoute, string[]]> = [
  ["/oauth2/token", routes.token, ["POST"]],
  ["/oauth2/revoke", routes.revocation, ["POST"]],
  ["/oauth2/introspect", routes.introspection, ["POST"]],
  ["/userinfo", routes.userinfo, ["GET", "POST"]],
  ["/.well-known/openid-configuration", routes.discovery, ["GET"]],
  ["/.well-known/jwks.json", routes.jwks, ["GET"]],
  ["/mfa/authenticators", routes.mfaAuthenticators, ["GET"]],
  ["/mfa/associate", routes.mfaAssociate, ["POST"]],
  ["/mfa/confirm", routes.mfaConfirm, ["POST"]],
  ["/mfa/remove", routes.mfaRemove, ["POST"]],
  ["/mfa/recovery-codes", routes.mfaRecoveryCodes, ["POST"]],
  ["/oauth2/register", routes.registration, ["POST", "GET", "PUT", "DELETE"]],
];

async function stored() {
  const d = db();
  return Promise.all([
    d.refreshToken.count(),
    d.revokedAccessToken.count(),
    d.user.count(),
    d.client.count(),
    d.signingKey.count(),
    d.workspace.count(),
    d.tenant.count(),
    d.mfaFactor.count(),
    d.mfaFactor.count({ where: { confirmedAt: null } }),
    d.mfaRecoveryCode.count(),
  ]);
}

let forged: string[];
// Real bearers for the second factor, so that garbage also reaches what lies behind them: dave's
// mfa_tokens (of a public and of a confidential client) and his access token. He has a confirmed
// factor, so nothing the corpus sends can enrol him; none of it carries a right code or password.
// And demo-service's initial access token, so that garbage reaches the registration's metadata checks.
let real: { mfaTokens: string[]; accessToken: string; initialAccessToken: string };
let before: number[];
// The production server's own path to the endpoints (lib/oauth/pipeline/node-adapter.ts), beside Next's.
let server: Server;
let base: string;

beforeAll(async () => {
  // The real limits: past them the corpus's credential guesses are refused without hashing.
  vi.spyOn(settings(), "LOCKOUT_USER_IP_LIMIT", "get").mockReturnValue(5);
  vi.spyOn(settings(), "LOCKOUT_IP_LIMIT", "get").mockReturnValue(50);
  const { keys } = (await (await getJwks()).json()) as { keys: JWK[] };
  forged = Object.values(await forgedTokens(keys.find((k) => k.alg === "ES256")!));
  const mfaTokens = [await mfaTokenFor(), await mfaTokenFor({ ...DAVE }, BACKEND_BASIC)];
  const signedIn = await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: await mfaTokenFor(), otp: codeAt(DAVE_SECRET) });
  expect(signedIn.status).toBe(200);
  const service = await postToken({ grant_type: "client_credentials", scope: "register_clients" }, SERVICE_BASIC);
  expect(service.status).toBe(200);
  real = {
    mfaTokens,
    accessToken: ((await signedIn.json()) as { access_token: string }).access_token,
    initialAccessToken: ((await service.json()) as { access_token: string }).access_token,
  };
  before = await stored();
  server = createServer((req, res) => {
    if (!serveOAuth(req, res)) res.writeHead(418).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  expect(await stored()).toEqual(before);
  vi.restoreAllMocks();
});

/** A corpus per endpoint: its seed from its whole path (FNV-1a), not just its length. */
function seedOf(path: string): number {
  let h = 0x811c9dc5;
  for (const c of path) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

type Send = (route: WorkspaceRoute, path: string, request: Request) => Promise<Response>;
const TRANSPORTS: Array<[string, Send]> = [
  ["the route handlers (Next)", (route, _path, request) => route[request.method as "GET" | "POST"](request, routeContext())],
  [
    "the production server (node:http)",
    async (_route, path, request) => {
      // Over a socket a false Content-Length would only split or stall the request: HTTP frames it.
      const headers = new Headers(request.headers);
      headers.delete("content-length");
      const body = request.body ? await request.arrayBuffer() : undefined;
      return fetch(`${base}/demo/default${path}`, { method: request.method, headers, body });
    },
  ],
];

describe.each(TRANSPORTS)("through %s", (_transport, send) => {
  describe.each(ENDPOINTS)("hostile input at %s", (path, route, allowed) => {
    it(`never answers ${SIZE} malformed requests with a 5xx, always with RFC-shaped JSON, storing nothing`, async () => {
      // The token endpoint also gets live mfa_tokens (its MFA grants); the /mfa endpoints those and
      // a live access token as bearers. Elsewhere a real token could do real work (a revocation).
      const tokens =
        path === "/oauth2/token"
          ? [...forged, ...real.mfaTokens]
          : path.startsWith("/mfa/")
            ? [...forged, ...real.mfaTokens, real.accessToken]
            : path === "/oauth2/register"
              ? [...forged, real.initialAccessToken]
              : forged;
      const corpus = hostileRequests(SIZE, seedOf(path), tokens, allowed);
      const seen = new Map<number, number>();
      const errors = new Map<string, number>();
      for (const req of corpus) {
        const request = new Request(HOSTILE_URL(path), {
          method: req.method,
          headers: req.headers,
          body: req.method === "GET" || req.method === "HEAD" ? undefined : req.body,
        });
        const res = await send(route, path, request);
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        const text = await res.text();
        const context = `${req.label} ${req.method} -> ${res.status} ${text.slice(0, 200)}`;
        expect(res.status, context).toBeLessThan(500);
        if (res.status >= 400 && text !== "") {
          const body = JSON.parse(text);
          const key = `${res.status} ${body.error} ${body.error_description}`;
          errors.set(key, (errors.get(key) ?? 0) + 1);
          expect(typeof body.error, context).toBe("string");
          expect(res.headers.get("content-type"), context).toBe("application/json;charset=UTF-8");
        }
        if (text === "") {
          // Only RFC 7009's 200 and RFC 6750's bare challenge (or a preflight) may be empty.
          expect([200, 204, 401], context).toContain(res.status);
        }
        if (res.status === 200 && path === "/oauth2/introspect") expect(JSON.parse(text), context).toEqual({ active: false });
        expect(text, context).not.toMatch(/at .*\.ts:\d+|Error:|prisma|sqlite/i);
      }
      expect([...seen.values()].reduce((a, b) => a + b, 0)).toBe(SIZE);
      // The live bearers got the garbage past the bearer check, to what lies behind it.
      if (path === "/mfa/authenticators") expect(seen.get(200), "a listing for a live bearer").toBeGreaterThan(0);
      else if (path === "/mfa/associate")
        expect(
          [...errors.keys()].some((k) => k.includes("authenticator_types must be")),
          "a list checked",
        ).toBe(true);
      else if (path.startsWith("/mfa/")) expect(seen.get(403), "an mfa_token refused where an access token is needed").toBeGreaterThan(0);
      if (path === "/oauth2/register") expect(seen.get(400), "metadata refused for a live initial access token").toBeGreaterThan(0);
      if (path === "/oauth2/token") expect(errors.has("400 invalid_grant the mfa_token is invalid or expired"), "an MFA grant reached").toBe(true);
    });
  });
});
