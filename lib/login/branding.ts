import { createHash } from "node:crypto";
import { loginConfig } from "@/lib/login/config.ts";
import { requestOptions } from "@/lib/login/token-client.ts";
import { customFetch } from "oauth4webapi";
import { registerCache } from "@/lib/platform/caches.ts";
import { safeForSecrets, settings } from "@/lib/platform/env.ts";
import { logger } from "@/lib/platform/logger.ts";
import { messageOf } from "@/lib/platform/error-message.ts";

/**
 * What the sign-in pages show of the workspace: its name, logo, accent colour and links, read over
 * HTTP from `GET {issuer}/branding` (a public JSON document; see the README). An issuer that
 * publishes none (another ROPC server) gets the default look: no name, our colours, no links.
 */
export interface PageBranding {
  name?: string;
  /** Where the page loads the logo from: this app's /login/logo, with a version that changes with it. */
  logoSrc?: string;
  accent?: string;
  links: Array<{ label: string; href: string }>;
}

interface Logo {
  type: string;
  bytes: Uint8Array<ArrayBuffer>;
}

interface Loaded {
  page: PageBranding;
  /** The logo's address: a `data:` URL (an uploaded logo) or an https one, fetched when first asked for. */
  logoUri?: string;
  logo?: Promise<Logo | null>;
}

// The document's max-age; a failure is retried sooner, without holding up every page meanwhile.
const TTL_MS = 60_000;
const FAILURE_TTL_MS = 10_000;
// A page waits for the document: a server that does not answer must not hold it up for long.
const TIMEOUT_MS = 2_000;
const MAX_LOGO_BYTES = 65_536;
const LOGO_TYPES = new Set(["image/png", "image/jpeg", "image/webp"]);
const LINKS = [
  ["help_uri", "Help"],
  ["tos_uri", "Terms"],
  ["policy_uri", "Privacy"],
] as const;

const DEFAULT: Loaded = { page: { links: [] } };

// One entry: the login app has one issuer.
let cached: { at: number; ttl: number; loaded: Promise<Loaded> } | undefined;
let reportedInsecure = "";
registerCache("login branding", {
  clear: () => {
    cached = undefined;
    reportedInsecure = "";
  },
});

/**
 * The document as this app shows it: anything malformed is left out, never trusted. In production
 * so is an http address (but one on this machine): over http anyone on the way could swap the logo
 * every sign-in page shows, or the page a link leads to. The CLI refuses them only when its own
 * shell has NODE_ENV=production; `insecure` names those left out, for the log.
 */
export function pageBranding(document: unknown, production = settings().isProduction): Loaded & { insecure: string[] } {
  const insecure: string[] = [];
  const webUrl = (key: string, value: unknown): string | undefined => {
    const url = typeof value === "string" ? URL.parse(value) : null;
    if (!url || !["https:", "http:"].includes(url.protocol)) return undefined;
    if (production && !safeForSecrets(url)) {
      insecure.push(`${key} ${url.href}`);
      return undefined;
    }
    return url.href;
  };
  if (!document || typeof document !== "object") return { ...DEFAULT, insecure };
  const d = document as Record<string, unknown>;
  const name = typeof d.name === "string" && d.name.trim() && d.name.length <= 80 ? d.name.trim() : undefined;
  const accent = typeof d.accent_color === "string" && /^#[0-9a-f]{6}$/i.test(d.accent_color) ? d.accent_color : undefined;
  const logoUri =
    typeof d.logo_uri === "string" && /^data:image\/(png|jpeg|webp);base64,[A-Za-z0-9+/=]+$/.test(d.logo_uri) ? d.logo_uri : webUrl("logo_uri", d.logo_uri);
  const links = LINKS.flatMap(([key, label]) => {
    const href = webUrl(key, d[key]);
    return href ? [{ label, href }] : [];
  });
  const version = logoUri ? createHash("sha256").update(logoUri).digest("base64url").slice(0, 12) : undefined;
  return {
    page: { ...(name ? { name } : {}), ...(accent ? { accent } : {}), ...(version ? { logoSrc: `/login/logo?v=${version}` } : {}), links },
    logoUri,
    insecure,
  };
}

async function load(): Promise<Loaded> {
  const issuer = loginConfig().issuer;
  const url = `${issuer.href.replace(/\/$/, "")}/branding`;
  const fetcher = requestOptions(issuer)[customFetch] ?? fetch;
  const response = await fetcher(url, { headers: { Accept: "application/json" }, redirect: "manual", signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (response.status === 404) {
    await response.body?.cancel();
    return DEFAULT;
  }
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const { insecure, ...shown } = pageBranding(await response.json());
  // Once for each set of addresses, not at each reload of the document.
  if (insecure.length > 0 && insecure.join(" ") !== reportedInsecure) {
    reportedInsecure = insecure.join(" ");
    logger.error(
      { event: "login.branding.insecure", left_out: insecure },
      "the workspace's branding has http addresses, which a production login app does not show: set https ones (npm run cli -- workspace branding)",
    );
  }
  return shown;
}

function loaded(now = Date.now()): Promise<Loaded> {
  if (!cached || now - cached.at > cached.ttl) {
    const entry = { at: now, ttl: TTL_MS, loaded: load() };
    cached = entry;
    entry.loaded = entry.loaded.catch((err: unknown) => {
      logger.warn({ event: "login.branding.unavailable", err: messageOf(err) }, "the issuer's branding could not be read");
      entry.ttl = FAILURE_TTL_MS;
      return DEFAULT;
    });
  }
  return cached.loaded;
}

/** The workspace's branding for a page (cached for a minute; the default when it cannot be read). */
export async function currentBranding(): Promise<PageBranding> {
  return (await loaded()).page;
}

async function fetchLogo(uri: string): Promise<Logo | null> {
  if (uri.startsWith("data:")) {
    const [head = "", data = ""] = uri.split(",");
    return { type: head.slice(5, -7), bytes: Uint8Array.from(Buffer.from(data, "base64")) };
  }
  const response = await fetch(uri, { redirect: "follow", signal: AbortSignal.timeout(5_000) });
  // Nor redirected to http (see pageBranding).
  if (settings().isProduction && !safeForSecrets(new URL(response.url || uri))) {
    await response.body?.cancel();
    throw new Error(`the logo at ${uri} redirects to ${response.url}, which is not https`);
  }
  const type = response.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase() ?? "";
  const length = Number(response.headers.get("content-length") ?? 0);
  if (!response.ok || !LOGO_TYPES.has(type) || length > MAX_LOGO_BYTES) {
    await response.body?.cancel();
    throw new Error(`the logo at ${uri} is not a PNG, JPEG or WebP image of at most ${MAX_LOGO_BYTES} bytes`);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (bytes.length > MAX_LOGO_BYTES) throw new Error(`the logo at ${uri} is over ${MAX_LOGO_BYTES} bytes`);
  return { type, bytes };
}

/**
 * `GET /login/logo`: the workspace's logo, served from this app's origin (the pages' CSP allows
 * images from here only, and the browser asks no third party). Raster images only: an SVG is a
 * document that could carry script. 404 when there is none.
 */
export async function logoResponse(): Promise<Response> {
  const entry = await loaded();
  if (entry.logoUri) {
    entry.logo ??= fetchLogo(entry.logoUri).catch((err: unknown) => {
      logger.warn({ event: "login.branding.logo_unavailable", err: messageOf(err) }, "the workspace's logo could not be read");
      return null;
    });
  }
  const logo = await entry.logo;
  if (!logo || !LOGO_TYPES.has(logo.type)) return new Response("Not found", { status: 404, headers: { "Cache-Control": "no-store" } });
  return new Response(logo.bytes, {
    headers: {
      "Content-Type": logo.type,
      "Content-Length": String(logo.bytes.length),
      "X-Content-Type-Options": "nosniff",
      "Content-Security-Policy": "default-src 'none'; sandbox",
      // The page's address changes with the logo (?v=): a cached copy is never stale for long.
      "Cache-Control": "public, max-age=300",
    },
  });
}
