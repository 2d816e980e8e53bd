import { liveChallenge, MAX_MFA_TOKEN_LENGTH } from "@/lib/oauth/grants/second-factor.ts";
import { assertOriginAllowed } from "@/lib/oauth/protocol/cors.ts";
import { InsufficientUserAuthentication, InvalidGrant, InvalidRequest, InvalidToken, type TokenScheme } from "@/lib/oauth/protocol/errors.ts";
import type { FormParams } from "@/lib/oauth/protocol/form.ts";
import type { OAuthRequest } from "@/lib/oauth/protocol/responses.ts";
import { factorsOf, findChallenge, type StoredFactor } from "@/lib/oauth/store/mfa.ts";
import { SessionEnded } from "@/lib/oauth/store/credentials.ts";
import {
  accessTokenUserGone,
  authenticateAccessToken,
  authorizationScheme,
  checkTokenBinding,
  presentedToken,
} from "@/lib/oauth/endpoints/access-token-caller.ts";
import type { AuditDraft } from "@/lib/oauth/endpoints/context.ts";
import type { Workspace } from "@/lib/oauth/model/workspace.ts";
import type { DpopProof } from "@/lib/oauth/dpop/proof.ts";

/**
 * Who calls an /mfa endpoint: a sign-in waiting for its second factor (its `mfa_token`), or a
 * signed-in user (their access token, from any client of the workspace).
 */
export interface MfaCaller {
  via: "mfa_token" | "access_token";
  user: { id: string; username: string };
  factors: StoredFactor[];
  /** The DPoP proof of a bound token (either kind): its `nextNonce` goes in the answer (withDpopNonce). */
  dpop?: DpopProof;
  /** Whether the sign-in behind the access token passed a second factor (its `amr` has `mfa`); false for an `mfa_token`. */
  passedSecondFactor: boolean;
  /** The session behind an access token (its `sid`): a change is written only while it is live. */
  sessionId?: string;
  /** The scheme the token came with, for a challenge. */
  scheme: TokenScheme;
}

/**
 * The caller of an /mfa endpoint from its bearer token (RFC 6750 §2.1, the Authorization header
 * only), or null when it sent none. An access token is a JWT (it has dots); an `mfa_token` is
 * opaque. A bad, expired or exhausted one is `invalid_token` (401). Either kind, when bound to a
 * DPoP key (an access token's `cnf.jkt`; the `mfa_token` of a sign-in begun with a proof), comes
 * with the DPoP scheme and a proof by that key whose `ath` is its hash (RFC 9449 §7.1). The
 * request's origin must be one the token's client allows.
 */
export async function mfaCaller(request: OAuthRequest, workspace: Workspace, audit: AuditDraft, now = Date.now()): Promise<MfaCaller | null> {
  const realm = workspace.issuer;
  const token = await presentedToken(request, realm);
  if (token === undefined) return null;
  if (token.includes(".")) {
    const { user, dpop, claims } = await authenticateAccessToken(request, token, workspace, audit, { session: true });
    const amr: unknown = claims.amr;
    return {
      via: "access_token",
      user,
      factors: await factorsOf(user.id),
      passedSecondFactor: Array.isArray(amr) && amr.includes("mfa"),
      ...(typeof claims.sid === "string" ? { sessionId: claims.sid } : {}),
      scheme: authorizationScheme(request),
      ...(dpop === undefined ? {} : { dpop }),
    };
  }
  const scheme = authorizationScheme(request);
  let challenge;
  try {
    if (token.length > MAX_MFA_TOKEN_LENGTH) throw new InvalidGrant("too long");
    challenge = liveChallenge(await findChallenge(token), workspace.id, now);
  } catch (err) {
    if (err instanceof InvalidGrant) throw new InvalidToken(realm, "the mfa_token is invalid or expired", err.detail ?? err.description, scheme);
    throw err;
  }
  Object.assign(audit, { clientId: challenge.client.clientId, userId: challenge.user.id, username: challenge.user.username, accountable: true });
  if (challenge.user.disabled) throw new InvalidToken(realm, "the mfa_token is invalid or expired", "user disabled", scheme);
  // A sign-in begun with a DPoP proof is bound to its key here as at the MFA grants: whoever took
  // its mfa_token without the key can neither list the factors nor start an enrolment with it.
  const dpop = await checkTokenBinding(request, token, challenge.dpopJkt ?? undefined, workspace, scheme, "mfa_token");
  assertOriginAllowed(request, challenge.client.allowedOrigins);
  return { via: "mfa_token", user: challenge.user, factors: challenge.factors, passedSecondFactor: false, scheme, ...(dpop === undefined ? {} : { dpop }) };
}

/** What a request whose user was deleted while it ran is answered (RouteOptions.userGone): its token is no longer valid. */
export function mfaUserGone(request: OAuthRequest, workspace: Workspace): InvalidToken {
  // An access token is a JWT, with dots; an mfa_token has none (nor does the scheme).
  return (request.headers.get("authorization") ?? "").includes(".")
    ? accessTokenUserGone(request, workspace)
    : new InvalidToken(workspace.issuer, "the mfa_token is invalid or expired", "user deleted meanwhile", authorizationScheme(request));
}

/** Endpoints that change a signed-in user's factors take their access token, not an `mfa_token`. */
export function requireSignedIn(caller: MfaCaller): void {
  if (caller.via !== "access_token") throw new InvalidRequest("this endpoint needs the user's access token, not an mfa_token", { status: 403 });
}

export const confirmedFactor = (caller: MfaCaller) => caller.factors.find((f) => f.confirmedAt !== null);

/**
 * The password proves a change of a confirmed second factor (turning it off, new recovery codes)
 * only from a session that passed that factor (its `amr` has `mfa`). A session that signed in
 * with the password alone (before the user enrolled, or through a client whose policy skips the
 * step) must send a current code instead: else whoever had the password, and a session from
 * before the enrolment, could turn the factor off or mint recovery codes for themselves.
 * `401 insufficient_user_authentication` (RFC 9470 §3).
 */
export function assertPasswordMayProve(caller: MfaCaller, params: FormParams, realm: string): void {
  // Both or neither sent: proveUser's invalid_request says so.
  if (!provesPendingOnly(caller, params) || !confirmedFactor(caller)) return;
  throw passwordIsNotEnough(caller, realm);
}

/** Whether the request's proof is the password from a session that never passed the second factor: it proves no confirmed factor's change. */
export const provesPendingOnly = (caller: MfaCaller, params: FormParams) =>
  params.get("password") !== undefined && params.get("otp") === undefined && !caller.passedSecondFactor;

/** RFC 9470 §3: the password refused as proof from a session that never passed the second factor. */
export const passwordIsNotEnough = (caller: MfaCaller, realm: string) =>
  new InsufficientUserAuthentication(
    realm,
    "this session signed in without two-step verification: prove it is you with a current code (otp), or sign in with it",
    caller.scheme,
  );

/**
 * Where a signed-in user's proofs at these endpoints (a code, the password) are counted by the
 * brute-force defence, in place of the caller's address. The calls carry an access token, not a
 * client's credentials, so no end-user address header can be trusted; and a login app makes them
 * from its own server for all its users, whose failures would then pool on that one address (a
 * user could lock every other one out of their account page). Each user's own key keeps the
 * per-user limits whole, and the account-wide ceiling still counts them.
 */
export const proofAddress = (caller: Pick<MfaCaller, "user">) => `account:${caller.user.id}`;

/** A user has one factor: another is set up once it is removed. */
export const alreadySetUp = (detail: string) => new InvalidRequest("two-step verification is already set up; remove it first", { detail });

/** What a change is answered when its session ended while it ran (SessionEnded): the caller's token is no longer valid. */
export function sessionEndedMeanwhile(err: unknown, caller: MfaCaller, realm: string): unknown {
  return err instanceof SessionEnded ? new InvalidToken(realm, "the access token is invalid", "session ended meanwhile", caller.scheme) : err;
}
