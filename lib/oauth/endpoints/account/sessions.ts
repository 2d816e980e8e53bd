import { NotFound } from "@/lib/oauth/protocol/errors.ts";
import { json, NO_STORE, type OAuthResponse } from "@/lib/oauth/protocol/responses.ts";
import { endSessionOf, endUserSessions, listUserSessions } from "@/lib/oauth/store/sessions.ts";
import { accountEndpoint } from "@/lib/oauth/endpoints/account/caller.ts";

// A session id is a UUID; anything much longer is no session of ours and is not looked up.
const MAX_SESSION_ID_LENGTH = 64;

const ended = (): OAuthResponse => ({ status: 204, headers: { ...NO_STORE }, body: null });

/**
 * `GET /account/sessions`: the caller's live sessions (sign-ins), newest first, each with the
 * client it was made with, when it began and was last refreshed, the address and browser it came
 * from (as the client passed them at sign-in), and `current` for the session of the token used.
 */
export const accountSessionsEndpoint = accountEndpoint(async (_request, _context, { user, sessionId }) => {
  const sessions = await listUserSessions(user.id);
  return json({
    sessions: sessions.map((s) => ({
      id: s.id,
      client_id: s.clientId,
      created_at: Math.floor(s.createdAt.getTime() / 1000),
      last_used_at: Math.floor(s.lastUsedAt.getTime() / 1000),
      ip: s.ip,
      user_agent: s.userAgent,
      current: s.id === sessionId,
    })),
  });
});

/**
 * `DELETE /account/sessions/{id}`: ends one of the caller's sessions (its refresh tokens revoked,
 * its access tokens refused by `sid`). 204; 404 for an id that is no live session of theirs
 * (another user's included: whether it exists is not theirs to learn).
 */
export const accountSessionEndpoint = accountEndpoint(async (_request, { params }, { user }) => {
  const id = params.id ?? "";
  // (No session id holds a NUL, and PostgreSQL could not look one up.)
  if (id.length > MAX_SESSION_ID_LENGTH || id.includes("\u0000") || !(await endSessionOf(user.id, id)))
    throw new NotFound("no such session", { detail: "not a live session of this user" });
  return ended();
}, "account.session.end");

/** `DELETE /account/sessions`: ends every session of the caller but the one of the token used. 204. */
export const accountOtherSessionsEndpoint = accountEndpoint(async (_request, _context, { user, sessionId }) => {
  await endUserSessions(user.id, undefined, sessionId);
  return ended();
}, "account.session.end_others");
