import { decodeJwt } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ALICE, postToken, SPA } from "@/lib/testing/oauth.ts";

// Times are stored as seconds since 1970 where a token carries them (auth_time). In a 32-bit
// column they would end on 2038-01-19; every sign-in after that would fail. That is PostgreSQL's
// `integer`: this test tells on `npm run test:pg` (SQLite's integers are 64 bits anyway).

afterEach(() => {
  vi.useRealTimers();
});

describe("after 2038-01-19 (2^31 seconds since 1970)", () => {
  it("signs in and refreshes, and auth_time is that time", async () => {
    const at = Date.UTC(2040, 0, 1);
    vi.useFakeTimers({ toFake: ["Date"], now: at });
    const res = await postToken({ grant_type: "password", ...SPA, ...ALICE, scope: "openid offline_access" });
    expect(res.status).toBe(200);
    const tokens = await res.json();
    expect(decodeJwt(tokens.id_token).auth_time).toBe(at / 1000);
    vi.setSystemTime(at + 60_000);
    const refreshed = await postToken({ grant_type: "refresh_token", ...SPA, refresh_token: tokens.refresh_token });
    expect(refreshed.status).toBe(200);
    expect(decodeJwt((await refreshed.json()).id_token).auth_time).toBe(at / 1000);
  });
});
