import { sessionLifetime } from "@/lib/oauth/model/session.ts";
import type { Client } from "@/lib/oauth/model/client.ts";
import type { Workspace } from "@/lib/oauth/model/workspace.ts";
import { isKnownAddress, knownAddressCutoff } from "@/lib/oauth/model/user.ts";
import { startSession, type Device } from "@/lib/oauth/store/sessions.ts";
import { hasKnownAddress, rememberAddress } from "@/lib/oauth/store/users.ts";
import { userTokens, type TokenResponse, type TokenUser } from "@/lib/oauth/tokens/response.ts";
import { mailUser } from "@/lib/oauth/endpoints/account/notices.ts";
import type { GrantRequest } from "@/lib/oauth/grants/types.ts";
import { describeDeviceLazily } from "@/lib/platform/device-words.ts";
import { settings } from "@/lib/platform/env.ts";
import { mailDelivery } from "@/lib/platform/mail.ts";
import { messageOf } from "@/lib/platform/error-message.ts";

/** A known address's last sign-in is written again only once a day. */
const REMEMBER_AGAIN_MS = 86_400_000;

export interface CompletedSignIn {
  workspace: Workspace;
  client: Client;
  user: TokenUser;
  scope: readonly string[];
  /** RFC 8176: how the user authenticated, kept with the session for every later token. */
  amr: string[];
  /** The address group the user signed in from, and when they last did from there (ms), if ever. */
  address: string;
  knownSince: number | null;
  /** One instant for the whole answer: a fresh sign-in's auth_time is its tokens' iat. */
  now: number;
  /** The thumbprint of the request's DPoP key, if it proved one (RFC 9449 §5). */
  jkt?: string;
  /** The end user's address and browser, as a trusted client passed them (or the caller's own): kept with the session. */
  device: Device;
  /** The password hash a password grant checked: the session starts only while it is still the user's (startSession). */
  whilePassword?: string;
  /** The grant's request, whose logger (read only when a line is logged) a new sign-in notice reports to. */
  grant: Pick<GrantRequest, "log">;
}

/**
 * A sign-in every factor of which has been passed: the session starts, the address is remembered
 * as the user's (and, when it is new to a user known from others, its owner is told), and the
 * tokens are issued (a refresh token when the client may refresh).
 */
export async function completeSignIn({
  workspace,
  client,
  user,
  scope,
  amr,
  address,
  knownSince,
  now,
  jkt,
  device,
  whilePassword,
  grant,
}: CompletedSignIn): Promise<TokenResponse> {
  const { session, refreshToken } = await startSession(
    {
      workspaceId: workspace.id,
      clientId: client.id,
      userId: user.id,
      amr,
      authTime: Math.floor(now / 1000),
      ttl: sessionLifetime(client, workspace),
      // RFC 9449 §5: a public client's refresh tokens are bound to its DPoP key; a confidential
      // client's are not (it authenticates each refresh), though its access tokens are.
      dpopJkt: client.confidential ? null : (jkt ?? null),
      now,
      device,
      whilePassword,
    },
    client.grantTypes.has("refresh_token")
      ? { clientId: client.id, userId: user.id, scope, ttl: client.refreshTokenTtl ?? workspace.refreshTokenTtl }
      : undefined,
  );
  // After the session, which may be refused (the password changed meanwhile): only a sign-in makes
  // an address known, and only while its session is live (a change of password since ended it and
  // forgot every address). Written again only once a day: a success costs no extra write otherwise.
  if (knownSince === null || now - knownSince > REMEMBER_AGAIN_MS) {
    // ASVS 4.0.3 §2.2.3: a sign-in from an address the user had not signed in from within
    // LOCKOUT_KNOWN_ADDRESS_DAYS (as the brute-force defence counts them), while they had from
    // another (not their first, nor their first since a change of password, which forgets every
    // address), is mailed to them. The others are read before this address is remembered. The
    // sign-in is made already: no failure of the notice's fails it.
    const since = new Date(knownAddressCutoff(now));
    const tell =
      !isKnownAddress(knownSince, now) && newSignInNoticeOn() && (await noticeSafely(grant, user.id, () => hasKnownAddress(user.id, since))) === true;
    await rememberAddress(user.id, address, new Date(now), session.id, knownSince !== null);
    if (tell)
      await noticeSafely(grant, user.id, async () => {
        const notice = {
          kind: "new_sign_in",
          at: new Date(now).toISOString(),
          address: device.ip,
          device: await describeDeviceLazily(device.userAgent),
          client: client.clientId,
          clientName: client.name,
          secondFactor: amr.includes("otp") ? "otp" : amr.includes("mfa") ? "recovery-code" : undefined,
        } as const;
        await mailUser(user.id, NEW_SIGN_IN_JOB, { notice }, grant.log);
      });
  }
  return userTokens({ workspace, client, user, scope, session, refreshToken, jkt, now });
}

const NEW_SIGN_IN_JOB = "account.notice.new_sign_in";

/** A step of the new sign-in notice; its failure is logged (the notice dropped) and answered undefined. */
async function noticeSafely<T>(grant: Pick<GrantRequest, "log">, userId: string, step: () => Promise<T>): Promise<T | undefined> {
  try {
    return await step();
  } catch (err) {
    const detail = { event: `${NEW_SIGN_IN_JOB}.dropped`, userId, err: messageOf(err) };
    grant.log.error(detail, `${NEW_SIGN_IN_JOB}: the user was not mailed`);
    return undefined;
  }
}

/** SIGN_IN_NOTICE, while mail is on (with it off there is no one to tell, and no read is made). */
const newSignInNoticeOn = () => settings().SIGN_IN_NOTICE === "on" && mailDelivery() !== "off";
