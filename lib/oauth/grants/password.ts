import { MAX_PASSWORD_INPUT_LENGTH } from "@/lib/platform/password-policy.ts";
import { settings } from "@/lib/platform/env.ts";
import { addressGroup } from "@/lib/platform/client-address.ts";
import { dummyPasswordHash, passwordVerifier } from "@/lib/platform/passwords.ts";
import { admitAttempt } from "@/lib/oauth/defence/brute-force.ts";
import { InvalidGrant, InvalidRequest, MfaRequired } from "@/lib/oauth/protocol/errors.ts";
import { json, type OAuthResponse } from "@/lib/oauth/protocol/responses.ts";
import type { FormParams } from "@/lib/oauth/protocol/form.ts";
import { grantScope, parseScope } from "@/lib/oauth/protocol/scopes.ts";
import { scopePolicy } from "@/lib/oauth/model/client.ts";
import { mfaPolicyOf, secondFactorRequired } from "@/lib/oauth/model/mfa.ts";
import { createChallenge } from "@/lib/oauth/store/mfa.ts";
import { findUserAndHistory } from "@/lib/oauth/store/users.ts";
import { CredentialsChanged } from "@/lib/oauth/store/credentials.ts";
import type { SignInUser } from "@/lib/oauth/model/user.ts";
import { completeSignIn } from "@/lib/oauth/grants/sign-in.ts";
import type { Grant, GrantRequest } from "@/lib/oauth/grants/types.ts";

export const MAX_USERNAME_LENGTH = 255;

/** Wrong password, unknown user and disabled user all get exactly this (no user enumeration). */
const BAD_CREDENTIALS = "invalid username or password";

/**
 * The Resource Owner Password Credentials grant (RFC 6749 §4.3), after the token endpoint has
 * authenticated the client and checked it may use this grant. The steps, in order: input, scope,
 * lookup (the user and the address's recent failures, one query), the brute-force defence, the
 * credentials, the user's state, and the second factor when the MFA policy asks for one.
 */
async function handle(grant: GrantRequest): Promise<OAuthResponse> {
  const { params, client, workspace, ip, audit, dpop } = grant;
  const { username, password } = requireCredentials(params);
  audit.username = username;
  const scope = grantScope(parseScope(params.get("scope")), scopePolicy(client, workspace));
  const address = addressGroup(ip);
  const started = Date.now();
  const { user, ...history } = await findUserAndHistory(
    workspace.id,
    username,
    address,
    settings().LOCKOUT_IP_LIMIT + 1,
    new Date(started - settings().LOCKOUT_WINDOW_SECONDS * 1000),
    settings().LOCKOUT_USER_IP_LIMIT + 1,
  );
  // From here on a failure is a password attempt, counted by the brute-force defence.
  audit.accountable = true;
  const attempt = admitAttempt({ workspaceId: workspace.id, kind: "user", name: username, ip: address }, history, started);
  let active: SignInUser;
  try {
    active = await verifyCredentials(user, password);
    audit.userId = active.id;
    if (active.disabled) throw new InvalidGrant(BAD_CREDENTIALS, { detail: "user disabled" });
  } catch (err) {
    if (err instanceof InvalidGrant) await attempt.failed();
    else attempt.release();
    throw err;
  }
  if (secondFactorRequired(mfaPolicyOf(client, workspace), active.mfaEnrolled)) {
    // Not a sign-in yet: failures from here stay counted until the second factor is passed too,
    // so a guesser who has the password cannot clear the count of wrong codes with it.
    attempt.release();
    const mfaToken = await supersededAsBadCredentials(
      undefined,
      createChallenge({
        workspaceId: workspace.id,
        clientId: client.id,
        userId: active.id,
        scope,
        expiresAt: new Date(Date.now() + settings().MFA_TOKEN_TTL_SECONDS * 1000),
        whilePassword: active.passwordHash,
        dpopJkt: dpop?.jkt,
      }),
    );
    throw new MfaRequired(mfaToken, active.mfaEnrolled ? "mfa challenge issued" : "mfa challenge issued: enrolment required");
  }
  const device = { ip, userAgent: audit.userAgent };
  const tokens = await supersededAsBadCredentials(
    attempt,
    completeSignIn({
      workspace,
      client,
      user: active,
      scope,
      amr: ["pwd"],
      address,
      knownSince: history.knownSince,
      now: Date.now(),
      jkt: dpop?.jkt,
      device,
      whilePassword: active.passwordHash,
      grant,
    }),
  );
  await attempt.succeeded();
  return json(tokens);
}

/**
 * A sign-in whose password was changed after it was checked (by its user elsewhere, a reset, an
 * operator) writes nothing, and is answered as a wrong password is: the change ended every
 * session, and whoever knew the old password must not keep one through it.
 */
async function supersededAsBadCredentials<T>(attempt: { release(): void } | undefined, write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (err) {
    // Not a success (nothing was issued) nor a wrong password: the attempt is let go uncounted.
    attempt?.release();
    if (err instanceof CredentialsChanged) throw new InvalidGrant(BAD_CREDENTIALS, { detail: err.message });
    throw err;
  }
}

/** §4.3.2: `username` and `password` are required; long inputs are refused before any hashing. */
export function requireCredentials(params: FormParams): { username: string; password: string } {
  const username = params.get("username");
  const password = params.get("password");
  if (username === undefined) throw new InvalidRequest("the username parameter is required");
  if (password === undefined) throw new InvalidRequest("the password parameter is required");
  if (username.length > MAX_USERNAME_LENGTH) throw new InvalidRequest(`username is longer than ${MAX_USERNAME_LENGTH} characters`);
  if (password.length > MAX_PASSWORD_INPUT_LENGTH) throw new InvalidRequest(`password is longer than ${MAX_PASSWORD_INPUT_LENGTH} characters`);
  return { username, password };
}

/**
 * Exactly one argon2id verification whether or not the user exists: an unknown username is
 * checked against a dummy hash with the same parameters, so timing does not reveal it.
 */
export async function verifyCredentials(user: SignInUser | null, password: string): Promise<SignInUser> {
  const valid = await passwordVerifier.verify(user?.passwordHash ?? (await dummyPasswordHash()), password);
  if (!user) throw new InvalidGrant(BAD_CREDENTIALS, { detail: "unknown user" });
  if (!valid) throw new InvalidGrant(BAD_CREDENTIALS, { detail: "wrong password" });
  return user;
}

/** `grant_type=password` */
export const passwordGrant: Grant = { type: "password", parameters: ["username", "password", "scope"], handle };
