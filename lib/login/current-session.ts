import { cookies } from "next/headers";
import type { JWT } from "next-auth/jwt";
import { decodeSession, sessionCookieValue } from "@/lib/login/session.ts";
import { mfaStepCookieValue, openMfaStep, type MfaStep } from "@/lib/login/mfa-sign-in.ts";

/** The session of the request being rendered (tokens included: server components only). */
export async function currentSession(): Promise<(JWT & { tokens: NonNullable<JWT["tokens"]> }) | null> {
  const store = await cookies();
  const token = await decodeSession(sessionCookieValue(store.getAll()));
  return token?.tokens ? { ...token, tokens: token.tokens } : null;
}

/** A token as the account page shows it. */
export type DisplayedToken =
  /** A JWT: its decoded header and claims. */
  | { kind: "jwt"; header: Record<string, unknown>; claims: Record<string, unknown> }
  /** Anything else (RFC 6749 §1.4: an access token may be opaque to its client): nothing to decode; when it expires, as the token response said. */
  | { kind: "opaque"; expiresAt?: number };

const asObject = (part: string): Record<string, unknown> | undefined => {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

/**
 * The header and claims of a JWT, for display only (the ID token was validated when it arrived;
 * an access token is not ours to validate). A token that is not a JWS compact serialization with a
 * JSON header and claims (an opaque token, a JWE) is shown as opaque, with `expiresAt` (ms).
 */
export function describeToken(token: string, expiresAt?: number): DisplayedToken {
  const parts = token.split(".");
  const header = parts.length === 3 ? asObject(parts[0] ?? "") : undefined;
  const claims = header && typeof header.alg === "string" ? asObject(parts[1] ?? "") : undefined;
  return header && claims ? { kind: "jwt", header, claims } : { kind: "opaque", expiresAt };
}

/** The sign-in step in progress for this browser (its sealed cookie), if any. */
export async function currentMfaStep(): Promise<MfaStep | null> {
  return openMfaStep(mfaStepCookieValue((await cookies()).getAll()));
}
