import { describe, expect, it } from "vitest";
import { describeDevice } from "@/lib/platform/device.ts";
import { describeDeviceLazily } from "@/lib/platform/device-words.ts";

describe("describeDevice", () => {
  it.each([
    ["Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36", "Chrome on Linux"],
    ["Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0", "Firefox on Windows"],
    ["Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", "Safari on Mac OS"],
    [
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
      "Mobile Safari on iPhone",
    ],
    ["curl/8.5.0", "Unknown device"],
    [null, "Unknown device"],
    ["", "Unknown device"],
  ])("says %j is %j", async (userAgent, words) => {
    expect(describeDevice(userAgent)).toBe(words);
    expect(await describeDeviceLazily(userAgent)).toBe(words);
  });
});
