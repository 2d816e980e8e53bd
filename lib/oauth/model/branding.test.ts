import { describe, expect, it } from "vitest";
import { contrastRatio, sniffLogoType } from "@/lib/oauth/model/branding.ts";

describe("contrastRatio", () => {
  it.each([
    ["#ffffff", "#000000", 21],
    ["#ffffff", "#ffffff", 1],
    ["#ffffff", "#1d4ed8", 6.7],
    ["#ffffff", "#767676", 4.54],
    ["#ffffff", "#777777", 4.48],
    ["#000000", "#FFFFFF", 21],
  ])("%s on %s is %d:1", (a, b, ratio) => {
    expect(contrastRatio(a, b)).toBeCloseTo(ratio, 1);
  });
});

describe("sniffLogoType", () => {
  it.each([
    [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0], "image/png"],
    [[0xff, 0xd8, 0xff, 0xe0], "image/jpeg"],
    [[0x52, 0x49, 0x46, 0x46, 1, 2, 3, 4, 0x57, 0x45, 0x42, 0x50], "image/webp"],
    [[...Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')], undefined],
    [[0x47, 0x49, 0x46, 0x38, 0x39, 0x61], undefined],
    [[], undefined],
  ])("%j is %s", (bytes, type) => {
    expect(sniffLogoType(Uint8Array.from(bytes))).toBe(type);
  });
});
