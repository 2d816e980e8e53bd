import { InvalidScope } from "@/lib/oauth/protocol/errors.ts";

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), separated by single spaces.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** Whether `token` is one RFC 6749 §3.3 scope-token (printable ASCII without space, `"` or `\\`). */
export function isScopeToken(token: string): boolean {
  return SCOPE_TOKEN.test(token);
}

/** The scope tokens of a `scope` parameter, without duplicates; case-sensitive. */
export function parseScope(scope: string | undefined): string[] {
  if (scope === undefined) return [];
  const tokens = scope.split(" ").filter((t) => t !== "");
  if (!tokens.every(isScopeToken)) throw new InvalidScope("the scope parameter is malformed");
  return [...new Set(tokens)];
}

/** Scopes that describe a user: granted only when a user signs in, never to a client acting for itself. */
export const USER_SCOPES: ReadonlySet<string> = new Set(["openid", "profile", "email", "offline_access", "address", "phone", "account"]);

export interface ScopePolicy {
  /** What the client may be granted. */
  allowed: ReadonlySet<string>;
  /** What it gets when it asks for nothing. */
  defaults: readonly string[];
}

/**
 * RFC 6749 §3.3: the granted scope is the requested one when the client may have all of it;
 * nothing requested means the client's defaults. Returned sorted, as a set.
 */
export function grantScope(requested: readonly string[], policy: ScopePolicy): string[] {
  if (requested.length === 0) return [...new Set(policy.defaults.filter((s) => policy.allowed.has(s)))].sort();
  const refused = requested.filter((s) => !policy.allowed.has(s));
  if (refused.length > 0) {
    throw new InvalidScope("the requested scope is not allowed for this client", { detail: `refused: ${refused.join(" ")}` });
  }
  return [...requested].sort();
}
