import { cookies } from "next/headers";
import type { JWT } from "next-auth/jwt";
import { decodeSession, sessionCookieName } from "@/lib/login/session.ts";
import { mfaStepCookieName, openMfaStep, type MfaStep } from "@/lib/login/mfa-sign-in.ts";

/** The session of the request being rendered (tokens included: server components only). */
export async function currentSession(): Promise<(JWT & { tokens: NonNullable<JWT["tokens"]> }) | null> {
  const store = await cookies();
  const token = await decodeSession(store.get(sessionCookieName())?.value);
  return token?.tokens ? { ...token, tokens: token.tokens } : null;
}

export interface DecodedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

/** The header and claims of a JWT, for display only (it was validated when it arrived). */
export function decodeJwtForDisplay(jwt: string): DecodedJwt {
  const [header = "", claims = ""] = jwt.split(".");
  const part = (p: string) => JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as Record<string, unknown>;
  return { header: part(header), claims: part(claims) };
}

/** The sign-in step in progress for this browser (its sealed cookie), if any. */
export async function currentMfaStep(): Promise<MfaStep | null> {
  return openMfaStep((await cookies()).get(mfaStepCookieName())?.value);
}
