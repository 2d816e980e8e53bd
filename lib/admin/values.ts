import { z } from "zod";
import { AdminError } from "@/lib/admin/errors.ts";
import { AUTH_METHODS, AUTH_SIGNING_ALGS, CLIENT_AUTH_METHODS, CREDENTIAL_METHODS, SECRET_METHODS } from "@/lib/oauth/client-auth/registry.ts";
import { GRANTS } from "@/lib/oauth/grants/registry.ts";
import type { ClientType } from "@/lib/oauth/model/client.ts";
import { MFA_POLICIES, type MfaPolicy } from "@/lib/oauth/model/mfa.ts";
import { isScopeToken } from "@/lib/oauth/protocol/scopes.ts";
import { costlyRsaMember, hasPrivateMember, RSA_LIMITS } from "@/lib/oauth/protocol/jwk-limits.ts";
import { SIGNING_ALGS, type SigningAlg } from "@/lib/oauth/protocol/algorithms.ts";
import { MIN_PASSWORD_LENGTH_BOUNDS } from "@/lib/platform/password-policy.ts";

// The syntax of the values an operator gives, as the server itself defines them: grant types and
// auth methods from their registries, scope tokens from RFC 6749 §3.3. Each check returns the
// value it accepts (lists without duplicates) or throws an AdminError naming what is wrong.

/** The grant types the server implements, as a client registers them. */
export const GRANT_TYPES: readonly string[] = GRANTS.map((g) => g.type);
export { AUTH_METHODS, AUTH_SIGNING_ALGS };

/** The longest token lifetime an operator may set: a year. */
const MAX_LIFETIME_SECONDS = 365 * 24 * 3600;

/**
 * A whole number from `min` to `max` as an operator gives it: a number, or its decimal digits.
 * Not as JavaScript's Number() reads a string: "" (an unset shell variable) as 0, "0x10" as 16,
 * "1e3" as 1000, " 8" as 8.
 */
export const wholeNumber = (min: number, max: number) =>
  z
    .union([
      z.number(),
      z
        .string()
        .regex(/^[0-9]+$/, `must be a whole number from ${min} to ${max}, in decimal digits`)
        .transform(Number),
    ])
    .pipe(z.number().int().min(min).max(max));

/** `value` as `schema` accepts it, or an AdminError "Invalid {what}: {the first issue}". */
export function valid<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new AdminError(`Invalid ${what}: ${result.error.issues[0]?.message ?? "invalid"}`);
  return result.data;
}

const unique = <T>(values: readonly T[]) => [...new Set(values)];

/** `check(value)` when a value is given (a change names only what it changes). */
export function ifGiven<T, R>(value: T | undefined, check: (value: T) => R): R | undefined {
  return value === undefined ? undefined : check(value);
}

export function grantTypes(values: readonly string[]): string[] {
  return unique(valid(z.array(z.enum(GRANT_TYPES)).min(1), values, "grants"));
}

export function scopeTokens(values: readonly string[]): string[] {
  return unique(valid(z.array(z.string().refine(isScopeToken, "scopes are printable ASCII without spaces, quotes or backslashes")).min(1), values, "scopes"));
}

/** Browser origins for CORS: each exactly `scheme://host[:port]`, as the Origin header carries it. */
export function origins(values: readonly string[]): string[] {
  return unique(
    valid(z.array(z.string().refine((o) => URL.canParse(o) && new URL(o).origin === o, "an origin is scheme://host[:port], nothing more")), values, "origins"),
  );
}

/** A token lifetime in seconds (a number, or its decimal string). */
export function lifetime(value: unknown): number {
  return valid(wholeNumber(1, MAX_LIFETIME_SECONDS), value, "lifetime (seconds)");
}

/**
 * token_endpoint_auth_methods: `none` alone (a public client, RFC 6749 §2.1), or methods that
 * prove a credential.
 */
export function authMethods(values: readonly string[]): string[] {
  const methods = unique(valid(z.array(z.enum(AUTH_METHODS)).min(1), values, "auth methods"));
  if (clientTypeOf(methods) === "public" && methods.length > 1)
    throw new AdminError("Invalid auth methods: none (a public client) cannot be combined with secrets");
  return methods;
}

// The methods that prove nothing (`none`): a client that uses one is public.
const PUBLIC_METHODS = AUTH_METHODS.filter((m) => !CREDENTIAL_METHODS.includes(m));

/** The type of a client that authenticates with `methods`. */
export function clientTypeOf(methods: readonly string[]): ClientType {
  return methods.some((m) => PUBLIC_METHODS.includes(m)) ? "public" : "confidential";
}

/** A client's `id_token_signed_response_alg`: one we keep keys for. */
export function idTokenAlg(value: string): SigningAlg {
  return valid(z.enum(SIGNING_ALGS), value, "ID token algorithm");
}

/**
 * A client's `token_endpoint_auth_signing_alg` (RFC 7591 §2): the one algorithm its client
 * assertions may use, which one of its JWT methods must allow (HS256 for client_secret_jwt, an
 * asymmetric one for private_key_jwt). Null: any its methods allow.
 */
export function authSigningAlg(value: string | null, methods: readonly string[]): string | null {
  if (value === null) return null;
  const alg = valid(z.enum(AUTH_SIGNING_ALGS), value, "token endpoint auth signing algorithm");
  const jwtMethods = CLIENT_AUTH_METHODS.filter((m) => m.signingAlgs !== undefined && methods.includes(m.name));
  if (!jwtMethods.some((m) => m.signingAlgs?.includes(alg))) {
    const takes = CLIENT_AUTH_METHODS.filter((m) => m.signingAlgs !== undefined).map((m) => `${m.name} takes ${m.signingAlgs?.join(", ")}`);
    throw new AdminError(`A token endpoint auth signing algorithm of ${alg} fits none of the client's auth methods (${takes.join("; ")})`);
  }
  return alg;
}

/** Whether a client registered for `methods` has a secret (one of them proves the secret). */
export function needsSecret(methods: readonly string[]): boolean {
  return methods.some((m) => SECRET_METHODS.includes(m));
}

const MAX_JWKS_BYTES = 16_384;

/**
 * A client's public keys for private_key_jwt, as RFC 7517 §5 writes a JWK Set: 1 to 10 EC, RSA
 * or OKP keys, no private or symmetric member, `use` (if any) `sig`, distinct `kid`s, an RSA key
 * of at most 4096 bits with an exponent under 2^32 (jwk-limits.ts); at most 16 KiB. Returns its
 * JSON.
 */
export function clientJwks(value: unknown): string {
  const key = z
    .looseObject({ kty: z.enum(["EC", "RSA", "OKP"]), kid: z.string().min(1).max(255).optional(), use: z.literal("sig").optional() })
    .refine((k) => !hasPrivateMember(k), "a key has a private member: register the public key only")
    .superRefine((k, ctx) => {
      const costly = costlyRsaMember(k);
      if (costly) ctx.addIssue({ code: "custom", message: `an RSA ${RSA_LIMITS[costly]}` });
    });
  const set = valid(z.object({ keys: z.array(key).min(1).max(10) }), value, "JWKS");
  const kids = set.keys.map((k) => k.kid).filter((k) => k !== undefined);
  if (new Set(kids).size !== kids.length) throw new AdminError("Invalid JWKS: two keys share a kid");
  if (set.keys.length > 1 && kids.length !== set.keys.length) throw new AdminError("Invalid JWKS: with several keys, each needs a kid");
  const json = JSON.stringify(set);
  if (json.length > MAX_JWKS_BYTES) throw new AdminError("Invalid JWKS: larger than 16 KiB");
  return json;
}

/**
 * Where the server fetches a client's keys (`jwks_uri`): an absolute https URL (http only outside
 * production, for local development), without credentials or fragment, at most 2048 characters.
 */
export function clientJwksUri(value: string, production: boolean): string {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (!url || value.length > 2048 || url.username || url.password || url.hash)
    throw new AdminError("Invalid jwks_uri: an absolute URL without credentials or fragment");
  if (url.protocol !== "https:" && (production || url.protocol !== "http:")) throw new AdminError("Invalid jwks_uri: it must be https");
  return url.toString();
}

/** The shortest password a workspace accepts (characters): 8 to 64 (password-policy.ts). */
export function passwordMinLength(value: unknown): number {
  const { min, max } = MIN_PASSWORD_LENGTH_BOUNDS;
  return valid(wholeNumber(min, max), value, `password minimum length (${min} to ${max})`);
}

/**
 * A client's password-reset page: an absolute URL without credentials or fragment (the link adds
 * `?token=`), https in production. "" clears it.
 */
export function passwordResetUri(value: string, production: boolean): string | null {
  if (value === "") return null;
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (!url || value.length > 2048 || url.username || url.password || url.hash || url.searchParams.has("token"))
    throw new AdminError("Invalid password reset URI: an absolute URL without credentials, fragment or token parameter");
  if (url.protocol !== "https:" && (production || url.protocol !== "http:")) throw new AdminError("Invalid password reset URI: it must be https");
  return url.toString();
}

/** Who must pass a second factor: off, optional or required. */
export function mfaPolicy(value: string): MfaPolicy {
  return valid(z.enum(MFA_POLICIES), value, "MFA policy");
}

/** A client's MFA policy: its own, or `inherit` (null: the workspace's). */
export function clientMfaPolicy(value: string): MfaPolicy | null {
  return value === "inherit" ? null : mfaPolicy(value);
}
