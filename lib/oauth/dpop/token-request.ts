import { InvalidDpopProof } from "@/lib/oauth/protocol/errors.ts";
import type { OAuthRequest } from "@/lib/oauth/protocol/responses.ts";
import { verifyDpopProof, type DpopProof } from "@/lib/oauth/dpop/proof.ts";
import type { Client } from "@/lib/oauth/model/client.ts";
import type { Workspace } from "@/lib/oauth/model/workspace.ts";

/**
 * The DPoP proof of a token request (RFC 9449 §5), for every grant: verified when sent (a bad
 * one is `invalid_dpop_proof`), required of a client registered with `dpop_bound_access_tokens`
 * (§5.2). A request without one costs a header lookup.
 */
export async function tokenRequestProof(request: OAuthRequest, client: Client, workspace: Workspace, url: string): Promise<DpopProof | undefined> {
  const proof = await verifyDpopProof(request, { workspace, url });
  if (proof === undefined && client.dpopBoundAccessTokens) {
    throw new InvalidDpopProof("this client must send a DPoP proof with every token request", `${client.clientId} has dpop_bound_access_tokens`);
  }
  return proof;
}
