import { afterEach, describe, expect, it, vi } from "vitest";
import { setBranding } from "@/lib/admin/branding.ts";
import { inProcessFetch } from "@/lib/testing/oauth.ts";
import { currentBranding, logoResponse, pageBranding } from "@/lib/login/branding.ts";
import { setFetchForTests } from "@/lib/login/token-client.ts";
import { clearCaches } from "@/lib/platform/caches.ts";
import { settings } from "@/lib/platform/env.ts";
import { logger } from "@/lib/platform/logger.ts";

const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);

afterEach(() => {
  setFetchForTests(undefined);
  vi.unstubAllGlobals();
  clearCaches();
});

describe("the login app's branding", () => {
  it("is the issuer's branding document, read over HTTP, with the logo served from this app", async () => {
    await setBranding("demo/default", { name: "Acme", accent: "#0f766e", logoImage: PNG, termsUrl: "https://example.com/terms" });
    setFetchForTests(inProcessFetch);
    const branding = await currentBranding();
    expect(branding).toEqual({
      name: "Acme",
      accent: "#0f766e",
      logoSrc: expect.stringMatching(/^\/login\/logo\?v=[\w-]{12}$/),
      links: [{ label: "Terms", href: "https://example.com/terms" }],
    });
    const logo = await logoResponse();
    expect(logo.status).toBe(200);
    expect(Object.fromEntries(logo.headers)).toMatchObject({
      "content-type": "image/png",
      "x-content-type-options": "nosniff",
      "content-security-policy": "default-src 'none'; sandbox",
    });
    expect(new Uint8Array(await logo.arrayBuffer())).toEqual(PNG);
  });

  it("is the default look when the issuer has none, or cannot be reached, and no logo is served", async () => {
    setFetchForTests(async () => new Response("Not found", { status: 404 }));
    expect(await currentBranding()).toEqual({ links: [] });
    expect((await logoResponse()).status).toBe(404);
    clearCaches();
    setFetchForTests(async () => {
      throw new TypeError("fetch failed");
    });
    expect(await currentBranding()).toEqual({ links: [] });
  });

  it.each([
    [{ name: 5, accent_color: "red", logo_uri: "javascript:alert(1)", help_uri: "javascript:alert(1)" }, { links: [] }],
    [{ logo_uri: "data:image/svg+xml;base64,PHN2Zz4=" }, { links: [] }],
    [{ name: "x".repeat(81), tos_uri: "ftp://example.com/terms" }, { links: [] }],
    [null, { links: [] }],
    [
      { name: " Acme ", accent_color: "#0F766E", policy_uri: "https://example.com/privacy" },
      { name: "Acme", accent: "#0F766E", links: [{ label: "Privacy", href: "https://example.com/privacy" }] },
    ],
  ])("keeps only what is well formed of %j", (document, page) => {
    expect(pageBranding(document).page).toEqual(page);
  });
});

describe("addresses in production", () => {
  /**
   * A production login app's page, and the logo `GET /login/logo` serves, when the issuer's
   * branding is `document`; the logo fetched from a stand-in web that answers `landsAt` (the address
   * after redirects) with the PNG. With the addresses the app asked it for, and what it logged.
   */
  async function production(document: Record<string, string>, landsAt = document.logo_uri) {
    const asked: string[] = [];
    const errors = vi.spyOn(logger, "error").mockImplementation(() => undefined);
    setFetchForTests(async () => Response.json(document));
    vi.stubGlobal("fetch", async (url: string) => {
      asked.push(String(url));
      const response = new Response(PNG, { headers: { "Content-Type": "image/png" } });
      Object.defineProperty(response, "url", { value: landsAt });
      return response;
    });
    const s = settings();
    const original = { isProduction: s.isProduction, NEXTAUTH_SECRET: s.NEXTAUTH_SECRET, LOGIN_CLIENT_SECRET: s.LOGIN_CLIENT_SECRET };
    Object.assign(s, { isProduction: true, NEXTAUTH_SECRET: "a-production-secret", LOGIN_CLIENT_SECRET: "demo-web-secret" });
    try {
      vi.useFakeTimers({ toFake: ["Date"] });
      const page = await currentBranding();
      // The document again a minute later: the same addresses are not logged again.
      vi.setSystemTime(Date.now() + 61_000);
      expect(await currentBranding()).toEqual(page);
      const logo = (await logoResponse()).status;
      return { page, logo, asked, logged: errors.mock.calls.map(([fields]) => fields) };
    } finally {
      vi.useRealTimers();
      Object.assign(s, original);
      errors.mockRestore();
    }
  }

  it("shows https addresses, and those on this machine", async () => {
    const document = { logo_uri: "https://cdn.example/logo.png", help_uri: "https://help.example/", tos_uri: "http://localhost:4000/terms" };
    expect(await production(document)).toEqual({
      page: {
        logoSrc: expect.stringMatching(/^\/login\/logo\?v=/),
        links: [
          { label: "Help", href: "https://help.example/" },
          { label: "Terms", href: "http://localhost:4000/terms" },
        ],
      },
      logo: 200,
      asked: ["https://cdn.example/logo.png"],
      logged: [],
    });
  });

  it("leaves out http ones (anyone on the way could swap the logo or the page), and says so once in the log", async () => {
    const document = { logo_uri: "http://cdn.example/logo.png", help_uri: "http://help.example/", policy_uri: "https://example.com/privacy" };
    expect(await production(document)).toEqual({
      page: { links: [{ label: "Privacy", href: "https://example.com/privacy" }] },
      logo: 404,
      asked: [],
      logged: [{ event: "login.branding.insecure", left_out: ["logo_uri http://cdn.example/logo.png", "help_uri http://help.example/"] }],
    });
    // In development they are shown.
    expect(pageBranding(document, false)).toMatchObject({ logoUri: "http://cdn.example/logo.png", page: { links: [{ label: "Help" }, { label: "Privacy" }] } });
  });

  it("serves no logo whose https address redirects to http", async () => {
    const redirected = await production({ logo_uri: "https://cdn.example/logo.png" }, "http://cdn.example/logo.png");
    expect(redirected).toMatchObject({ logo: 404, asked: ["https://cdn.example/logo.png"] });
  });
});
