import { describe, expect, it } from "vitest";
import { SECURITY_HEADERS, securityHeaders, strictTransportSecurity } from "@/lib/platform/security-headers.mjs";

const BASE = [
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "Referrer-Policy", value: "no-referrer" },
  { key: "X-Frame-Options", value: "DENY" },
  { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=(), payment=()" },
];
const HSTS = { key: "Strict-Transport-Security", value: "max-age=63072000; includeSubDomains" };

describe("securityHeaders: the headers of every response, HSTS only over https", () => {
  it("adds HSTS (two years, subdomains) for an https app", () => {
    expect(securityHeaders("https://login.example.com")).toEqual([...BASE, HSTS]);
    expect(strictTransportSecurity("https://login.example.com")).toEqual(HSTS);
  });

  it.each(["http://localhost:3000", "http://127.0.0.1:3100", "http://login.example.com"])("has no HSTS for %s", (appUrl) => {
    expect(securityHeaders(appUrl)).toEqual(BASE);
    expect(strictTransportSecurity(appUrl)).toBeUndefined();
  });

  it("leaves the build-time list (next.config.js) without HSTS and unchanged by calls", () => {
    securityHeaders("https://login.example.com").push({ key: "X", value: "y" });
    expect(SECURITY_HEADERS).toEqual(BASE);
  });
});
