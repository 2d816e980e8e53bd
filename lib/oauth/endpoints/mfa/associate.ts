import { recoveryCodeHash, newRecoveryCodes } from "@/lib/oauth/mfa/recovery-codes.ts";
import { newTotpSecret, totpUri } from "@/lib/oauth/mfa/totp.ts";
import { InvalidRequest } from "@/lib/oauth/protocol/errors.ts";
import { readParams } from "@/lib/oauth/protocol/form.ts";
import { json, type OAuthRequest, type OAuthResponse } from "@/lib/oauth/protocol/responses.ts";
import { AlreadyEnrolled, startEnrolment } from "@/lib/oauth/store/mfa.ts";
import type { EndpointContext } from "@/lib/oauth/endpoints/context.ts";
import { alreadySetUp, confirmedFactor, mfaCaller, proofAddress, sessionEndedMeanwhile } from "@/lib/oauth/endpoints/mfa/caller.ts";
import { proveUser } from "@/lib/oauth/mfa/attempts.ts";
import { accessTokenRequired, withDpopNonce } from "@/lib/oauth/endpoints/access-token-caller.ts";

/**
 * `POST /mfa/associate` (Auth0's shape): starts a TOTP enrolment for a user without a confirmed
 * factor, with an `mfa_token` (the `required` policy's enrolment during sign-in) or their access
 * token and their `password` (the account page). `authenticator_types` must name `otp` (JSON
 * `["otp"]`, or in a form `otp` or `["otp"]`). The answer carries the secret, its `otpauth://` URI and ten recovery codes:
 * the only time any of them is shown. The factor stays pending (it gates nothing) until a first
 * code confirms it: the `mfa-otp` grant with the same `mfa_token`, or `POST /mfa/confirm`.
 * Starting again replaces a pending enrolment.
 */
export async function mfaAssociateEndpoint(request: OAuthRequest, { workspace, audit, log }: EndpointContext): Promise<OAuthResponse> {
  audit.event = "mfa.associate";
  const caller = await mfaCaller(request, workspace, audit);
  if (!caller) return accessTokenRequired(workspace);
  const params = await readParams(request);
  const types = listParam(params.get("authenticator_types"));
  // Said without quotes: RFC 6749 §5.2 allows none in error_description (they would read as "?").
  if (types.length === 0 || types.some((t) => t !== "otp")) throw new InvalidRequest("authenticator_types must be otp, the only type supported");
  if (confirmedFactor(caller)) throw alreadySetUp("already enrolled");
  // From a session, only with the user's password: a session alone (a stolen token, a device left
  // signed in) must not bind the account to an authenticator of its holder's choosing, whose codes
  // every later sign-in would then ask for. During a sign-in the mfa_token stands for the password
  // just given.
  if (caller.via === "access_token") {
    if (params.get("password") === undefined)
      throw new InvalidRequest("the password parameter is required: a signed-in user adds a factor with their password");
    await proveUser(params, { workspaceId: workspace.id, username: caller.user.username, ip: proofAddress(caller), log }, undefined);
  }
  const secret = newTotpSecret();
  const codes = newRecoveryCodes();
  // Read before the body, which may have been held back while a factor was confirmed.
  await startEnrolment(caller.user.id, secret, codes.map(recoveryCodeHash), caller.sessionId).catch((err: unknown) => {
    throw err instanceof AlreadyEnrolled ? alreadySetUp("enrolled meanwhile") : sessionEndedMeanwhile(err, caller, workspace.issuer);
  });
  return withDpopNonce(
    json({
      authenticator_type: "otp",
      secret,
      barcode_uri: totpUri(secret, `${workspace.tenant}/${workspace.slug}`, caller.user.username),
      recovery_codes: codes,
    }),
    caller,
  );
}

/** A list parameter: a JSON array of strings, or names separated by spaces or commas. */
function listParam(value: string | undefined): string[] {
  if (value === undefined) return [];
  if (value.startsWith("[")) {
    try {
      const parsed: unknown = JSON.parse(value);
      if (Array.isArray(parsed) && parsed.every((v) => typeof v === "string")) return parsed;
    } catch {
      // Not JSON: refused below.
    }
    throw new InvalidRequest("authenticator_types is not a list of names");
  }
  return value.split(/[\s,]+/).filter(Boolean);
}
