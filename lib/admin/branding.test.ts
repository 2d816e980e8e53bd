import { describe, expect, it } from "vitest";
import { refusal } from "@/lib/testing/admin.ts";
import { getBranding } from "@/lib/testing/oauth.ts";
import { AdminError, NothingToChange } from "@/lib/admin/errors.ts";
import { pageUrl, setBranding, showBranding } from "@/lib/admin/branding.ts";
import { db } from "@/lib/platform/db.ts";

const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
const SVG = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');

describe("workspace branding", () => {
  it("is the workspace's name alone by default, published under the issuer with a short max-age", async () => {
    const res = await getBranding();
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("public, max-age=60");
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ name: (await db().workspace.findFirstOrThrow({ where: { slug: "default" } })).name });
  });

  it("sets the name, logo URL, accent colour and links; the document shows them at once", async () => {
    await setBranding("demo/default", {
      name: "  Acme Corp  ",
      logoUrl: "https://cdn.example.com/acme.png",
      accent: "#1D4ED8",
      helpUrl: "https://help.example.com/",
      termsUrl: "https://example.com/terms",
      privacyUrl: "https://example.com/privacy",
    });
    expect(await (await getBranding()).json()).toEqual({
      name: "Acme Corp",
      logo_uri: "https://cdn.example.com/acme.png",
      accent_color: "#1d4ed8",
      help_uri: "https://help.example.com/",
      tos_uri: "https://example.com/terms",
      policy_uri: "https://example.com/privacy",
    });
    expect(await db().auditEvent.findFirst({ where: { event: "admin.workspace.branding" } })).toMatchObject({ outcome: "success" });
    // "" removes a field: the default comes back.
    await setBranding("demo/default", { name: "", logoUrl: "", helpUrl: "" });
    expect(await showBranding("demo/default")).toEqual({
      name: null,
      logo: null,
      accent: "#1d4ed8",
      helpUrl: null,
      termsUrl: "https://example.com/terms",
      privacyUrl: "https://example.com/privacy",
    });
  });

  it("serves an uploaded logo as a data: URL with the type its bytes say, and a URL replaces it", async () => {
    await setBranding("demo/default", { logoImage: PNG });
    expect((await (await getBranding()).json()).logo_uri).toBe(`data:image/png;base64,${Buffer.from(PNG).toString("base64")}`);
    expect((await showBranding("demo/default")).logo).toBe("uploaded image/png, 16 bytes");
    await setBranding("demo/default", { logoUrl: "https://cdn.example.com/acme.webp" });
    const row = await db().workspace.findFirstOrThrow({ where: { slug: "default" } });
    expect([row.brandLogoImage, row.brandLogoType, row.brandLogoUrl]).toEqual([null, null, "https://cdn.example.com/acme.webp"]);
  });

  it.each([
    [
      { accent: "#7dd3fc" },
      "Invalid accent colour #7dd3fc: white button text on it has a contrast of 1.66:1, below the 4.5:1 that WCAG 2.2 AA asks; choose a darker colour",
    ],
    [
      { accent: "#777777" },
      "Invalid accent colour #777777: white button text on it has a contrast of 4.47:1, below the 4.5:1 that WCAG 2.2 AA asks; choose a darker colour",
    ],
    [{ accent: "blue" }, 'Invalid accent colour "blue": write it #rrggbb'],
    [{ accent: "#12345" }, 'Invalid accent colour "#12345": write it #rrggbb'],
    [{ logoImage: SVG }, "Invalid logo: a PNG, JPEG or WebP image (SVG is refused: it can carry script)"],
    [{ logoImage: new Uint8Array(65_537).fill(0xff) }, "Invalid logo: 65537 bytes, at most 65536 (64 KiB)"],
    [{ logoImage: PNG, logoUrl: "https://cdn.example.com/a.png" }, "Give a logo URL or a logo image, not both"],
    [{ helpUrl: "javascript:alert(1)" }, "Invalid help URL: an absolute https or http URL without credentials, at most 2048 characters"],
    [{ termsUrl: "/terms" }, "Invalid terms URL: an absolute https or http URL without credentials, at most 2048 characters"],
    [{ privacyUrl: "https://user:pw@example.com/" }, "Invalid privacy URL: an absolute https or http URL without credentials, at most 2048 characters"],
    [{ name: "x".repeat(81) }, "Invalid display name: at most 80 characters"],
    [{ name: "Acme\u0000" }, "Invalid display name: no control characters"],
    [{}, new NothingToChange().message],
  ])("refuses %j, changing nothing", async (changes, message) => {
    const before = await db().workspace.findFirstOrThrow({ where: { slug: "default" } });
    expect(await refusal(setBranding("demo/default", changes))).toBe(message);
    expect(await db().workspace.findFirstOrThrow({ where: { slug: "default" } })).toEqual(before);
  });

  it("accepts only https links in production", () => {
    expect(() => pageUrl("http://help.example.com/", "help URL", true)).toThrow(
      new AdminError("Invalid help URL: an absolute https URL without credentials, at most 2048 characters"),
    );
    expect(pageUrl("https://help.example.com", "help URL", true)).toBe("https://help.example.com/");
  });
});
