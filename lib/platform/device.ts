import { UAParser } from "ua-parser-js";
import { deviceInWords, UNKNOWN_DEVICE } from "@/lib/platform/device-words.ts";

/**
 * A browser's User-Agent in words, for the session list and the activity list: "Chrome on
 * Linux", "Safari on iPhone". Parsed with ua-parser-js 1.x (MIT; its 2.x line is AGPL). Anything
 * it cannot read is said so. (The authorization server's notices use describeDeviceLazily.)
 */
export function describeDevice(userAgent: string | null | undefined): string {
  if (!userAgent) return UNKNOWN_DEVICE;
  return deviceInWords(new UAParser(userAgent).getResult());
}
