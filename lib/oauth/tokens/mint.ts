import { createHash, randomUUID } from "node:crypto";
import type { JWTPayload } from "jose";
import { signJws } from "@/lib/oauth/tokens/jws.ts";
import { userClaims, type ClaimsUser } from "@/lib/oauth/tokens/claims.ts";
import { keySet } from "@/lib/oauth/tokens/keys.ts";
import { ACCESS_TOKEN_ALG, tokenHashAlgorithm, type SigningAlg } from "@/lib/oauth/protocol/algorithms.ts";
import type { Workspace } from "@/lib/oauth/model/workspace.ts";

/** RFC 9068 §2.2 claims of our access tokens, plus Cloudentity's `tid`, `aid`, `idp` and `st`. */
export interface AccessTokenClaims extends JWTPayload {
  iss: string;
  sub: string;
  aud: string[];
  client_id: string;
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  scp: string[];
  scope: string;
  tid: string;
  aid: string;
  idp?: string;
  amr?: string[];
  /** The sign-in (session) a user's token belongs to. */
  sid?: string;
  st: "public";
  /** RFC 9449 §6.1: the DPoP key the token is bound to, by its RFC 7638 thumbprint. */
  cnf?: { jkt: string };
}

export interface IssuedToken<C> {
  token: string;
  claims: C;
}

/** Signs with the key of `alg` active at `nowMs` (milliseconds: a key may become active mid-second). */
async function sign(claims: JWTPayload, typ: string, alg: SigningAlg, nowMs: number): Promise<string> {
  const { kid, key } = (await keySet()).signer(alg, nowMs);
  return signJws({ alg, kid, typ }, claims, key);
}

const seconds = (ms: number) => Math.floor(ms / 1000);

/** What every token we sign is made from. */
interface TokenInput {
  workspace: Workspace;
  clientId: string;
  scope: readonly string[];
  /** Lifetime (seconds). */
  ttl: number;
  /** The instant of issue (ms; default now). */
  now?: number;
}

export interface AccessTokenInput extends TokenInput {
  audiences: readonly string[];
  subject: string;
  /** Present for a user's token; absent for a client's own (client credentials). */
  user?: { amr: string[]; sid: string };
  /** The thumbprint of the DPoP key to bind the token to (RFC 9449 §6.1). */
  jkt?: string;
  /** Its `jti` (clientTokenJti for a client's own token); random when not given. */
  jti?: string;
}

/**
 * The `jti` of a client's own token (client credentials, no session to die with): random, then a
 * tag of the client's row, so that a client of the same client_id added again after a deletion
 * (another row) never takes the deleted one's tokens for its own (isJtiOfClient). RFC 9068 leaves
 * the form of a `jti` to its issuer.
 */
export function clientTokenJti(clientRowId: string): string {
  const random = randomUUID();
  return `${random}.${rowTag(clientRowId, random)}`;
}

/** Whether a `jti` is of a token issued to the client row `clientRowId`; true when it has no tag (a user's token, or one issued before tags). */
export function isJtiOfClient(jti: string, clientRowId: string): boolean {
  const dot = jti.indexOf(".");
  return dot === -1 || jti.slice(dot + 1) === rowTag(clientRowId, jti.slice(0, dot));
}

const rowTag = (clientRowId: string, random: string) => createHash("sha256").update(`${clientRowId}.${random}`).digest("base64url").slice(0, 16);

/** An ES256 JWT access token, `typ: at+jwt` (RFC 9068): ES256 whatever the client's ID tokens use. */
export async function mintAccessToken(input: AccessTokenInput): Promise<IssuedToken<AccessTokenClaims>> {
  const nowMs = input.now ?? Date.now();
  const iat = seconds(nowMs);
  const claims: AccessTokenClaims = {
    iss: input.workspace.issuer,
    sub: input.subject,
    aud: [...new Set([input.clientId, ...input.audiences])],
    client_id: input.clientId,
    exp: iat + input.ttl,
    iat,
    nbf: iat,
    jti: input.jti ?? randomUUID(),
    scp: [...input.scope],
    scope: input.scope.join(" "),
    tid: input.workspace.tenant,
    aid: input.workspace.slug,
    ...(input.user ? { idp: input.workspace.identityPoolId, amr: input.user.amr, sid: input.user.sid } : {}),
    st: "public",
    ...(input.jkt === undefined ? {} : { cnf: { jkt: input.jkt } }),
  };
  return { token: await sign(claims, "at+jwt", ACCESS_TOKEN_ALG, nowMs), claims };
}

export interface IdTokenClaims extends JWTPayload {
  iss: string;
  sub: string;
  aud: string;
  azp: string;
  exp: number;
  iat: number;
  auth_time: number;
  jti: string;
  amr: string[];
  sid: string;
  at_hash: string;
  name?: string;
  email?: string;
  email_verified?: boolean;
}

export interface IdTokenInput extends TokenInput {
  /** The client's `id_token_signed_response_alg`. */
  alg: SigningAlg;
  user: { id: string } & ClaimsUser;
  accessToken: string;
  authTime: number;
  amr: string[];
  sid: string;
  extra?: Record<string, number | string>;
}

/** An OpenID Connect ID token (Core §2); profile and email claims by granted scope (§5.4). */
export async function mintIdToken(input: IdTokenInput): Promise<IssuedToken<IdTokenClaims>> {
  const nowMs = input.now ?? Date.now();
  const iat = seconds(nowMs);
  const claims: IdTokenClaims = {
    iss: input.workspace.issuer,
    sub: input.user.id,
    aud: input.clientId,
    azp: input.clientId,
    exp: iat + input.ttl,
    iat,
    auth_time: input.authTime,
    jti: randomUUID(),
    amr: input.amr,
    sid: input.sid,
    at_hash: atHash(input.accessToken, input.alg),
    ...input.extra,
    ...userClaims(input.user, input.scope),
  };
  return { token: await sign(claims, "JWT", input.alg, nowMs), claims };
}

/**
 * OIDC Core §3.1.3.6: base64url of the left half of the hash of the access token's ASCII octets,
 * with the hash of the ID token's `alg` (SHA-256 for ES256 and RS256, SHA-512 for EdDSA).
 */
export function atHash(accessToken: string, alg: SigningAlg): string {
  const digest = createHash(tokenHashAlgorithm(alg)).update(accessToken, "ascii").digest();
  return digest.subarray(0, digest.length / 2).toString("base64url");
}
