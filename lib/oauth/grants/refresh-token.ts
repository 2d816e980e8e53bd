import { audit } from "@/lib/audit.ts";
import { db } from "@/lib/db.ts";
import { settings } from "@/lib/env.ts";
import { InvalidGrant, InvalidRequest, InvalidScope } from "@/lib/oauth/errors.ts";
import { json } from "@/lib/oauth/http.ts";
import { consumeRefreshToken, findRefreshToken, revokeFamily, storeRefreshToken, type StoredRefreshToken } from "@/lib/oauth/refresh-tokens.ts";
import { parseScope, splitList } from "@/lib/oauth/scopes.ts";
import { userTokens } from "@/lib/oauth/token-response.ts";
import type { GrantRequest } from "@/lib/oauth/grants/types.ts";

export const MAX_REFRESH_TOKEN_LENGTH = 512;

/**
 * The refresh token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2):
 * every use consumes the token and issues the next one of its family; a consumed token presented
 * again revokes the family, so a thief and the victim cannot both go on.
 */
export async function refreshTokenGrant({ params, client, workspace, log, audit: draft }: GrantRequest): Promise<Response> {
  const presented = params.get("refresh_token");
  if (presented === undefined) throw new InvalidRequest("the refresh_token parameter is required");
  if (presented.length > MAX_REFRESH_TOKEN_LENGTH) throw new InvalidGrant("the refresh token is invalid", { detail: "too long" });
  const requested = parseScope(params.get("scope"));

  const stored = await findRefreshToken(presented);
  if (!stored || stored.client.workspaceId !== workspace.id) throw new InvalidGrant("the refresh token is invalid", { detail: "unknown refresh token" });
  if (stored.clientId !== client.id) throw new InvalidGrant("the refresh token is invalid", { detail: "issued to another client" });
  draft.userId = stored.userId;
  draft.username = stored.user.username;
  await assertUsable(stored, log);
  const original = splitList(stored.scope);
  const scope = narrowScope(requested, original);
  if (stored.user.disabled) {
    await revokeFamily(stored.familyId);
    throw new InvalidGrant("the refresh token is invalid", { detail: "user disabled" });
  }

  const next = await db().$transaction(async (tx) => {
    if (!(await consumeRefreshToken(stored.id, tx))) return null;
    return storeRefreshToken(
      { clientId: client.id, userId: stored.userId, scope: original, authTime: stored.authTime, familyId: stored.familyId, ttl: client.refreshTokenTtl ?? workspace.refreshTokenTtl },
      tx,
    );
  });
  if (!next) {
    // Lost a race with another use of the same token: that is reuse too.
    await onReuse(stored, log);
    throw new InvalidGrant("the refresh token is invalid", { detail: "concurrent reuse" });
  }
  log.info({ event: "token.refreshed", client: client.clientId, user: stored.userId, family: stored.familyId }, "refresh token rotated");
  return json(await userTokens({ workspace, client, user: stored.user, scope, authTime: stored.authTime, amr: ["pwd"], refreshToken: next }));
}

async function assertUsable(stored: StoredRefreshToken, log: GrantRequest["log"]): Promise<void> {
  if (stored.revokedAt) throw new InvalidGrant("the refresh token is invalid", { detail: "revoked" });
  if (stored.consumedAt) {
    await onReuse(stored, log);
    throw new InvalidGrant("the refresh token is invalid", { detail: "reused" });
  }
  if (stored.expiresAt.getTime() <= Date.now()) throw new InvalidGrant("the refresh token is invalid", { detail: "expired" });
}

/**
 * A consumed token presented again. Within REFRESH_REUSE_GRACE_SECONDS of its consumption it is
 * refused without revoking the family (a legitimate client's concurrent requests); after, the
 * family is revoked.
 */
async function onReuse(stored: StoredRefreshToken, log: GrantRequest["log"]): Promise<void> {
  const fresh = await db().refreshToken.findUnique({ where: { id: stored.id }, select: { consumedAt: true } });
  const consumedAt = fresh?.consumedAt?.getTime() ?? Date.now();
  if (Date.now() - consumedAt < settings().REFRESH_REUSE_GRACE_SECONDS * 1000) return;
  const revoked = await revokeFamily(stored.familyId);
  log.warn({ event: "token.reuse_detected", user: stored.userId, family: stored.familyId, revoked }, "refresh token reuse: family revoked");
  await audit(
    { event: "token.reuse_detected", outcome: "failure", workspaceId: stored.client.workspaceId, clientId: stored.client.clientId, userId: stored.userId, username: stored.user.username, reason: `family ${stored.familyId}: ${revoked} revoked` },
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
