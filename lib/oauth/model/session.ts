import { settings } from "@/lib/platform/env.ts";

/**
 * A sign-in: the `sid` of every token it leads to (the claim name of OIDC Front-Channel and
 * Back-Channel Logout), how and when the user authenticated, and its absolute end. Its refresh
 * tokens form one family whose id is the session's.
 */
export interface Session {
  id: string;
  workspaceId: string;
  /** The client's row id. */
  clientId: string;
  userId: string;
  amr: string[];
  authTime: number;
  expiresAt: Date;
  endedAt: Date | null;
  /** RFC 9449 §5: the DPoP key (RFC 7638 thumbprint) its refresh tokens are bound to, or null. */
  dpopJkt: string | null;
}

/** The absolute lifetime of a new sign-in (seconds): the client's, else the workspace's, else SESSION_MAX_SECONDS. */
export function sessionLifetime(client: { sessionTtl: number | null }, workspace: { sessionTtl: number | null }): number {
  return client.sessionTtl ?? workspace.sessionTtl ?? settings().SESSION_MAX_SECONDS;
}

/** Whether a session can still issue and back tokens. */
export function isLive<S extends Pick<Session, "endedAt" | "expiresAt">>(session: S | null, now = Date.now()): session is S {
  return session !== null && session.endedAt === null && session.expiresAt.getTime() > now;
}
