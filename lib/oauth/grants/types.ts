import type { Logger } from "@/lib/logger.ts";
import type { Client } from "@/lib/oauth/client-auth.ts";
import type { FormParams } from "@/lib/oauth/http.ts";
import type { Workspace } from "@/lib/oauth/workspace.ts";

/** What a grant handler gets once the token endpoint has authenticated the client. */
export interface GrantRequest {
  request: Request;
  params: FormParams;
  client: Client;
  workspace: Workspace;
  log: Logger;
}

export type GrantHandler = (grant: GrantRequest) => Promise<Response>;
