import type { Logger } from "@/lib/platform/logger.ts";
import type { Client } from "@/lib/oauth/model/client.ts";
import type { FormParams } from "@/lib/oauth/protocol/form.ts";
import type { OAuthRequest, OAuthResponse } from "@/lib/oauth/protocol/responses.ts";
import type { AuditDraft } from "@/lib/oauth/endpoints/context.ts";
import type { Workspace } from "@/lib/oauth/model/workspace.ts";
import type { DpopProof } from "@/lib/oauth/dpop/proof.ts";

/** What a grant handler gets once the token endpoint has authenticated the client. */
export interface GrantRequest {
  request: OAuthRequest;
  params: FormParams;
  client: Client;
  workspace: Workspace;
  /** The request's child logger, made when first read: take it out only where a line is logged. */
  readonly log: Logger;
  /** The address attempts are counted against: the end user's, for a trusted client. */
  ip: string;
  /** Who the request turned out to be about, for the audit trail. */
  audit: AuditDraft;
  /** The request's verified DPoP proof (RFC 9449 §5): its tokens are bound to that key. */
  dpop?: DpopProof;
}

export type GrantHandler = (grant: GrantRequest) => Promise<OAuthResponse>;

/** A grant type (RFC 6749 §4): its `grant_type`, the parameters it reads, and its handler. */
export interface Grant {
  type: string;
  /** Its name in audit events (`token.{auditName}`) when `type` is a URI; else the type itself. */
  auditName?: string;
  /** The request parameters the grant reads (besides grant_type and client authentication). */
  parameters: readonly string[];
  handle: GrantHandler;
}
