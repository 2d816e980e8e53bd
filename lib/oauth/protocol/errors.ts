/**
 * The one error hierarchy of the authorization server. Deep code throws these; `errorResponse`
 * (responses.ts) turns them into responses in one place. `description` is public (ASCII, RFC 6749
 * §5.2 `error_description`); `detail` is private and goes to logs and the audit trail only.
 */

import { DPOP_ALGS } from "@/lib/oauth/protocol/algorithms.ts";

/** Error codes, grouped by the specification that defines them. */
export type OAuthErrorCode =
  // RFC 6749 §5.2 (token endpoint)
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "invalid_scope"
  // RFC 6749 §4.1.2.1, used for faults of the server itself, and for a service it needs being down (HTTP 503)
  | "server_error"
  | "temporarily_unavailable"
  // Ours, RFC 6749 §5.2-shaped: the brute-force defence refused to verify a password (HTTP 429)
  | "too_many_attempts"
  // Ours: an address spent its budget of unauthenticated failures for the minute (HTTP 429)
  | "too_many_requests"
  // RFC 6750 §3.1 (bearer tokens at the userinfo endpoint)
  | "invalid_token"
  | "insufficient_scope"
  // RFC 9470 §3 (step-up): the sign-in behind the token is not strong enough for the request
  | "insufficient_user_authentication"
  // RFC 7591 §3.2.2 (dynamic client registration)
  | "invalid_redirect_uri"
  | "invalid_client_metadata"
  // RFC 9449 §5, §7.1, §8 (DPoP)
  | "invalid_dpop_proof"
  | "use_dpop_nonce"
  // Auth0's MFA step-up (HTTP 403): the password was right, a second factor must follow
  | "mfa_required"
  // Ours (HTTP 403): a second factor that took too many wrong codes in a row refuses its codes until a recovery code passes
  | "otp_locked"
  // Ours: a mailed link's token that is unknown, already used or expired (HTTP 400)
  | "invalid_reset_token"
  | "invalid_verification_token"
  // Not an OAuth code: an unknown tenant or workspace, or an unknown route under it
  | "not_found";

export interface OAuthErrorOptions {
  /** Private: why this happened, for logs only. */
  detail?: string;
  headers?: Record<string, string>;
  /** Another status than the class's (413 for an oversized body, 403 for a missing permission). */
  status?: number;
  /** Public members of the error response besides `error` and `error_description`. */
  fields?: Record<string, string>;
}

export abstract class OAuthError extends Error {
  /** The HTTP status of the class; an instance may say otherwise (`options.status`). */
  static readonly defaultStatus: number = 400;
  abstract readonly error: OAuthErrorCode;
  readonly status: number;
  readonly description: string;
  readonly detail: string | undefined;
  readonly headers: Record<string, string>;
  readonly fields: Record<string, string>;

  constructor(description: string, options: OAuthErrorOptions = {}) {
    super(description);
    this.name = new.target.name;
    this.status = options.status ?? (new.target as unknown as typeof OAuthError).defaultStatus;
    this.description = description;
    this.detail = options.detail;
    this.headers = options.headers ?? {};
    this.fields = options.fields ?? {};
  }
}

export class InvalidRequest extends OAuthError {
  readonly error = "invalid_request";
}

/** RFC 6749 §5.2: 401, with `WWW-Authenticate` naming the scheme the client tried. */
export class InvalidClient extends OAuthError {
  readonly error = "invalid_client";
  static override readonly defaultStatus = 401;
}

export class InvalidGrant extends OAuthError {
  readonly error = "invalid_grant";
}

/** RFC 6749 §5.2: 400 at the token endpoint; 403 where an authenticated client lacks a permission. */
export class UnauthorizedClient extends OAuthError {
  readonly error = "unauthorized_client";
}

export class UnsupportedGrantType extends OAuthError {
  readonly error = "unsupported_grant_type";
}

export class InvalidScope extends OAuthError {
  readonly error = "invalid_scope";
}

/** The authentication scheme of an access token: RFC 6750's bearer, or RFC 9449's DPoP. */
export type TokenScheme = "Bearer" | "DPoP";

const quote = (params: Record<string, string>) => Object.entries(params).map(([k, v]) => `${k}="${v.replace(/["\\]/g, "")}"`);

/** RFC 6750 §3: a challenge quoting the error, so that a client can tell what to fix. */
export function bearerChallenge(realm: string, params: Record<string, string>): Record<string, string> {
  return { "WWW-Authenticate": `Bearer ${quote({ realm, ...params }).join(", ")}` };
}

/** RFC 9449 §7.1: the same for the DPoP scheme, which also names the proof algorithms accepted. */
export function dpopChallenge(realm: string, params: Record<string, string>): Record<string, string> {
  return { "WWW-Authenticate": `DPoP ${quote({ realm, ...params, algs: DPOP_ALGS.join(" ") }).join(", ")}` };
}

/** A challenge of the scheme the client used (or must use). */
export function challenge(scheme: TokenScheme, realm: string, params: Record<string, string>): Record<string, string> {
  return scheme === "DPoP" ? dpopChallenge(realm, params) : bearerChallenge(realm, params);
}

/** RFC 6750 §3.1 (RFC 9449 §7.1 for DPoP): the access token is expired, revoked, malformed or otherwise invalid. */
export class InvalidToken extends OAuthError {
  readonly error = "invalid_token";
  static override readonly defaultStatus = 401;
  constructor(realm: string, description: string, detail?: string, scheme: TokenScheme = "Bearer") {
    super(description, { detail, headers: challenge(scheme, realm, { error: "invalid_token", error_description: description }) });
  }
}

/** RFC 6750 §3.1: the token is good but lacks the scope the resource needs. */
export class InsufficientScope extends OAuthError {
  readonly error = "insufficient_scope";
  static override readonly defaultStatus = 403;
  constructor(realm: string, scope: string, scheme: TokenScheme = "Bearer") {
    const description = `the access token lacks the ${scope} scope`;
    super(description, { headers: challenge(scheme, realm, { error: "insufficient_scope", error_description: description, scope }) });
  }
}

/**
 * RFC 9470 §3: the sign-in behind the access token does not meet what the request needs (here: a
 * change of the user's second factor, by password, from a session that never passed that factor).
 * 401 with a challenge, as RFC 6750's errors.
 */
export class InsufficientUserAuthentication extends OAuthError {
  readonly error = "insufficient_user_authentication";
  static override readonly defaultStatus = 401;
  constructor(realm: string, description: string, scheme: TokenScheme = "Bearer") {
    super(description, { headers: challenge(scheme, realm, { error: "insufficient_user_authentication", error_description: description }) });
  }
}

/**
 * RFC 9449 §5 and §7.1: a DPoP proof is missing where one is needed, malformed, or fails a check.
 * 400 at the token endpoint; at a resource endpoint (`realm` given) 401 with a DPoP challenge.
 */
export class InvalidDpopProof extends OAuthError {
  readonly error = "invalid_dpop_proof";
  constructor(description: string, detail?: string, realm?: string) {
    super(description, {
      detail,
      ...(realm === undefined ? {} : { status: 401, headers: dpopChallenge(realm, { error: "invalid_dpop_proof", error_description: description }) }),
    });
  }
}

/**
 * RFC 9449 §8 (§9 at a resource endpoint): the proof must carry the nonce this server provides in
 * `DPoP-Nonce`. 400 at the token endpoint; at a resource endpoint (`realm` given) 401 with a challenge.
 */
export class UseDpopNonce extends OAuthError {
  readonly error = "use_dpop_nonce";
  constructor(nonce: string, description: string, realm?: string) {
    const headers = { "DPoP-Nonce": nonce, ...(realm === undefined ? {} : dpopChallenge(realm, { error: "use_dpop_nonce", error_description: description })) };
    super(description, { headers, ...(realm === undefined ? {} : { status: 401 }) });
  }
}

/** RFC 7591 §3.2.2: a metadata field is invalid, unsupported, or breaks a rule of this server. */
export class InvalidClientMetadata extends OAuthError {
  readonly error = "invalid_client_metadata";
}

/** RFC 7591 §3.2.2: this server has no redirect-based flows, so it accepts no redirect URI. */
export class InvalidRedirectUri extends OAuthError {
  readonly error = "invalid_redirect_uri";
}

/**
 * RFC 6749 §4.3.2 asks the server to protect the password grant against brute force: too many
 * failures from one address (for one username, or in all) are refused without verifying.
 */
export class TooManyAttempts extends OAuthError {
  readonly error = "too_many_attempts";
  static override readonly defaultStatus = 429;
  constructor(retryAfterSeconds: number, detail: string) {
    super("too many failed sign-in attempts; try again later", { detail, headers: { "Retry-After": String(retryAfterSeconds) } });
  }
}

/**
 * Auth0's step-up: the password was right, but the sign-in needs a second factor. The
 * `mfa_token` names the pending sign-in at the MFA grants and the /mfa endpoints.
 */
export class MfaRequired extends OAuthError {
  readonly error = "mfa_required";
  static override readonly defaultStatus = 403;
  constructor(mfaToken: string, detail: string) {
    super("multi-factor authentication required", { detail, fields: { mfa_token: mfaToken } });
  }
}

/**
 * A confirmed TOTP factor that took MFA_FACTOR_MAX_WRONG_CODES wrong codes in a row (NIST SP
 * 800-63B §5.2.2 bounds them): its codes are refused, right or wrong and unchecked, until a
 * recovery code passes a sign-in. No Retry-After: waiting does not end it.
 */
export class OtpLocked extends OAuthError {
  readonly error = "otp_locked";
  static override readonly defaultStatus = 403;
  constructor(detail: string) {
    super("too many wrong codes in a row: codes from the authenticator app are refused until a recovery code is used", { detail });
  }
}

/** An address that caused too many unauthenticated failures this minute (see request-budget.ts). */
export class TooManyRequests extends OAuthError {
  readonly error = "too_many_requests";
  static override readonly defaultStatus = 429;
  constructor(retryAfterSeconds: number) {
    super("too many failed requests from this address; try again later", {
      detail: "unauthenticated failure budget spent",
      headers: { "Retry-After": String(retryAfterSeconds) },
    });
  }
}

/** A password-reset link's token that is unknown, used, expired, or another client's. */
export class InvalidResetToken extends OAuthError {
  readonly error = "invalid_reset_token";
}

/** An email-verification link's token that is unknown, used or expired. */
export class InvalidVerificationToken extends OAuthError {
  readonly error = "invalid_verification_token";
}

export class NotFound extends OAuthError {
  readonly error = "not_found";
  static override readonly defaultStatus = 404;
}

export class MethodNotAllowed extends OAuthError {
  readonly error = "invalid_request";
  static override readonly defaultStatus = 405;
  constructor(allowed: readonly string[]) {
    super(`method not allowed; use ${allowed.join(" or ")}`, { headers: { Allow: allowed.join(", ") } });
  }
}

/** Something the request needs is down for now (RFC 6749 §4.1.2.1's code): the mail server, for a confirmation link. */
export class TemporarilyUnavailable extends OAuthError {
  readonly error = "temporarily_unavailable";
  static override readonly defaultStatus = 503;
}

/** Anything unexpected: the caller learns nothing but that it was our fault. */
export class ServerError extends OAuthError {
  readonly error = "server_error";
  static override readonly defaultStatus = 500;
  constructor(detail: string) {
    super("the server could not handle the request", { detail });
  }
}
