import { AdminError, NothingToChange } from "@/lib/admin/errors.ts";
import { change } from "@/lib/admin/transaction.ts";
import { workspaceByRef } from "@/lib/admin/workspaces.ts";
import { BUTTON_TEXT, contrastRatio, isHexColour, MAX_LOGO_BYTES, MIN_TEXT_CONTRAST, sniffLogoType } from "@/lib/oauth/model/branding.ts";
import { settings } from "@/lib/platform/env.ts";

/**
 * A workspace's branding of the sign-in pages, as an operator changes it (the CLI's `workspace
 * branding`, a console later). Each field given replaces the stored one; an empty string removes
 * it (the default returns).
 */
export interface BrandingChanges {
  name?: string;
  /** An https URL of the logo (http in development); replaces an uploaded one. */
  logoUrl?: string;
  /** An uploaded logo: PNG, JPEG or WebP, at most 64 KiB; replaces a logo URL. */
  logoImage?: Uint8Array;
  /** `#rrggbb`, on which white text has a contrast of at least 4.5:1. */
  accent?: string;
  helpUrl?: string;
  termsUrl?: string;
  privacyUrl?: string;
}

/** What an operator sees of a workspace's branding. */
export interface BrandingSummary {
  name: string | null;
  logo: string | null;
  accent: string | null;
  helpUrl: string | null;
  termsUrl: string | null;
  privacyUrl: string | null;
}

const MAX_NAME_LENGTH = 80;
const MAX_URL_LENGTH = 2048;

function displayName(value: string): string {
  const name = value.trim();
  if (name.length > MAX_NAME_LENGTH) throw new AdminError(`Invalid display name: at most ${MAX_NAME_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new AdminError("Invalid display name: no control characters");
  return name;
}

/** A link the pages show: https, or http in development (a local server). */
export function pageUrl(value: string, what: string, production = settings().isProduction): string {
  const parsed = URL.canParse(value) ? new URL(value) : undefined;
  const allowed = production ? ["https:"] : ["https:", "http:"];
  if (!parsed || !allowed.includes(parsed.protocol) || value.length > MAX_URL_LENGTH || parsed.username || parsed.password) {
    throw new AdminError(
      `Invalid ${what}: an absolute ${allowed.map((p) => p.slice(0, -1)).join(" or ")} URL without credentials, at most ${MAX_URL_LENGTH} characters`,
    );
  }
  return parsed.href;
}

/** `#rrggbb` on which the buttons' white text reads: WCAG 2.2 AA, 4.5:1, in light and dark mode (the button is the same in both). */
export function accentColour(value: string): string {
  if (!isHexColour(value)) throw new AdminError(`Invalid accent colour ${JSON.stringify(value)}: write it #rrggbb`);
  const colour = value.toLowerCase();
  const ratio = contrastRatio(BUTTON_TEXT, colour);
  if (ratio < MIN_TEXT_CONTRAST) {
    throw new AdminError(
      `Invalid accent colour ${colour}: white button text on it has a contrast of ${(Math.floor(ratio * 100) / 100).toFixed(2)}:1, below the ${MIN_TEXT_CONTRAST}:1 that WCAG 2.2 AA asks; choose a darker colour`,
    );
  }
  return colour;
}

export function logoImage(bytes: Uint8Array): { bytes: Uint8Array<ArrayBuffer>; type: string } {
  if (bytes.length > MAX_LOGO_BYTES) throw new AdminError(`Invalid logo: ${bytes.length} bytes, at most ${MAX_LOGO_BYTES} (64 KiB)`);
  const type = sniffLogoType(bytes);
  if (!type) throw new AdminError("Invalid logo: a PNG, JPEG or WebP image (SVG is refused: it can carry script)");
  return { bytes: Uint8Array.from(bytes), type };
}

/** `check(value)`, or null for "" (remove), or undefined when not given. */
function field<T>(value: string | undefined, check: (value: string) => T): T | null | undefined {
  return value === undefined ? undefined : value.trim() === "" ? null : check(value);
}

/** Changes a workspace's branding; at least one field must be given. */
export async function setBranding(ref: string, changes: BrandingChanges): Promise<void> {
  const w = await workspaceByRef(ref);
  if (changes.logoUrl && changes.logoImage) throw new AdminError("Give a logo URL or a logo image, not both");
  const logoUrl = field(changes.logoUrl, (v) => pageUrl(v, "logo URL"));
  const image = changes.logoImage ? logoImage(changes.logoImage) : undefined;
  const data = {
    brandName: field(changes.name, displayName),
    brandAccent: field(changes.accent, accentColour),
    brandHelpUrl: field(changes.helpUrl, (v) => pageUrl(v, "help URL")),
    brandTermsUrl: field(changes.termsUrl, (v) => pageUrl(v, "terms URL")),
    brandPrivacyUrl: field(changes.privacyUrl, (v) => pageUrl(v, "privacy URL")),
    // One logo at a time: a URL or an upload replaces the other; "" removes both.
    ...(logoUrl !== undefined ? { brandLogoUrl: logoUrl, brandLogoImage: null, brandLogoType: null } : {}),
    ...(image ? { brandLogoUrl: null, brandLogoImage: image.bytes, brandLogoType: image.type } : {}),
  };
  if (Object.values(data).every((v) => v === undefined)) throw new NothingToChange();
  // The audit trail names what changed, not the image's bytes.
  const said = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, k === "brandLogoImage" && v ? `${image?.bytes.length} bytes` : v]));
  await change("workspace.branding", { workspaceId: w.id, reason: JSON.stringify(said) }, (tx) => tx.workspace.update({ where: { id: w.id }, data }));
}

/** A workspace's branding as stored (null: the default). */
export async function showBranding(ref: string): Promise<BrandingSummary> {
  const w = await workspaceByRef(ref);
  return {
    name: w.brandName,
    logo: w.brandLogoType ? `uploaded ${w.brandLogoType}, ${w.brandLogoImage?.length ?? 0} bytes` : w.brandLogoUrl,
    accent: w.brandAccent,
    helpUrl: w.brandHelpUrl,
    termsUrl: w.brandTermsUrl,
    privacyUrl: w.brandPrivacyUrl,
  };
}
