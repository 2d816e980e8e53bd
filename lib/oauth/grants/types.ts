import type { Logger } from "@/lib/logger.ts";
import type { Client } from "@/lib/oauth/client-auth.ts";
import type { FormParams, OAuthRequest, OAuthResponse } from "@/lib/oauth/http.ts";
import type { AuditDraft } from "@/lib/oauth/route.ts";
import type { Workspace } from "@/lib/oauth/workspace.ts";

/** What a grant handler gets once the token endpoint has authenticated the client. */
export interface GrantRequest {
  request: OAuthRequest;
  params: FormParams;
  client: Client;
  workspace: Workspace;
  log: Logger;
  /** The address attempts are counted against: the end user's, for a trusted client. */
  ip: string;
  /** Who the request turned out to be about, for the audit trail. */
  audit: AuditDraft;
}

export type GrantHandler = (grant: GrantRequest) => Promise<OAuthResponse>;
