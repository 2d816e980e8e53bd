/**
 * A workspace's branding of the sign-in pages: set by an operator (lib/admin/branding.ts),
 * published under the issuer (`GET {issuer}/branding`, endpoints/branding.ts), shown by the login
 * app, which reads it over HTTP like everything else it knows of the server.
 */
export interface Branding {
  /** The display name; the workspace's name when none is set. */
  name: string;
  /** An https logo (http in development). */
  logoUrl: string | null;
  /** The media type of an uploaded logo (its bytes stay in the database until asked for). */
  logoType: LogoType | null;
  /** `#rrggbb`, on which white button text has a contrast of at least {@link MIN_TEXT_CONTRAST}. */
  accent: string | null;
  helpUrl: string | null;
  termsUrl: string | null;
  privacyUrl: string | null;
}

/**
 * Uploaded logos are raster images only. SVG is refused: it is a document that can carry script
 * and links, and a logo needs none of that.
 */
export const LOGO_TYPES = ["image/png", "image/jpeg", "image/webp"] as const;
export type LogoType = (typeof LOGO_TYPES)[number];

/** An uploaded logo is at most this big: it travels in the branding document as a data: URL. */
export const MAX_LOGO_BYTES = 65_536;

/** WCAG 2.2 §1.4.3 (AA) for normal text: the button's text on the accent colour. */
export const MIN_TEXT_CONTRAST = 4.5;

/** The text colour on accent-coloured buttons, in light and dark mode alike. */
export const BUTTON_TEXT = "#ffffff";

export function isLogoType(value: string | null): value is LogoType {
  return value !== null && (LOGO_TYPES as readonly string[]).includes(value);
}

/** The media type of an image by its first bytes (never by a name or a claimed type). */
export function sniffLogoType(bytes: Uint8Array): LogoType | undefined {
  const starts = (...sig: number[]) => sig.every((b, i) => bytes[i] === b);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "image/png";
  if (starts(0xff, 0xd8, 0xff)) return "image/jpeg";
  // RIFF....WEBP
  if (starts(0x52, 0x49, 0x46, 0x46) && bytes[8] === 0x57 && bytes[9] === 0x45 && bytes[10] === 0x42 && bytes[11] === 0x50) return "image/webp";
  return undefined;
}

const HEX_COLOUR = /^#[0-9a-f]{6}$/i;

export function isHexColour(value: string): boolean {
  return HEX_COLOUR.test(value);
}

/** WCAG 2.2 relative luminance of `#rrggbb`. */
function luminance(hex: string): number {
  const [r = 0, g = 0, b = 0] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG 2.2 contrast ratio of two `#rrggbb` colours (1 to 21). */
export function contrastRatio(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}
