import { escapeHtml, type Mail } from "@/lib/platform/mail.ts";

/** What every mail of a workspace says about whom it is for. */
export interface Addressee {
  /** The workspace's name: the mail says where the account is. */
  workspaceName: string;
  username: string;
  to: string;
}

/**
 * A mail of a few paragraphs and at most one link, in plain text and the same in simple, escaped
 * HTML. A paragraph's own line breaks stay line breaks in both.
 */
function mail(to: string, subject: string, before: string[], link: string | null, after: string[]): Mail {
  const text = [...before, ...(link === null ? [] : [link]), ...after].join("\n\n") + "\n";
  const paragraphs = (lines: string[]) => lines.map((line) => `<p>${escapeHtml(line).replaceAll("\n", "<br>\n")}</p>`).join("\n");
  const html = [
    "<!doctype html>",
    '<html><body style="font-family: system-ui, sans-serif; line-height: 1.5">',
    paragraphs(before),
    ...(link === null ? [] : [`<p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p>`]),
    paragraphs(after),
    "</body></html>",
  ].join("\n");
  return { to, subject, text, html };
}

const minutes = (seconds: number) => Math.max(1, Math.round(seconds / 60));
const inWords = (seconds: number) => (seconds >= 7200 && seconds % 3600 === 0 ? `${seconds / 3600} hours` : `${minutes(seconds)} minutes`);

/** The password-reset mail: the link is its only secret. */
export function passwordResetMail(to: Addressee, link: string, ttlSeconds: number): Mail {
  return mail(
    to.to,
    `Reset your password for ${to.workspaceName}`,
    [`Someone asked to reset the password of the account ${to.username} at ${to.workspaceName}. To choose a new password, open this link:`],
    link,
    [
      `The link works once, for ${inWords(ttlSeconds)}. Setting a new password signs the account out everywhere.`,
      "If you did not ask for this, ignore this mail: your password stays as it is.",
    ],
  );
}

/** The mail to a new address, asking its owner to confirm it. */
export function emailVerificationMail(to: Addressee, link: string, ttlSeconds: number): Mail {
  return mail(
    to.to,
    `Confirm your email address for ${to.workspaceName}`,
    [`The account ${to.username} at ${to.workspaceName} asked to use this address. To confirm that it is yours, open this link:`],
    link,
    [`The link works once, for ${inWords(ttlSeconds)}. Until then the account keeps its current address.`, "If you did not ask for this, ignore this mail."],
  );
}

/**
 * The mail after a second factor took too many wrong codes in a row: a code is asked for only
 * after the right password, so whoever typed them knows it (or the user's app is out of step).
 */
export function codesLockedMail(to: Addressee, wrongCodes: number): Mail {
  return mail(
    to.to,
    `Two-step verification codes locked for ${to.workspaceName}`,
    [
      `Someone signing in to the account ${to.username} at ${to.workspaceName} entered the right password, then ${wrongCodes} wrong codes in a row. Codes from the account's authenticator app are now refused.`,
    ],
    null,
    [
      "To sign in, use one of your recovery codes instead: that also turns the app's codes back on. If you have none left, ask the people who run this service to reset your two-step verification.",
      "If this was not you, someone knows your password: change it as soon as you have signed in.",
    ],
  );
}

/**
 * A change to how the account is signed in to, made by whoever held a session or a link: the
 * notice tells its owner, so that a change they did not make does not go unseen.
 */
export type Notice =
  | { kind: "password_changed"; how: "account" | "reset" | "administrator" }
  /** `newEmail` null: the address was removed (an administrator's change only). */
  | { kind: "email_changed"; newEmail: string | null; by?: "administrator" }
  | { kind: "mfa_enabled" }
  | { kind: "mfa_disabled"; by?: "administrator" }
  | { kind: "recovery_codes_replaced" }
  /**
   * A sign-in from an address the account had not signed in from lately (ASVS 4.0.3 §2.2.3: "logging
   * in from unknown or risky locations"): when (ISO 8601, UTC), from where, with what, through which client.
   */
  // `client`: the app's client_id; `clientName`: its name (absent from a job made before names
  // were mailed; a server of that version, sweeping a newer job, mails the client_id).
  // `secondFactor`: the one the sign-in passed, absent for a password alone (and from older jobs).
  | { kind: "new_sign_in"; at: string; address: string; device: string; client: string; clientName?: string; secondFactor?: SecondFactor };

/** What a sign-in passed besides the password. */
export type SecondFactor = "otp" | "recovery-code";

/**
 * What the new sign-in notice says of what the sign-in passed: its line, who else has what should
 * it not have been the owner, and what the owner does then about that second factor after a new
 * password (the labels are the account page's).
 */
const PASSED: Record<SecondFactor | "none", { signedInWith: string; known: string; then: string }> = {
  none: { signedInWith: "the password", known: "someone knows your password", then: "" },
  otp: {
    signedInWith: "the password and a code from the authenticator app",
    known: "someone knows your password and has your authenticator app's codes",
    then: ', then "Turn off two-step verification" on your account page and set it up again with a new entry in the app',
  },
  "recovery-code": {
    signedInWith: "the password and a recovery code",
    known: "someone knows your password and has one of your recovery codes",
    then: ', then "Get new recovery codes" on your account page',
  },
};

/** `bob@example.com` as `b***@example.com`: the old address learns that the address changed, not to what. */
export function maskedEmail(email: string): string {
  const at = email.lastIndexOf("@");
  return `${[...email.slice(0, at)][0] ?? ""}***${email.slice(at)}`;
}

const HELP = "ask the people who run this service for help straight away";
const BY_ADMINISTRATOR = "by an administrator of this service";
/** The last paragraph of a notice of an administrator's change: the owner may have asked for it. */
const ASKED_FOR = `If you asked for this, there is nothing more to do. If you did not, ${HELP}.`;

/**
 * A name that someone other than the owner chose, as the owner's mail may show it: a device's, as
 * the signing-in browser's User-Agent gave it, or an app's, as its registration did. Letters,
 * digits, spaces and `_+()-` only (no dot, slash, colon, `@` or angle bracket), at most 60 of
 * them, so that no link, address or markup gets into the mail through it; `otherwise` when
 * nothing is left.
 */
export function asNamed(name: string, otherwise = "Unknown device"): string {
  // By code point: a cut never splits a letter outside the Basic Multilingual Plane.
  const kept = [...name.replace(/[^\p{L}\p{N} _+()-]/gu, "")].slice(0, 60).join("");
  return kept.trim() || otherwise;
}

/** `2026-12-07T17:20:05.123Z` as "7 December 2026, 17:20 UTC": one form for every reader, whatever their zone. */
function signInTime(iso: string): string {
  const at = new Date(iso);
  const month = at.toLocaleString("en-GB", { month: "long", timeZone: "UTC" });
  const hhmm = at.toISOString().slice(11, 16);
  return `${at.getUTCDate()} ${month} ${at.getUTCFullYear()}, ${hhmm} UTC`;
}

/** The mail of a notice, to the address it goes to (for a changed address, the old one). */
export function noticeMail(to: Addressee, notice: Notice): Mail {
  const account = `the account ${to.username} at ${to.workspaceName}`;
  switch (notice.kind) {
    case "password_changed":
      return mail(
        to.to,
        `Your password for ${to.workspaceName} was changed`,
        [
          notice.how === "reset"
            ? `The password of ${account} was reset, with a link mailed to this address. Every session of the account was signed out.`
            : notice.how === "administrator"
              ? `The password of ${account} was set ${BY_ADMINISTRATOR}. Every session of the account was signed out.`
              : `The password of ${account} was changed on its account page. Every other session of the account was signed out.`,
        ],
        null,
        [
          notice.how === "administrator"
            ? ASKED_FOR
            : `If this was you, there is nothing more to do. If it was not, choose a new password with "Forgot password?" on the sign-in page, or ${HELP}.`,
        ],
      );
    case "email_changed":
      return mail(
        to.to,
        `Your email address for ${to.workspaceName} was changed`,
        [
          notice.newEmail === null
            ? `The email address of ${account} was removed ${BY_ADMINISTRATOR}: mails about the account no longer go to this address.`
            : notice.by === "administrator"
              ? `The email address of ${account} was changed ${BY_ADMINISTRATOR} to ${maskedEmail(notice.newEmail)}. Mails about the account, password reset links among them, go there from now on, and no longer to this address.`
              : `The email address of ${account} is now ${maskedEmail(notice.newEmail)}. Mails about the account, password reset links among them, go there from now on, and no longer to this address.`,
        ],
        null,
        [
          notice.by === "administrator" || notice.newEmail === null
            ? ASKED_FOR
            : `If this was you, there is nothing more to do. If it was not, someone else has signed in as you: ${HELP}.`,
        ],
      );
    case "mfa_enabled":
      return mail(
        to.to,
        `Two-step verification turned on for ${to.workspaceName}`,
        [`Two-step verification was turned on for ${account}: signing in now takes a code from an authenticator app after the password.`],
        null,
        [`If this was you, there is nothing more to do. If it was not, someone who knows your password has chosen the app: ${HELP}.`],
      );
    case "mfa_disabled":
      return mail(
        to.to,
        `Two-step verification turned off for ${to.workspaceName}`,
        [
          `Two-step verification was turned off for ${account}${notice.by === "administrator" ? ` ${BY_ADMINISTRATOR}` : ""}: codes from its authenticator app and its recovery codes no longer work.`,
        ],
        null,
        [
          notice.by === "administrator"
            ? ASKED_FOR
            : `If this was you, there is nothing more to do. If it was not, change your password and turn two-step verification on again from your account page, or ${HELP}.`,
        ],
      );
    case "new_sign_in": {
      const factor = notice.secondFactor ?? "none";
      const passed = PASSED[factor];
      return mail(
        to.to,
        `New sign-in to your account at ${to.workspaceName}`,
        [
          `Someone signed in to ${account} from an address it had not signed in from lately:`,
          `When: ${signInTime(notice.at)}\nAddress: ${notice.address}\nDevice: ${asNamed(notice.device)} (as the browser named itself)\nApp: ${asNamed(notice.clientName ?? "", asNamed(notice.client, "Unknown app"))}\nSigned in with: ${passed.signedInWith}`,
        ],
        null,
        [
          `If this was you, there is nothing more to do. If it was not, ${passed.known}: choose a new ${factor === "none" ? "one" : "password"} with "Forgot password?" on the sign-in page (that signs the account out everywhere)${passed.then}, or ${HELP}.`,
        ],
      );
    }
    case "recovery_codes_replaced":
      return mail(to.to, `New recovery codes for ${to.workspaceName}`, [`New recovery codes were made for ${account}. The old ones no longer work.`], null, [
        `If this was you, there is nothing more to do. If it was not, change your password from your account page, or ${HELP}.`,
      ]);
  }
}
