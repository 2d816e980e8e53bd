import type { IResult } from "ua-parser-js";

/** What a User-Agent nothing can be read from is called. */
export const UNKNOWN_DEVICE = "Unknown device";

/** A parsed User-Agent in words: "Chrome on Linux", "Safari on iPhone". */
export function deviceInWords({ browser, os, device }: Pick<IResult, "browser" | "os" | "device">): string {
  // A phone or tablet is better known by its model ("iPhone") than its system ("iOS").
  const platform = device.type === "mobile" || device.type === "tablet" ? (device.model ?? os.name) : os.name;
  if (browser.name && platform) return `${browser.name} on ${platform}`;
  return browser.name ?? platform ?? UNKNOWN_DEVICE;
}

/**
 * describeDevice for the authorization server, which needs it only for a new sign-in's notice:
 * ua-parser-js is loaded at its first call, not at start (importing it grows a bare Node
 * process's memory by ~10 MB).
 */
export async function describeDeviceLazily(userAgent: string | null | undefined): Promise<string> {
  if (!userAgent) return UNKNOWN_DEVICE;
  const { UAParser } = await import("ua-parser-js");
  return deviceInWords(new UAParser(userAgent).getResult());
}
