import { afterEach, describe, expect, it, vi } from "vitest";
import { setBranding } from "@/lib/admin/branding.ts";
import { inProcessFetch } from "@/lib/testing/oauth.ts";
import { currentBranding, logoResponse, pageBranding } from "@/lib/login/branding.ts";
import { setFetchForTests } from "@/lib/login/token-client.ts";
import { clearCaches } from "@/lib/platform/caches.ts";
import { settings } from "@/lib/platform/env.ts";

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

describe("a logo at a URL", () => {
  /**
   * The logo `GET /login/logo` serves when the issuer's branding names `logoUri`, fetched from a
   * stand-in web that answers `landsAt` (the address after redirects) with the PNG; with the
   * addresses the login app asked for.
   */
  async function served(logoUri: string, production: boolean, landsAt = logoUri) {
    const asked: string[] = [];
    setFetchForTests(async () => Response.json({ logo_uri: logoUri }));
    vi.stubGlobal("fetch", async (url: string) => {
      asked.push(String(url));
      const response = new Response(PNG, { headers: { "Content-Type": "image/png" } });
      Object.defineProperty(response, "url", { value: landsAt });
      return response;
    });
    // The branding document first: the login app's own settings are a development's here.
    await currentBranding();
    const original = settings().isProduction;
    Object.assign(settings(), { isProduction: production });
    try {
      const logo = await logoResponse();
      return { status: logo.status, asked };
    } finally {
      Object.assign(settings(), { isProduction: original });
      clearCaches();
    }
  }

  it("is fetched over https, and over http in development", async () => {
    expect(await served("https://cdn.example/logo.png", true)).toEqual({ status: 200, asked: ["https://cdn.example/logo.png"] });
    expect(await served("http://cdn.example/logo.png", false)).toEqual({ status: 200, asked: ["http://cdn.example/logo.png"] });
  });

  it("is not fetched over http in production (anyone on the way could swap it), but on this machine", async () => {
    expect(await served("http://cdn.example/logo.png", true)).toEqual({ status: 404, asked: [] });
    expect(await served("http://localhost:4000/logo.png", true)).toEqual({ status: 200, asked: ["http://localhost:4000/logo.png"] });
  });

  it("is not served in production when its https address redirects to http", async () => {
    expect(await served("https://cdn.example/logo.png", true, "http://cdn.example/logo.png")).toEqual({ status: 404, asked: ["https://cdn.example/logo.png"] });
  });
});
