import { randomBytes } from "node:crypto";
import proxyaddr from "proxy-addr";

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

export function peerHeaderValue(remoteAddress: string | undefined): string {
  return `${initPeerSecret()} ${remoteAddress ?? ""}`;
}

type HeaderGetter = (name: string) => string | null | undefined;

/** The address of the TCP peer, when our server vouches for it. */
export function peerAddress(header: HeaderGetter): string | undefined {
  const secret = process.env[SECRET_ENV];
  const value = header(PEER_HEADER);
  if (!secret || !value) return undefined;
  const [given, address] = value.split(" ");
  return given === secret && address ? address : undefined;
}

export type TrustProxy = (address: string, hop: number) => boolean;

/**
 * `TRUST_PROXY` as proxy-addr reads it: a comma-separated list of addresses, CIDR ranges or the
 * names `loopback`, `linklocal`, `uniquelocal`. Empty: trust no proxy.
 */
export function compileTrustProxy(list: string | undefined): TrustProxy {
  if (!list) return () => false;
  return proxyaddr.compile(list.split(",").map((s) => s.trim()).filter(Boolean));
}

/**
 * The client's address: the socket's, or, when the socket is a trusted proxy, the first address
 * in `X-Forwarded-For` (from the right) that is not a trusted proxy.
 */
export function clientIp(header: HeaderGetter, trust: TrustProxy): string {
  const peer = peerAddress(header);
  if (peer === undefined) {
    // Not behind our server (e.g. plain `next start`): Next's x-forwarded-for is all there is.
    const forwarded = header("x-forwarded-for")?.split(",").map((s) => s.trim()).filter(Boolean) ?? [];
    return normalize(forwarded.at(-1) ?? "unknown");
  }
  const forwardedFor = header("x-forwarded-for") ?? undefined;
  const req = { connection: { remoteAddress: peer }, headers: forwardedFor ? { "x-forwarded-for": forwardedFor } : {} };
  return normalize(proxyaddr(req as unknown as Parameters<typeof proxyaddr>[0], trust));
}

/** `::ffff:127.0.0.1` and `127.0.0.1` are one client. */
function normalize(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}
