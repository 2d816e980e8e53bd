import { UAParser } from "ua-parser-js";

/**
 * A browser's User-Agent in words, for the session list and the new sign-in notice: "Chrome on
 * Linux", "Safari on iPhone".
 * Parsed with ua-parser-js 1.x (MIT; its 2.x line is AGPL). Anything it cannot read is said so.
 */
export function describeDevice(userAgent: string | null | undefined): string {
  if (!userAgent) return "Unknown device";
  const { browser, os, device } = new UAParser(userAgent).getResult();
  // A phone or tablet is better known by its model ("iPhone") than its system ("iOS").
  const platform = device.type === "mobile" || device.type === "tablet" ? (device.model ?? os.name) : os.name;
  if (browser.name && platform) return `${browser.name} on ${platform}`;
  return browser.name ?? platform ?? "Unknown device";
}
