import type { StoredClient } from "@/lib/oauth/model/client.ts";
import type { FormParams } from "@/lib/oauth/protocol/form.ts";
import type { OAuthRequest } from "@/lib/oauth/protocol/responses.ts";

/** What a request presents to identify its client, before any lookup. */
export interface Presented {
  clientId: string;
  /** The credential to check against the stored client, if the method has one. */
  credential?: string;
}

/**
 * One client authentication method (RFC 6749 §2.3, RFC 7591's token_endpoint_auth_method
 * names). A new method is a module implementing this and a line in registry.ts.
 */
export interface ClientAuthMethod {
  readonly name: string;
  /** Whether the method proves possession of a credential: wrong ones are counted like passwords. */
  readonly provesCredential: boolean;
  /** Whether the request uses this method (it carries this method's parameters or header). */
  isPresentedIn(request: OAuthRequest, params: FormParams): boolean;
  /** The client id and credential the request presents; syntax errors throw OAuth errors. */
  read(request: OAuthRequest, params: FormParams, realm: string): Presented;
  /** Whether the credential is the stored client's. */
  verify(client: StoredClient, presented: Presented): boolean | Promise<boolean>;
  /** Headers for a failure of this method (Basic's challenge). */
  challenge?(realm: string): Record<string, string>;
}

export const MAX_CLIENT_ID = 255;
export const MAX_SECRET = 1024;
