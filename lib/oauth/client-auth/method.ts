import type { StoredClient } from "@/lib/oauth/model/client.ts";
import type { FormParams } from "@/lib/oauth/protocol/form.ts";
import type { OAuthRequest } from "@/lib/oauth/protocol/responses.ts";

/** What a request presents to identify its client, before any lookup. */
export interface Presented {
  clientId: string;
  /** The credential to check against the stored client, if the method has one. */
  credential?: string;
}

/** What a method may need besides the request to check a credential. */
export interface VerifyContext {
  /** The issuer identifier: a client assertion's audience, and its only one (draft-ietf-oauth-rfc7523bis §4). */
  issuer: string;
  /** How far ahead a client assertion's `exp` may be (seconds). */
  maxAssertionSeconds: number;
  /** Now (ms), for tests. */
  now?: number;
}

/**
 * One client authentication method (RFC 6749 §2.3, RFC 7591's token_endpoint_auth_method
 * names). A new method is a module implementing this and a line in registry.ts.
 */
export interface ClientAuthMethod {
  readonly name: string;
  /** Whether the method proves possession of a credential: wrong ones are counted like passwords. */
  readonly provesCredential: boolean;
  /** Whether that credential is the client's secret (a client registered for the method gets one). */
  readonly usesSecret: boolean;
  /** The JWS algorithms its client assertions may use (the JWT methods), for discovery. */
  readonly signingAlgs?: readonly string[];
  /** Whether the request uses this method (it carries this method's parameters or header). */
  isPresentedIn(request: OAuthRequest, params: FormParams): boolean;
  /** The client id and credential the request presents; syntax errors throw OAuth errors. */
  read(request: OAuthRequest, params: FormParams, realm: string): Presented;
  /**
   * Whether the credential is the stored client's (false is a wrong credential, counted); a
   * credential that is refused for another reason (an expired or replayed assertion) throws.
   */
  verify(client: StoredClient, presented: Presented, context: VerifyContext): boolean | Promise<boolean>;
  /** Headers for a failure of this method (Basic's challenge). */
  challenge?(realm: string): Record<string, string>;
}

export const MAX_CLIENT_ID = 255;
export const MAX_SECRET = 1024;
