import { describe, expect, it } from "vitest";
import { ConfigError, parseSettings } from "@/lib/platform/env.ts";
import {
  addressGroup,
  addressNetwork,
  clientIp,
  compileTrustProxy,
  normalizeAddress,
  PEER_HEADER,
  peerAddress,
  peerHeaderValue,
  UnknownClientAddress,
} from "@/lib/platform/client-address.ts";
import { trustProxyProblem } from "@/lib/platform/trust-proxy.ts";

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

describe("a stamp of ours without an address", () => {
  it.each([[""], [" "], ["not-an-address"], ["203.0.113.10, 1.2.3.4"]])("%j is refused, never replaced by X-Forwarded-For", (address) => {
    const h = headers({ [PEER_HEADER]: `${peerHeaderValue("127.0.0.1").split(" ")[0]} ${address}`.trimEnd(), "x-forwarded-for": "203.0.113.10" });
    expect(() => clientIp(h, compileTrustProxy(undefined))).toThrow(UnknownClientAddress);
    expect(() => clientIp(h, compileTrustProxy("1"))).toThrow(UnknownClientAddress);
  });
});

describe("normalizeAddress", () => {
  it.each([
    ["192.0.2.1", "192.0.2.1"],
    ["::ffff:192.0.2.1", "192.0.2.1"],
    ["::FFFF:c000:0201", "192.0.2.1"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["[2001:db8::1]", "2001:db8::1"],
    ["fe80::1%eth0", "fe80::1"],
    ["::1", "::1"],
    ["", undefined],
    ["localhost", undefined],
    ["192.0.2.256", undefined],
    ["1.2.3.4, 5.6.7.8", undefined],
  ])("%j → %j", (raw, expected) => {
    expect(normalizeAddress(raw)).toBe(expected);
  });
});

describe("addressGroup: what the brute-force defence counts as one source", () => {
  it.each([
    ["192.0.2.1", "192.0.2.1"],
    ["2001:db8::1", "2001:db8::/64"],
    ["2001:db8:0:0:ffff::1", "2001:db8::/64"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["2001:db8:1:2::", "2001:db8:1:2::/64"],
    ["::1", "::/64"],
  ])("%j → %j", (address, group) => {
    expect(addressGroup(address)).toBe(group);
  });
});

describe("addressNetwork: what the request budget counts new sources by past its bound", () => {
  it.each([
    ["192.0.2.1", "192.0.2.0/24"],
    ["198.51.100.254", "198.51.100.0/24"],
    ["2001:db8::1", "2001:db8::/48"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1::/48"],
    ["2001:db8:1:ffff::1", "2001:db8:1::/48"],
    ["::1", "::/48"],
  ])("%j → %j", (address, network) => {
    expect(addressNetwork(address)).toBe(network);
  });
});

describe("TRUST_PROXY", () => {
  const xff = (peer: string, forwarded: string) => headers({ [PEER_HEADER]: peerHeaderValue(peer), "x-forwarded-for": forwarded });

  it.each([
    ["1", "203.0.113.5"],
    ["2", "198.51.100.7"],
    ["0", "10.0.0.1"],
  ])("a hop count %s trusts that many proxies in front", (value, expected) => {
    expect(clientIp(xff("10.0.0.1", "198.51.100.7, 203.0.113.5"), compileTrustProxy(value))).toBe(expected);
  });

  it("a list of addresses and CIDR ranges, as proxy-addr reads it", () => {
    expect(clientIp(xff("10.0.0.1", "198.51.100.7, 10.0.0.2"), compileTrustProxy("10.0.0.0/8"))).toBe("198.51.100.7");
    expect(clientIp(xff("10.0.0.1", "198.51.100.7"), compileTrustProxy("loopback, 10.0.0.1"))).toBe("198.51.100.7");
    expect(clientIp(xff("10.0.0.1", "198.51.100.7"), compileTrustProxy("10.0.0.0/255.0.0.0, 2001:db8::/32"))).toBe("198.51.100.7");
    expect(clientIp(xff("::ffff:10.0.0.1", "198.51.100.7"), compileTrustProxy("::ffff:10.0.0.1"))).toBe("198.51.100.7");
  });

  it.each([
    ["true", /trusting every hop/],
    ["*", /trusting every hop/],
    ["yes-please", /invalid IP address/],
    ["10.0.0.0/33", /invalid range/],
    ["loopback,,", /empty entry/],
    // Taken before as addresses in IPv4's short forms, trusting nothing and saying nothing.
    ["100", /^a hop count is from 1 to 99/],
    ["250", /^a hop count is from 1 to 99/],
    ["10.0.0.1,5", /^5 is no address: write IPv4 addresses as four numbers \(10\.0\.0\.1\); a hop count stands alone/],
    ["0x10", /^0x10 is no address: write IPv4 addresses as four numbers/],
    ["10.1", /^10\.1 is no address: write IPv4 addresses as four numbers/],
    ["010.0.0.1/8", /^010\.0\.0\.1\/8 is no address: write IPv4 addresses as four numbers/],
  ])("refuses %j at start, naming the variable", (value, message) => {
    expect(trustProxyProblem(value)).toMatch(message);
    expect(() => parseSettings({ TRUST_PROXY: value })).toThrow(ConfigError);
    expect(() => parseSettings({ TRUST_PROXY: value })).toThrow(/^Invalid setting TRUST_PROXY: /);
  });
});

describe("X-Forwarded-For from a trusted proxy", () => {
  const via = (forwarded: string) => headers({ [PEER_HEADER]: peerHeaderValue("127.0.0.1"), "x-forwarded-for": forwarded });

  it.each([
    ["203.0.113.9:5555", "203.0.113.9"],
    ["[2001:db8::1]:443", "2001:db8::1"],
    ["[2001:DB8::1]", "2001:db8::1"],
  ])("drops the port some proxies append: %j → %j", (forwarded, expected) => {
    expect(clientIp(via(forwarded), compileTrustProxy("loopback"))).toBe(expected);
  });

  it.each([["unknown"], ["_hidden"], ["203.0.113.9:port"]])("refuses %j rather than count the client as the proxy", (forwarded) => {
    expect(() => clientIp(via(forwarded), compileTrustProxy("loopback"))).toThrow(UnknownClientAddress);
  });
});
