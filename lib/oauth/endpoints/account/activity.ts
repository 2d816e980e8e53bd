import { json } from "@/lib/oauth/protocol/responses.ts";
import { recentActivity } from "@/lib/oauth/store/activity.ts";
import { accountEndpoint } from "@/lib/oauth/endpoints/account/caller.ts";

/** How many events the activity lists: the newest. */
export const ACTIVITY_LIMIT = 20;

/**
 * `GET /account/activity`: the caller's newest sign-in activity from the audit trail, newest
 * first: each sign-in step (`sign_in`, `second_factor`, `recovery_code`) and password change,
 * with its outcome (`success`, `failure`, `locked`), client, address and browser. Never a reason,
 * a secret or anything of another user.
 */
export const accountActivityEndpoint = accountEndpoint(async (_request, { workspace }, { user }) => {
  const events = await recentActivity(workspace.id, user, ACTIVITY_LIMIT);
  return json({
    events: events.map((e) => ({
      at: Math.floor(e.at.getTime() / 1000),
      type: e.kind,
      outcome: e.outcome,
      client_id: e.clientId,
      ip: e.ip,
      user_agent: e.userAgent,
    })),
  });
});
