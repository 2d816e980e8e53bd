import proxyaddr from "proxy-addr";
import { messageOf } from "@/lib/platform/error-message.ts";

/** Whether the hop `hop` (0: the socket's peer) at `address` is a proxy whose X-Forwarded-For we believe. */
export type TrustProxy = (address: string, hop: number) => boolean;

const HOP_COUNT = /^\d{1,2}$/;
/** An IPv4 address as four decimal numbers, without leading zeros (which some read as octal). */
const DOTTED_QUAD = /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;

/**
 * `TRUST_PROXY`: a hop count (`1`, `2`: that many proxies stand in front, as in Express; at most
 * 99), or a comma-separated list of addresses, CIDR ranges and the names `loopback`, `linklocal`,
 * `uniquelocal` (proxy-addr's syntax, IPv4 addresses as four numbers). Unset or `0`: no proxy is
 * trusted. Anything else throws: `true` would let any client name any address, and proxy-addr
 * alone reads `1` as the address 0.0.0.1, trusting nothing.
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
  if (/^[0-9]+$/.test(text)) {
    throw new Error("a hop count is from 1 to 99 (the proxies that stand in front of the app); write an address as four numbers (10.0.0.1)");
  }
  const entries = text.split(",").map((s) => s.trim());
  if (entries.some((e) => e === "")) throw new Error("an empty entry in the list");
  // proxy-addr reads IPv4's old short forms (`5` is 0.0.0.5, `10.1` is 10.0.0.1, `0x10` is
  // 0.0.0.16): a hop count in a list, or a typo, would trust an address nobody meant.
  const loose = entries.find((entry) => /^[0-9][0-9a-z.]*(\/|$)/i.test(entry) && !DOTTED_QUAD.test(entry.split("/")[0]!));
  if (loose !== undefined) {
    throw new Error(`${loose} is no address: write IPv4 addresses as four numbers (10.0.0.1); a hop count stands alone (TRUST_PROXY=1)`);
  }
  try {
    return proxyaddr.compile(entries);
  } catch (err) {
    throw new Error(`${messageOf(err)}; use a hop count (1, 2), addresses, CIDR ranges, loopback, linklocal or uniquelocal`);
  }
}

/** Why a `TRUST_PROXY` value is refused, or undefined when it is valid (for the settings schema). */
export function trustProxyProblem(value: string): string | undefined {
  try {
    parseTrustProxy(value);
    return undefined;
  } catch (err) {
    return messageOf(err);
  }
}
