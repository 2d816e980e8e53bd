import { recordAudit } from "@/lib/platform/audit.ts";
import { settings } from "@/lib/platform/env.ts";
import { InvalidDpopProof, InvalidGrant, InvalidRequest, InvalidScope } from "@/lib/oauth/protocol/errors.ts";
import { json, type OAuthResponse } from "@/lib/oauth/protocol/responses.ts";
import {
  consumedAt,
  findRefreshToken,
  isUsable,
  rotateRefreshToken,
  successorOf,
  type IssuedRefreshToken,
  type StoredRefreshToken,
} from "@/lib/oauth/store/refresh-tokens.ts";
import { parseScope } from "@/lib/oauth/protocol/scopes.ts";
import { splitList } from "@/lib/oauth/model/lists.ts";
import { adoptLegacySession, endReusedSession, endSession } from "@/lib/oauth/store/sessions.ts";
import { isLive } from "@/lib/oauth/model/session.ts";
import { userTokens } from "@/lib/oauth/tokens/response.ts";
import type { Grant, GrantRequest } from "@/lib/oauth/grants/types.ts";

export const MAX_REFRESH_TOKEN_LENGTH = 512;

/**
 * The refresh token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2):
 * every use consumes the token and issues the next one of its family; a consumed token presented
 * again revokes the family, so a thief and the victim cannot both go on. The consumption is a
 * conditional update in a transaction with the successor's insert: of two concurrent uses
 * exactly one wins, in one process or across many.
 */
async function handle(grant: GrantRequest): Promise<OAuthResponse> {
  // Not `log`: the request's child logger is made only when something is logged.
  const { params, client, workspace, audit: draft, dpop } = grant;
  const presented = params.get("refresh_token");
  if (presented === undefined) throw new InvalidRequest("the refresh_token parameter is required");
  if (presented.length > MAX_REFRESH_TOKEN_LENGTH) throw new InvalidGrant(INVALID, { detail: "too long" });
  const requested = parseScope(params.get("scope"));

  const stored = await findRefreshToken(presented);
  if (!stored || stored.client.workspaceId !== workspace.id) throw new InvalidGrant(INVALID, { detail: "unknown refresh token" });
  if (stored.clientId !== client.id) throw new InvalidGrant(INVALID, { detail: "issued to another client" });
  draft.userId = stored.userId;
  draft.username = stored.user.username;
  if (stored.revokedAt) throw new InvalidGrant(INVALID, { detail: "revoked" });
  if (!stored.consumedAt && stored.expiresAt.getTime() <= Date.now()) throw new InvalidGrant(INVALID, { detail: "expired" });
  if (stored.user.disabled) {
    await endSession(stored.familyId);
    throw new InvalidGrant(INVALID, { detail: "user disabled" });
  }
  // The sign-in it descends from: ended (sign-out, reuse, an admin) or past its absolute lifetime.
  const session = stored.session ?? (await adoptLegacySession({ ...stored, workspaceId: stored.client.workspaceId }));
  if (!isLive(session)) throw new InvalidGrant(INVALID, { detail: "session ended" });
  // What the grant may still carry: a scope the client has since lost (an operator's `client set
  // --scopes`) is not carried on by its sessions' refreshes either.
  const original = splitList(stored.scope).filter((s) => client.scopes.has(s));
  const refusal = bindingRefusal(session.dpopJkt, dpop) ?? scopeRefusal(requested, original);
  const successor = await successorOf(presented);
  // RFC 9449 §5: a public client's refresh tokens are bound to the key of the first proof it
  // sends, if its sign-in sent none (a confidential client's are bound by its authentication), by
  // the rotation that consumes this token, in its transaction. Bound meanwhile to another key: a
  // request with another proof refreshed this same token at this moment, and one token presented
  // twice at once is reuse.
  const bindTo = !client.confidential && session.dpopJkt === null && dpop ? dpop.jkt : undefined;
  let next: IssuedRefreshToken | null = null;
  if (!stored.consumedAt) {
    if (refusal) throw refusal;
    const ttl = client.refreshTokenTtl ?? workspace.refreshTokenTtl;
    next = await rotateRefreshToken(
      stored.tokenHash,
      { clientId: client.id, userId: stored.userId, scope: original, authTime: stored.authTime, familyId: session.id, ttl, notAfter: session.expiresAt },
      successor,
      bindTo,
    );
  }
  // Consumed already, or just now by a concurrent request: a retry within the grace window (with
  // everything else in order) gets the same successor; anything else is reuse, whatever else is
  // wrong with the request (a wider scope, no DPoP proof), so that a consumed token cannot be
  // probed without revoking its family. Nor may a proof's absence excuse it: the family's binding
  // can be younger than the token (whoever refreshed an unbound family first bound it to their
  // key, a thief too), and then the token's rightful holder comes without that key.
  if (!next && !refusal) next = await replayWithinGrace(stored.tokenHash, successor, dpop?.jkt);
  // Unconsumed when read, and still unconsumed now that the rotation found it gone: revoked (a
  // sign-out) or expired meanwhile. No other request has it; that is no reuse to alarm anyone with.
  if (!next && !stored.consumedAt && (await consumedAt(stored.tokenHash)) === null) throw new InvalidGrant(INVALID, { detail: "revoked or expired meanwhile" });
  if (!next) {
    await revokeAsReuse(stored, grant.log);
    throw new InvalidGrant(INVALID, { detail: stored.consumedAt ? "reused" : "concurrent reuse" });
  }
  const scope = narrowScope(requested, original);
  // The session says how the user signed in: a refresh never changes amr or auth_time.
  return json(await userTokens({ workspace, client, user: stored.user, scope, session, refreshToken: next, jkt: dpop?.jkt }));
}

/**
 * RFC 9449 §5: a refresh token bound to a DPoP key (a public client's, `jkt`) is good only with a
 * proof by that key; a stolen one is useless without the private key. The refusal, or null.
 */
function bindingRefusal(jkt: string | null, dpop: GrantRequest["dpop"]): Error | null {
  if (jkt === null) return null;
  if (dpop === undefined) return new InvalidDpopProof("this refresh token is bound to a DPoP key: send a DPoP proof by it");
  return dpop.jkt === jkt ? null : new InvalidGrant(INVALID, { detail: "DPoP proof by another key than the refresh token's" });
}

function scopeRefusal(requested: readonly string[], original: readonly string[]): Error | null {
  try {
    narrowScope(requested, original);
    return null;
  } catch (err) {
    if (err instanceof InvalidScope) return err;
    throw err;
  }
}

const INVALID = "the refresh token is invalid";

/**
 * A consumed token presented again within REFRESH_REUSE_GRACE_SECONDS of its consumption, while
 * its successor is still unused: the client lost the answer (or sent two requests at once), so
 * it gets the same successor again. Default 0: never.
 */
async function replayWithinGrace(tokenHash: string, successor: string, jkt: string | undefined): Promise<IssuedRefreshToken | null> {
  const graceMs = settings().REFRESH_REUSE_GRACE_SECONDS * 1000;
  if (graceMs === 0) return null;
  const consumed = await consumedAt(tokenHash);
  if (!consumed || Date.now() - consumed.getTime() >= graceMs) return null;
  const next = await findRefreshToken(successor);
  if (!next || !isUsable(next)) return null;
  // A family bound to a key (by the rotation itself, when the request that won brought the first
  // proof): the same successor only to a proof by that key (the client sent one request twice).
  const bound = next.session?.dpopJkt ?? null;
  if (bound !== null && bound !== jkt) return null;
  return { token: successor, expiresAt: next.expiresAt };
}

/**
 * Reuse of a consumed refresh token (RFC 9700 §4.14.2): the whole family, its session with it, is
 * revoked, and the user's pending change of address is cancelled (the thief may have asked it).
 */
async function revokeAsReuse(stored: StoredRefreshToken, log: GrantRequest["log"]): Promise<void> {
  const revoked = await endReusedSession(stored.userId, stored.familyId);
  log.warn({ event: "token.reuse_detected", user: stored.userId, family: stored.familyId, revoked }, "refresh token reuse: family revoked");
  recordAudit(
    {
      event: "token.reuse_detected",
      outcome: "failure",
      workspaceId: stored.client.workspaceId,
      clientId: stored.client.clientId,
      userId: stored.userId,
      username: stored.user.username,
      reason: `family ${stored.familyId}: ${revoked} revoked`,
    },
    log,
  );
}

/** RFC 6749 §6: the scope may narrow the original grant, never widen it; omitted is the original. */
export function narrowScope(requested: readonly string[], original: readonly string[]): string[] {
  if (requested.length === 0) return [...original];
  const extra = requested.filter((s) => !original.includes(s));
  if (extra.length > 0) throw new InvalidScope("the requested scope exceeds the original grant", { detail: `extra: ${extra.join(" ")}` });
  return [...requested].sort();
}

/** `grant_type=refresh_token` */
export const refreshTokenGrant: Grant = { type: "refresh_token", parameters: ["refresh_token", "scope"], handle };
