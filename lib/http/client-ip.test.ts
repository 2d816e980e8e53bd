import { describe, expect, it } from "vitest";
import { clientIp, compileTrustProxy, PEER_HEADER, peerAddress, peerHeaderValue } from "@/lib/http/client-ip.ts";

const headers = (h: Record<string, string>) => (name: string) => h[name] ?? null;

describe("clientIp", () => {
  const none = compileTrustProxy(undefined);
  const loopback = compileTrustProxy("loopback");

  it("is the socket's address, whatever X-Forwarded-For says, when no proxy is trusted", () => {
    expect(clientIp(headers({ [PEER_HEADER]: peerHeaderValue("10.1.2.3"), "x-forwarded-for": "1.2.3.4" }), none)).toBe("10.1.2.3");
  });

  it("maps IPv4-mapped IPv6 to IPv4", () => {
    expect(clientIp(headers({ [PEER_HEADER]: peerHeaderValue("::ffff:127.0.0.1") }), none)).toBe("127.0.0.1");
  });

  it.each([
    ["1.2.3.4", "1.2.3.4"],
    ["9.9.9.9, 1.2.3.4", "1.2.3.4"],
    ["9.9.9.9, 1.2.3.4, 127.0.0.1", "1.2.3.4"],
  ])("behind a trusted proxy takes the first untrusted hop of %j", (xff, expected) => {
    expect(clientIp(headers({ [PEER_HEADER]: peerHeaderValue("127.0.0.1"), "x-forwarded-for": xff }), loopback)).toBe(expected);
  });

  it("ignores X-Forwarded-For from a peer that is not a trusted proxy", () => {
    expect(clientIp(headers({ [PEER_HEADER]: peerHeaderValue("203.0.113.7"), "x-forwarded-for": "1.2.3.4" }), loopback)).toBe("203.0.113.7");
  });

  it("ignores a forged peer header (wrong secret)", () => {
    expect(peerAddress(headers({ [PEER_HEADER]: "not-the-secret 1.2.3.4" }))).toBeUndefined();
    expect(clientIp(headers({ [PEER_HEADER]: "forged 1.2.3.4", "x-forwarded-for": "5.6.7.8" }), none)).toBe("5.6.7.8");
  });
});
