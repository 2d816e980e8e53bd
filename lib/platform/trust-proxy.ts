import proxyaddr from "proxy-addr";

/** Whether the hop `hop` (0: the socket's peer) at `address` is a proxy whose X-Forwarded-For we believe. */
export type TrustProxy = (address: string, hop: number) => boolean;

const HOP_COUNT = /^\d{1,2}$/;

/**
 * `TRUST_PROXY`: a hop count (`1`, `2`: that many proxies stand in front, as in Express), or a
 * comma-separated list of addresses, CIDR ranges and the names `loopback`, `linklocal`,
 * `uniquelocal` (proxy-addr's syntax). Unset or `0`: no proxy is trusted. Anything else throws:
 * `true` would let any client name any address, and proxy-addr alone reads `1` as the address
 * 0.0.0.1, trusting nothing.
 */
export function parseTrustProxy(value: string | undefined): TrustProxy {
  const text = value?.trim() ?? "";
  if (text === "" || text === "0") return () => false;
  if (HOP_COUNT.test(text)) {
    const hops = Number(text);
    return (_address, hop) => hop < hops;
  }
  if (/^(true|yes|on|all|\*)$/i.test(text)) {
    throw new Error("trusting every hop would let any client claim any address; give a hop count (1, 2) or the proxies' addresses or CIDR ranges");
  }
  const entries = text.split(",").map((s) => s.trim());
  if (entries.some((e) => e === "")) throw new Error("an empty entry in the list");
  try {
    return proxyaddr.compile(entries);
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}; use a hop count (1, 2), addresses, CIDR ranges, loopback, linklocal or uniquelocal`);
  }
}

/** Why a `TRUST_PROXY` value is refused, or undefined when it is valid (for the settings schema). */
export function trustProxyProblem(value: string): string | undefined {
  try {
    parseTrustProxy(value);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
