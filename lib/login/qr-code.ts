import QRCode from "qrcode";

/**
 * An `otpauth://` URI as a QR code, an SVG data URL rendered on the server (no script, and the
 * page's CSP allows `data:` images). Dark modules on white with a quiet zone, as scanners need,
 * whatever the page's colour scheme.
 */
export async function qrCodeDataUrl(uri: string): Promise<string> {
  const svg = await QRCode.toString(uri, { type: "svg", errorCorrectionLevel: "M", margin: 2, color: { dark: "#000000", light: "#ffffff" } });
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString("base64")}`;
}

/** A base32 secret in groups of four, easier to type into an app by hand. */
export function groupedSecret(secret: string): string {
  return secret.replace(/(.{4})(?=.)/g, "$1 ");
}
