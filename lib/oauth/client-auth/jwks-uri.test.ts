import dns from "node:dns/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { addClient } from "@/lib/admin/clients.ts";
import { AdminError } from "@/lib/admin/errors.ts";
import { clientJwksUri } from "@/lib/admin/values.ts";
import { ASSERTION_TYPE } from "@/lib/oauth/client-auth/jwt-assertion.ts";
import { fetchJwks, isPublicAddress } from "@/lib/oauth/client-auth/jwks-uri.ts";
import { ISSUER, postToken } from "@/lib/testing/oauth.ts";
import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";

// private_key_jwt with keys the server fetches from the client's jwks_uri, and the SSRF rules of
// that fetch. Outside production a local http server may serve them (as here).

let server: Server;
let base: string;
let privateKey: CryptoKey;
let jwks: unknown;
const served: string[] = [];
let flakyDown = false;
// What each /served/{name} URL answers now: the key set, the rotated set (the old key and a new one), a 503, or a malformed set.
const modes: Record<string, "keys" | "rotated" | "down" | "malformed"> = {};
let rotated: { privateKey: CryptoKey; jwks: unknown };

beforeAll(async () => {
  const pair = await generateKeyPair("ES256", { extractable: true });
  privateKey = pair.privateKey;
  jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: "remote-1", use: "sig" }] };
  const next = await generateKeyPair("ES256", { extractable: true });
  rotated = {
    privateKey: next.privateKey,
    jwks: { keys: [...(jwks as { keys: unknown[] }).keys, { ...(await exportJWK(next.publicKey)), kid: "rotated-2", use: "sig" }] },
  };
  server = createServer((req, res) => {
    served.push(req.url ?? "");
    if (req.url === "/jwks") return void res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(jwks));
    const mode = req.url?.startsWith("/served/") ? modes[req.url.slice("/served/".length)] : undefined;
    if (mode === "down") return void res.writeHead(503).end();
    if (mode === "malformed") return void res.writeHead(200).end(JSON.stringify({ keys: ["x"] }));
    if (mode === "keys") return void res.writeHead(200).end(JSON.stringify(jwks));
    if (mode === "rotated") return void res.writeHead(200).end(JSON.stringify(rotated.jwks));
    if (req.url === "/flaky") return void (flakyDown ? res.writeHead(503).end() : res.writeHead(200).end(JSON.stringify(jwks)));
    if (req.url?.startsWith("/set?")) return void res.writeHead(200).end(new URL(req.url, "http://x").searchParams.get("json"));
    if (req.url === "/huge") return void res.writeHead(200).end(JSON.stringify({ keys: [], pad: "x".repeat(100_000) }));
    if (req.url === "/redirect") return void res.writeHead(302, { Location: "/jwks" }).end();
    if (req.url === "/slow") return; // never answers
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const [clientId, path] of [
    ["remote-keys", "/jwks"],
    ["remote-huge", "/huge"],
    ["remote-redirect", "/redirect"],
    ["remote-missing", "/missing"],
    ["remote-failing", "/failing"],
    ["remote-flaky", "/flaky"],
    ...["stale", "rotating", "malformed", "locking"].map((name) => [`remote-${name}`, `/served/${name}`]),
  ]) {
    await addClient({
      workspace: "demo/default",
      clientId: clientId!,
      grants: ["client_credentials"],
      scopes: ["introspect_tokens"],
      authMethods: ["private_key_jwt"],
      jwksUri: `${base}${path}`,
    });
  }
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function tokenRequest(clientId: string, kid = "remote-1") {
  const now = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({ iss: clientId, sub: clientId, aud: ISSUER, exp: now + 60, jti: crypto.randomUUID() })
    .setProtectedHeader({ alg: "ES256", kid })
    .sign(kid === "rotated-2" ? rotated.privateKey : privateKey);
  return postToken({ grant_type: "client_credentials", client_assertion_type: ASSERTION_TYPE, client_assertion: assertion });
}

describe("private_key_jwt with a jwks_uri", () => {
  it("fetches the client's keys once and authenticates with them", async () => {
    served.length = 0;
    expect((await tokenRequest("remote-keys")).status).toBe(200);
    expect((await tokenRequest("remote-keys")).status).toBe(200);
    expect(served.filter((u) => u === "/jwks")).toHaveLength(1);
  });

  it.each([
    ["an answer over 64 KiB", "remote-huge"],
    ["a redirect (never followed)", "remote-redirect"],
    ["a 404", "remote-missing"],
  ])("refuses the client when its jwks_uri gives %s: 401 invalid_client", async (_name, clientId) => {
    const res = await tokenRequest(clientId);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "invalid_client", error_description: "client authentication failed" });
  });

  it("keeps the keys it has when fetching again for an unknown kid fails", async () => {
    served.length = 0;
    expect((await tokenRequest("remote-flaky")).status).toBe(200);
    flakyDown = true;
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      // A minute on, a kid the copy lacks asks the client's server again, which fails now.
      vi.setSystemTime(Date.now() + 61_000);
      expect((await tokenRequest("remote-flaky", "rotated-2")).status).toBe(401);
      expect(served.filter((u) => u === "/flaky")).toHaveLength(2);
      // The client's own key still works; the server is not asked again within the minute.
      expect((await tokenRequest("remote-flaky")).status).toBe(200);
      expect((await tokenRequest("remote-flaky", "rotated-2")).status).toBe(401);
      expect(served.filter((u) => u === "/flaky")).toHaveLength(2);
    } finally {
      flakyDown = false;
      vi.useRealTimers();
    }
  });

  describe("as time goes by (the clock moved, Date only)", () => {
    const count = (name: string) => served.filter((u) => u === `/served/${name}`).length;
    const later = (ms: number) => vi.setSystemTime(Date.now() + ms);
    beforeEach(() => {
      served.length = 0;
      vi.useFakeTimers({ toFake: ["Date"] });
    });
    afterEach(() => vi.useRealTimers());

    it("takes a rotated key once a minute has passed, with one fetch for the requests that wait for it", async () => {
      modes.rotating = "keys";
      expect((await tokenRequest("remote-rotating")).status).toBe(200);
      modes.rotating = "rotated";
      expect((await tokenRequest("remote-rotating", "rotated-2")).status).toBe(401);
      later(61_000);
      const statuses = await Promise.all([tokenRequest("remote-rotating", "rotated-2"), tokenRequest("remote-rotating", "rotated-2")]);
      expect(statuses.map((r) => r.status)).toEqual([200, 200]);
      expect(count("rotating")).toBe(2);
    });

    it("never counts a new kid its copy lacks as a wrong key while that copy cannot be fetched again yet (OIDC Core §10.1.1)", async () => {
      modes.locking = "keys";
      expect((await tokenRequest("remote-locking")).status).toBe(200);
      // The client rotates and signs with its new key at once: until the copy may be fetched
      // again, each is refused, and none of them counts towards the client's lockout.
      modes.locking = "rotated";
      for (let i = 0; i < settings().LOCKOUT_USER_IP_LIMIT + 1; i += 1) {
        const res = await tokenRequest("remote-locking", "rotated-2");
        expect(res.status).toBe(401);
        expect(await res.json()).toEqual({ error: "invalid_client", error_description: "client authentication failed" });
      }
      expect(await db().failedLogin.count({ where: { username: "remote-locking" } })).toBe(0);
      later(61_000);
      expect((await tokenRequest("remote-locking", "rotated-2")).status).toBe(200);
      expect(count("locking")).toBe(2);
    });

    it("serves the old copy while the client's server fails, up to 5 minutes past its age", async () => {
      modes.stale = "keys";
      expect((await tokenRequest("remote-stale")).status).toBe(200);
      modes.stale = "down";
      later(5 * 60_000 + 1_000);
      expect((await tokenRequest("remote-stale")).status).toBe(200);
      expect((await tokenRequest("remote-stale")).status).toBe(200);
      later(5 * 60_000);
      expect((await tokenRequest("remote-stale")).status).toBe(401);
      expect(count("stale")).toBe(3);
    });

    it("takes a malformed set fetched again for a kid as a failure: the copy stays, nothing is left unhandled", async () => {
      modes.malformed = "keys";
      expect((await tokenRequest("remote-malformed")).status).toBe(200);
      modes.malformed = "malformed";
      later(61_000);
      expect((await tokenRequest("remote-malformed", "rotated-2")).status).toBe(401);
      expect((await tokenRequest("remote-malformed")).status).toBe(200);
      expect(count("malformed")).toBe(2);
    });
  });

  it("asks a failing jwks_uri again only after 30 s, however many requests name it meanwhile", async () => {
    served.length = 0;
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await tokenRequest("remote-failing")).status);
    expect(statuses).toEqual([401, 401, 401]);
    expect(served.filter((u) => u === "/failing")).toHaveLength(1);
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + 29_000);
      expect((await tokenRequest("remote-failing")).status).toBe(401);
      expect(served.filter((u) => u === "/failing")).toHaveLength(1);
      vi.setSystemTime(Date.now() + 2_000);
      expect((await tokenRequest("remote-failing")).status).toBe(401);
      expect(served.filter((u) => u === "/failing")).toHaveLength(2);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("the SSRF rules of the fetch", () => {
  const production = { production: true, timeoutMs: 3000, maxBytes: 65536 };

  it.each([
    ["127.0.0.1", false],
    ["10.1.2.3", false],
    ["172.16.0.1", false],
    ["192.168.1.1", false],
    ["169.254.169.254", false],
    ["100.64.0.1", false],
    ["0.0.0.0", false],
    ["::1", false],
    ["::", false],
    ["fc00::1", false],
    ["fe80::1", false],
    ["::ffff:127.0.0.1", false],
    ["::7f00:1 (IPv4-compatible 127.0.0.1)", false],
    ["::a9fe:a9fe (IPv4-compatible 169.254.169.254)", false],
    ["::ffff:0:7f00:1 (SIIT)", false],
    ["64:ff9b::7f00:1 (NAT64)", false],
    ["64:ff9b:1::7f00:1 (local-use NAT64)", false],
    ["2002:7f00:1::1 (6to4)", false],
    ["2001:0:4136:e378:8000:63bf:3fff:fdd2 (Teredo)", false],
    ["192.0.2.1 (documentation)", false],
    ["198.51.100.1 (documentation)", false],
    ["203.0.113.1 (documentation)", false],
    ["2001:db8::1 (documentation)", false],
    ["100::1 (discard-only)", false],
    ["fec0::1 (site-local, deprecated)", false],
    ["3fff::1 (documentation, RFC 9637)", false],
    ["2001:2::1 (benchmarking)", false],
    ["2001:10::1 (ORCHID, deprecated)", false],
    ["not an address", false],
    ["93.184.216.34", true],
    ["2606:2800:220:1:248:1893:25c8:1946", true],
  ])("%s is public: %s", (address, expected) => {
    expect(isPublicAddress(address.split(" ")[0]!)).toBe(expected);
  });

  it.each([
    ["http in production", "http://93.184.216.34/jwks", "jwks_uri must be https"],
    ["a loopback address", "https://127.0.0.1/jwks", "jwks_uri resolves to an internal address"],
    ["a name that resolves to loopback", "https://localhost/jwks", "jwks_uri resolves to an internal address"],
    ["the cloud metadata address", "https://169.254.169.254/latest", "jwks_uri resolves to an internal address"],
    ["an IPv6 private address", "https://[fd00::1]/jwks", "jwks_uri resolves to an internal address"],
    ["another scheme", "file:///etc/passwd", "jwks_uri must be https"],
  ])("refuses %s in production, before connecting", async (_name, uri, message) => {
    await expect(fetchJwks(uri, production)).rejects.toThrow(message);
  });

  // Held to what a registered set is held to where it concerns what is verified with (clientJwks).
  it.each([
    ["a private key", { kty: "EC", crv: "P-256", x: "x", y: "y", d: "d" }, "jwks_uri publishes a private or symmetric key"],
    ["a symmetric key", { kty: "oct", k: "c2VjcmV0" }, "jwks_uri publishes a private or symmetric key"],
    [
      "an RSA key of over 4096 bits",
      { kty: "RSA", n: Buffer.alloc(513, 0xc5).toString("base64url"), e: "AQAB" },
      "jwks_uri answer refused: an RSA key may have at most 4096 bits",
    ],
    [
      "an RSA key with an exponent of 2^32 or more",
      { kty: "RSA", n: Buffer.alloc(256, 0xc5).toString("base64url"), e: "AQAAAAE" },
      "jwks_uri answer refused: an RSA exponent must be under 2^32 (65537, as every library makes it)",
    ],
    ["a key that is no object", "x", "jwks_uri answer is not a JWK Set"],
  ])("refuses a set with %s, whatever keys come with it", async (_name, key, message) => {
    const set = JSON.stringify({ keys: [...(jwks as { keys: unknown[] }).keys, key] });
    await expect(fetchJwks(`${base}/set?json=${encodeURIComponent(set)}`, { production: false, timeoutMs: 3000, maxBytes: 65536 })).rejects.toThrow(message);
  });

  it("takes a set of public keys within those bounds", async () => {
    const rsa = { kty: "RSA", n: Buffer.alloc(512, 0xc5).toString("base64url"), e: "AQAB" };
    const set = { keys: [...(jwks as { keys: unknown[] }).keys, rsa] };
    expect(await fetchJwks(`${base}/set?json=${encodeURIComponent(JSON.stringify(set))}`, { production: false, timeoutMs: 3000, maxBytes: 65536 })).toEqual(
      set,
    );
  });

  it("gives up on a server that does not answer within the time allowed", async () => {
    const started = Date.now();
    await expect(fetchJwks(`${base}/slow`, { production: false, timeoutMs: 300, maxBytes: 65536 })).rejects.toThrow("jwks_uri timed out");
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("counts the name's lookup in the time allowed: a resolver that does not answer is given up on too", async () => {
    const never = () => new Promise<never>(() => undefined);
    const spies = [
      vi.spyOn(dns.Resolver.prototype, "resolve4").mockImplementation(never),
      vi.spyOn(dns.Resolver.prototype, "resolve6").mockImplementation(never),
    ];
    try {
      const started = Date.now();
      await expect(fetchJwks("https://slow-resolver.example/jwks", { production: false, timeoutMs: 300, maxBytes: 65536 })).rejects.toThrow(
        "jwks_uri timed out",
      );
      expect(Date.now() - started).toBeLessThan(2000);
      for (const spy of spies) expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });

  it("in production, asks the DNS itself, off the thread pool that hashes passwords: a name whose servers do not answer never reaches the system's resolver", async () => {
    // getaddrinfo holds one of libuv's threads until the system's resolver gives up (often 10 s
    // or more), whatever the time allowed here: a client could change its jwks_uri to such names
    // until no thread was left for argon2.
    const timedOut = () => Promise.reject(Object.assign(new Error("queryA ETIMEOUT"), { code: "ETIMEOUT" }));
    const spies = [
      vi.spyOn(dns.Resolver.prototype, "resolve4").mockImplementation(timedOut),
      vi.spyOn(dns.Resolver.prototype, "resolve6").mockImplementation(timedOut),
    ];
    const lookup = vi.spyOn(dns, "lookup");
    try {
      await expect(fetchJwks("https://slow-ns.example/jwks", { production: true, timeoutMs: 300, maxBytes: 65536 })).rejects.toThrow(
        "jwks_uri host does not resolve",
      );
      expect(lookup).not.toHaveBeenCalled();
    } finally {
      for (const spy of [...spies, lookup]) spy.mockRestore();
    }
  });

  it("in production, never hands a name outside this machine's network to the system's resolver, even one the DNS said it does not know (its servers may not answer the next time)", async () => {
    const lookup = vi.spyOn(dns, "lookup");
    const unknown = () => Promise.reject(Object.assign(new Error("queryA ENOTFOUND"), { code: "ENOTFOUND" }));
    const spies = [
      vi.spyOn(dns.Resolver.prototype, "resolve4").mockImplementation(unknown),
      vi.spyOn(dns.Resolver.prototype, "resolve6").mockImplementation(unknown),
    ];
    try {
      await expect(fetchJwks("https://flaky-ns.example/jwks", { production: true, timeoutMs: 300, maxBytes: 65536 })).rejects.toThrow(
        "jwks_uri host does not resolve",
      );
      expect(lookup).not.toHaveBeenCalled();
    } finally {
      for (const spy of [...spies, lookup]) spy.mockRestore();
    }
  });

  it("looks a name the DNS does not know up as the system does (the hosts file: localhost), within the time allowed", async () => {
    const lookup = vi.spyOn(dns, "lookup");
    try {
      await expect(
        fetchJwks(`${base.replace("127.0.0.1", "localhost")}/set?json=${encodeURIComponent(JSON.stringify(jwks))}`, {
          production: false,
          timeoutMs: 3000,
          maxBytes: 65536,
        }),
      ).resolves.toEqual(jwks);
      expect(lookup).toHaveBeenCalledTimes(1);
    } finally {
      lookup.mockRestore();
    }
  });

  it("registers only an https jwks_uri in production (http for local development)", () => {
    expect(clientJwksUri("https://client.example/jwks.json", true)).toBe("https://client.example/jwks.json");
    expect(() => clientJwksUri("http://client.example/jwks.json", true)).toThrow(AdminError);
    expect(clientJwksUri("http://127.0.0.1:8080/jwks", false)).toBe("http://127.0.0.1:8080/jwks");
    expect(() => clientJwksUri("https://user:pw@client.example/jwks", true)).toThrow(AdminError);
    expect(() => clientJwksUri("jwks.json", true)).toThrow(AdminError);
  });
});
