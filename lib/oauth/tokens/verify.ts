import { findClient } from "@/lib/oauth/store/clients.ts";
import { keySet, keySetForUnknownKid, type KeySet } from "@/lib/oauth/tokens/keys.ts";
import { verifyJwt } from "@/lib/oauth/tokens/jws.ts";
import { ACCESS_TOKEN_ALG } from "@/lib/oauth/protocol/algorithms.ts";
import { accessTokenState, type TokenHolder } from "@/lib/oauth/store/sessions.ts";
import { isJtiOfClient, type AccessTokenClaims } from "@/lib/oauth/tokens/mint.ts";
import type { Workspace } from "@/lib/oauth/model/workspace.ts";

/** Tolerated clock difference between instances and resource servers (seconds). */
export const CLOCK_SKEW_SECONDS = 30;

export type AccessTokenCheck =
  /** `user`: the token's user when it is a user's token (absent, or disabled, it is for the caller to refuse). */
  | { valid: true; claims: AccessTokenClaims; user: TokenHolder | null }
  /** `claims` when the token is one we signed (refused for its session, client or the denylist). */
  | { valid: false; reason: string; claims?: AccessTokenClaims };

/**
 * The one access-token verifier, used by introspection, userinfo and revocation: ES256 only, with
 * an ES256 key (so `alg: none`, HS256-with-our-public-key and our RS256 ID-token keys fail), `typ` `at+jwt` (RFC 9068 §4), the
 * workspace's issuer, a key we publish by `kid`, expiry with a small skew, its client still
 * enabled, the denylist, and its session (`sid`) not ended.
 */
export async function checkAccessToken(token: string, workspace: Workspace): Promise<AccessTokenCheck> {
  const verify = (keys: KeySet) =>
    verifyJwt<AccessTokenClaims>(token, {
      alg: ACCESS_TOKEN_ALG,
      typ: "at+jwt",
      issuer: workspace.issuer,
      clockTolerance: CLOCK_SKEW_SECONDS,
      requiredClaims: ["sub", "client_id", "jti", "exp", "iat", "scope"],
      keyFor: (kid) => keys.verifier(kid, ACCESS_TOKEN_ALG),
    });
  const keys = await keySet();
  let verified = await verify(keys);
  // A kid this process does not know yet may be a key another instance has just made.
  if ("refused" in verified && verified.refused === "ERR_JWKS_NO_MATCHING_KEY") {
    const reloaded = await keySetForUnknownKid();
    if (reloaded !== keys) verified = await verify(reloaded);
  }
  if ("refused" in verified) return { valid: false, reason: verified.refused };
  const claims = verified.payload;
  if (typeof claims.jti !== "string" || typeof claims.scope !== "string" || typeof claims.client_id !== "string") {
    return { valid: false, reason: "bad claims" };
  }
  if (claims.sid !== undefined && typeof claims.sid !== "string") return { valid: false, reason: "bad claims" };
  // A disabled (or deleted) client's tokens die with it, like a disabled user's, and stay dead
  // when a client of the same client_id is added again: its own tokens' jti names its row. (A
  // user's token dies with its session.)
  const client = await findClient(workspace.id, claims.client_id);
  if (!client || client.disabled) return { valid: false, reason: "client disabled", claims };
  if (claims.sid === undefined && !isJtiOfClient(claims.jti, client.id)) return { valid: false, reason: "client added again since", claims };
  // A user's token (it names the identity pool): its user comes in the same round trip.
  const { state, user } = await accessTokenState(claims.jti, claims.sid, claims.idp === undefined ? undefined : { workspaceId: workspace.id, id: claims.sub });
  if (state !== "live") return { valid: false, reason: state, claims };
  return { valid: true, claims, user };
}
