// The proxy's cookie writes when the app is served over https, where the session cookie's name
// carries the `__Secure-` prefix (lib/login/session-check.test.ts covers the proxy over http).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { NextRequest } from "next/server";
import { inProcessFetch } from "@/lib/testing/oauth.ts";
import { loginProxy } from "@/lib/login/proxy.ts";
import { encodeSession, sessionCookieName } from "@/lib/login/session.ts";
import { clearSessionChecks } from "@/lib/login/session-check.ts";
import { passwordSignIn, revokeRefreshToken, setFetchForTests, type SessionTokens } from "@/lib/login/token-client.ts";

// Before anything reads the settings (they are read once): this file's app is served over https.
vi.hoisted(() => {
  process.env.APP_URL = "https://login.example.com";
});

beforeEach(() => {
  clearSessionChecks();
  setFetchForTests(inProcessFetch);
});
afterEach(() => setFetchForTests(undefined));

const APP = "https://login.example.com";
const name = sessionCookieName();

async function signedIn(): Promise<SessionTokens> {
  return (await passwordSignIn("alice", "alice-password-1")).tokens;
}

/** The request's cookie header: the session whole, or split by hand into next-auth's chunks. */
async function cookieOf(tokens: SessionTokens, chunks = 1): Promise<string> {
  const value = await encodeSession({ name: "Alice Example", tokens });
  if (chunks === 1) return `${name}=${value}`;
  const size = Math.ceil(value.length / chunks);
  return Array.from({ length: chunks }, (_, i) => `${name}.${i}=${value.slice(i * size, (i + 1) * size)}`).join("; ");
}

/** The Set-Cookie headers that delete `cookie` (an empty value, expired). */
const deletions = (res: Response, cookie: string) =>
  res.headers.getSetCookie().filter((header) => header.startsWith(`${cookie}=;`) && /Max-Age=0|Expires=Thu, 01 Jan 1970/.test(header));

describe("the proxy over https", () => {
  it("names the session cookie with the __Secure- prefix", () => {
    expect(name).toBe("__Secure-next-auth.session-token");
  });

  it("deletes the cookie of an ended session with Secure, which a browser needs to delete a __Secure- cookie", async () => {
    const tokens = await signedIn();
    await revokeRefreshToken(tokens.refreshToken!);
    const res = await loginProxy(new NextRequest(`${APP}/account`, { headers: { cookie: await cookieOf(tokens) } }));
    expect(res.status).toBe(307);
    expect(res.headers.get("location")).toBe(`${APP}/login?reason=expired`);
    const [deletion, ...more] = deletions(res, name);
    expect(more).toEqual([]);
    expect(deletion).toMatch(/; Secure(;|$)/i);
    expect(deletion).toMatch(/; Path=\/(;|$)/);
  });

  it("deletes a refreshed session's old chunks with Secure when the new value is written whole", async () => {
    const tokens = await signedIn();
    const due = { ...tokens, expiresAt: Date.now() + 1000 };
    const res = await loginProxy(new NextRequest(`${APP}/account`, { headers: { cookie: await cookieOf(due, 2) } }));
    expect(res.headers.get("x-middleware-next")).toBe("1");
    const written = res.headers.getSetCookie();
    const whole = written.filter((header) => header.startsWith(`${name}=`) && !header.startsWith(`${name}=;`));
    expect(whole).toHaveLength(1);
    expect(whole[0]).toMatch(/; Secure(;|$)/i);
    for (const chunk of [`${name}.0`, `${name}.1`]) {
      const [deletion, ...more] = deletions(res, chunk);
      expect(more).toEqual([]);
      expect(deletion).toMatch(/; Secure(;|$)/i);
    }
  });
});
