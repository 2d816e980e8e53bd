/** The claims our ID tokens and access tokens may carry (OIDC Discovery `claims_supported`). */
export const CLAIMS_SUPPORTED = [
  "iss",
  "sub",
  "aud",
  "exp",
  "iat",
  "auth_time",
  "jti",
  "amr",
  "azp",
  "at_hash",
  "sid",
  "name",
  "email",
  "email_verified",
  "refresh_token_expires_at",
] as const;

/** What a user's claims are made from. */
export interface ClaimsUser {
  name: string | null;
  email: string | null;
  emailVerified: boolean;
}

/**
 * The user's claims that a granted scope releases (OIDC Core §5.4): `name` with `profile`,
 * `email` and `email_verified` with `email`. The one table for the ID token and userinfo.
 */
export function userClaims(user: ClaimsUser, scope: readonly string[]): { name?: string; email?: string; email_verified?: boolean } {
  const claims: { name?: string; email?: string; email_verified?: boolean } = {};
  if (scope.includes("profile") && user.name !== null) claims.name = user.name;
  if (scope.includes("email") && user.email !== null) {
    claims.email = user.email;
    claims.email_verified = user.emailVerified;
  }
  return claims;
}
