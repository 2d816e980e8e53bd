import { randomBytes } from "node:crypto";
import { isIP } from "node:net";
import proxyaddr from "proxy-addr";
import type { TrustProxy } from "@/lib/platform/trust-proxy.ts";

export { parseTrustProxy as compileTrustProxy, type TrustProxy } from "@/lib/platform/trust-proxy.ts";

/**
 * Next gives route handlers no socket, and its own `x-forwarded-for` keeps whatever the client
 * sent. So our server (lib/scripts/serve.ts) stamps every request with the socket's address in
 * this header, overwriting anything a client sent, together with a secret of the process; a
 * header without the secret (a spoof, or a server not started through our scripts) is ignored.
 */
export const PEER_HEADER = "x-ropc-peer";

const SECRET_ENV = "ROPC_PEER_SECRET";

/** Called once by the server before Next loads: the secret is inherited by any worker. */
export function initPeerSecret(): string {
  return (process.env[SECRET_ENV] ??= randomBytes(16).toString("hex"));
}

/** The stamp for a request whose socket's address, taken when the connection was accepted, is `remoteAddress`. */
export function peerHeaderValue(remoteAddress: string): string {
  return `${initPeerSecret()} ${remoteAddress}`;
}

type HeaderGetter = (name: string) => string | null | undefined;

/** Our server stamped the request but could not say who the peer is: the request must be refused. */
export class UnknownClientAddress extends Error {
  override name = "UnknownClientAddress";
}

/**
 * The address of the TCP peer when our server vouches for it; undefined when the request carries
 * no stamp of ours. A stamp of ours without a valid address throws: never fall back to a header
 * the client controls.
 */
export function peerAddress(header: HeaderGetter): string | undefined {
  const secret = process.env[SECRET_ENV];
  const value = header(PEER_HEADER);
  if (!secret || !value) return undefined;
  const space = value.indexOf(" ");
  if ((space === -1 ? value : value.slice(0, space)) !== secret) return undefined;
  // Ours (headers lose trailing spaces on the way, so an empty address may come without one).
  const address = normalizeAddress(space === -1 ? "" : value.slice(space + 1));
  if (address === undefined) throw new UnknownClientAddress("the server could not read the client's address");
  return address;
}

/**
 * The client's address, normalised (`normalizeAddress`): the socket's, or, when the socket is a
 * trusted proxy (TRUST_PROXY), the first address in `X-Forwarded-For` from the right that is not
 * a trusted proxy. Without our server's stamp (plain `next start`, in-process calls) there is no
 * socket to read: the rightmost `X-Forwarded-For` entry is taken, which Next fills in from the
 * socket only when the client sent none (see README, "Which address is the client's").
 */
export function clientIp(header: HeaderGetter, trust: TrustProxy): string {
  const forwardedFor = header("x-forwarded-for") ?? undefined;
  const peer = peerAddress(header);
  if (peer === undefined) {
    const forwarded =
      forwardedFor
        ?.split(",")
        .map((s) => s.trim())
        .filter(Boolean) ?? [];
    return normalizeAddress(forwarded.at(-1) ?? "") ?? "unknown";
  }
  const req = { connection: { remoteAddress: peer }, headers: forwardedFor ? { "x-forwarded-for": forwardedFor } : {} };
  // proxy-addr hands back the first hop it cannot parse as it is: a port some proxies append is
  // dropped; anything else is refused, never replaced by the proxy's own address (which would
  // put every client behind it in one count).
  const address = proxyaddr(req as unknown as Parameters<typeof proxyaddr>[0], trust);
  const normalized = normalizeAddress(withoutPort(address));
  if (normalized === undefined) throw new UnknownClientAddress(`a trusted proxy forwarded ${JSON.stringify(address.slice(0, 64))}, which is not an address`);
  return normalized;
}

/** `192.0.2.1:5555` and `[2001:db8::1]:443` without their ports; anything else as it is. */
function withoutPort(hop: string): string {
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  if (v6?.[1]) return v6[1];
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(hop);
  return v4?.[1] ?? hop;
}

/**
 * One spelling per address: IPv4-mapped IPv6 (`::ffff:192.0.2.1`) as IPv4, IPv6 in its canonical
 * compressed lower-case form (RFC 5952: `2001:DB8:0:0:0:0:0:1` is `2001:db8::1`), without a zone
 * or brackets. Undefined for anything that is not an IP address.
 */
export function normalizeAddress(raw: string): string | undefined {
  let text = raw.trim();
  if (text.startsWith("[") && text.endsWith("]")) text = text.slice(1, -1);
  const version = isIP(text);
  if (version === 4) return text;
  if (version !== 6) return undefined;
  const zone = text.indexOf("%");
  if (zone !== -1) text = text.slice(0, zone);
  // The WHATWG URL parser writes IPv6 hosts in RFC 5952 form.
  const canonical = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (mapped) {
    const [high, low] = [parseInt(mapped[1] ?? "0", 16), parseInt(mapped[2] ?? "0", 16)];
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  return canonical;
}

/**
 * What the brute-force defence counts as one source: an IPv4 address, or an IPv6 /64 (one
 * subscriber's network: rotating through it is one attacker). Takes a normalised address.
 */
export function addressGroup(address: string): string {
  return isIP(address) === 6 ? ipv6Prefix(address, 4) : address;
}

/**
 * A wider network than the address group: an IPv4 /24, an IPv6 /48 (a site's usual allocation).
 * What the request budget counts new sources by once it counts too many groups in a minute
 * (lib/oauth/defence/request-budget.ts). Takes a normalised address.
 */
export function addressNetwork(address: string): string {
  const version = isIP(address);
  if (version === 4) return `${address.split(".").slice(0, 3).join(".")}.0/24`;
  return version === 6 ? ipv6Prefix(address, 3) : address;
}

/** The first `hextets` 16-bit groups of an IPv6 address, as a prefix (`2001:db8:1::/48`). */
function ipv6Prefix(address: string, hextets: number): string {
  const [head = "", tail = ""] = address.split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === "" ? [] : tail.split(":");
  const groups = address.includes("::") ? [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right] : left;
  return `${normalizeAddress(`${groups.slice(0, hextets).join(":")}::`) ?? address}/${hextets * 16}`;
}
