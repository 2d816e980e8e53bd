import type { LoggerInstance, NextAuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { settings } from "@/lib/platform/env.ts";
import { clientIp, compileTrustProxy, type TrustProxy } from "@/lib/platform/client-address.ts";
import { logger } from "@/lib/platform/logger.ts";
import { safeCallbackPath } from "@/lib/login/callback-url.ts";
import { loginConfig } from "@/lib/login/config.ts";
import { SESSION_MAX_AGE } from "@/lib/login/session.ts";
import { revokeRefreshToken } from "@/lib/login/token-client.ts";
import { signInStep, type MfaStep } from "@/lib/login/mfa-sign-in.ts";
import { lockoutCode, NEXT_STEP } from "@/lib/login/messages.ts";
import { selfCheckAfterFailure } from "@/lib/login/self-check.ts";
import { messageOf } from "@/lib/platform/error-message.ts";

// TRUST_PROXY compiled once per value (a sign-in reads it; parsing it costs more than using it).
let trust: { value: string | undefined; fn: TrustProxy } | undefined;
function trustProxy(): TrustProxy {
  const value = settings().TRUST_PROXY;
  if (!trust || trust.value !== value) trust = { value, fn: compileTrustProxy(value) };
  return trust.fn;
}

type Headers = Record<string, string | string[] | undefined> | undefined;

function header(headers: Headers) {
  return (name: string) => {
    const v = headers?.[name];
    return Array.isArray(v) ? v.join(", ") : v;
  };
}

/**
 * What an error passed to next-auth's logger says, without its stack (one log line per event).
 * jose's errors carry a stable `code`; their `name` is lost when the server bundle is minified.
 */
function describeError(metadata: unknown): { name?: string; code?: string; message?: string } {
  const err = metadata instanceof Error ? metadata : metadata && typeof metadata === "object" && "error" in metadata ? metadata.error : undefined;
  if (!(err instanceof Error)) return {};
  const code = "code" in err && typeof err.code === "string" ? err.code : undefined;
  return { ...(err.name ? { name: err.name } : {}), ...(code ? { code } : {}), message: err.message };
}

/**
 * next-auth's own errors and warnings (a tampered or stale session cookie, a configuration
 * problem) through the app's logger: one JSON line each, instead of next-auth's multi-line
 * console output with a stack.
 */
export const nextAuthLogger: LoggerInstance = {
  error(code, metadata) {
    // A session cookie that does not open is the browser's (tampered with, or sealed under a
    // NEXTAUTH_SECRET since changed), not the server's: next-auth goes on without a session. At
    // error level, anyone could raise the server's alarms with a cookie, at every request.
    if (code === "JWT_SESSION_ERROR") {
      logger.warn({ event: "nextauth.session_refused", code, error: describeError(metadata) }, "a session cookie that does not open was ignored");
      return;
    }
    logger.error({ event: "nextauth.error", code, error: describeError(metadata) }, "next-auth error");
  },
  warn(code) {
    logger.warn({ event: "nextauth.warn", code }, "next-auth warning");
  },
  debug(code, metadata) {
    logger.debug({ event: "nextauth.debug", code, error: describeError(metadata) }, "next-auth debug");
  },
};

/**
 * The sign-in step of one request: what its cookie held, and what authorize() decided to keep
 * (undefined: leave the cookie alone; null: delete it). The route writes `next` to the response.
 */
export interface MfaStepExchange {
  current: MfaStep | null;
  next?: MfaStep | null;
}

/**
 * What a sign-out's revocation at the issuer came to (`events.signOut`), for the route to read
 * once next-auth has answered: next-auth deletes the cookie whatever its events do. `failed`: the
 * issuer could not be asked, or did not say the token was revoked (RFC 7009 §2.2: a 200 for any
 * token, a spent one too) or already ended (`already_ended`, an issuer that refuses a dead token
 * with `invalid_token`), so the session may still live there.
 */
export interface SignOutExchange {
  revocation?: "revoked" | "already_ended" | "unsupported" | "failed";
}

/**
 * next-auth v4, Credentials provider, JWT sessions. Built per request so that `next build`
 * needs no secret. The session callback shapes what reaches the browser: the user's name and
 * email only; the tokens stay in the encrypted cookie.
 *
 * A sign-in may take more than one submit (a second factor, an enrolment): each is a credentials
 * sign-in whose step is carried between them by `mfaStep` (a sealed cookie, see mfa-sign-in.ts).
 * One that needs another step fails with {@link NEXT_STEP}, since next-auth has no other answer.
 */
export function authOptions(mfaStep: MfaStepExchange = { current: null }, signOut: SignOutExchange = {}): NextAuthOptions {
  const config = loginConfig();
  return {
    secret: config.nextAuthSecret,
    session: { strategy: "jwt", maxAge: SESSION_MAX_AGE },
    useSecureCookies: config.secureCookies,
    pages: { signIn: "/login", error: "/login" },
    logger: nextAuthLogger,
    providers: [
      CredentialsProvider({
        name: "Password",
        credentials: {
          username: { label: "Username", type: "text" },
          password: { label: "Password", type: "password" },
          otp: { label: "Authentication code", type: "text" },
          recoveryCode: { label: "Recovery code", type: "text" },
          done: { type: "hidden" },
        },
        async authorize(credentials, req) {
          const headerOf = header(req.headers);
          const endUser = { ip: clientIp(headerOf, trustProxy()), userAgent: headerOf("user-agent") };
          const outcome = await signInStep(credentials ?? {}, mfaStep.current, endUser);
          if (outcome.next !== undefined) mfaStep.next = outcome.next;
          if (outcome.kind === "signed_in") {
            const { tokens, user } = outcome.signedIn;
            return { id: user.sub, name: user.name ?? null, email: user.email ?? null, tokens };
          }
          if (outcome.kind === "next_step") {
            logger.info({ event: "login.next_step", stage: outcome.next.stage }, "sign-in needs another step");
            throw new Error(NEXT_STEP);
          }
          logger.info({ event: "login.failed", reason: outcome.reason }, "sign-in failed");
          // Not the user's doing: the first such failure checks the login app's settings again
          // and logs which one is wrong (lib/login/self-check.ts).
          if (outcome.reason === "refused" || outcome.reason === "unreachable") await selfCheckAfterFailure().catch(() => undefined);
          // next-auth passes the message on as the `error` of signIn(); it is one of our codes
          // (a lockout's with its end, so that the page can say how long).
          throw new Error(outcome.reason === "too_many_attempts" && outcome.retryAt ? lockoutCode(outcome.retryAt) : outcome.reason);
        },
      }),
    ],
    callbacks: {
      jwt({ token, user }) {
        if (user && "tokens" in user) token.tokens = user.tokens as typeof token.tokens;
        return token;
      },
      session({ session, token }) {
        return { expires: session.expires, user: { name: token.name ?? null, email: token.email ?? null } };
      },
      redirect({ url, baseUrl }) {
        return `${baseUrl}${safeCallbackPath(url, baseUrl)}`;
      },
    },
    events: {
      // RFC 7009: sign-out ends the refresh token (and its family) at the server, not just here.
      async signOut({ token }) {
        const refreshToken = token?.tokens?.refreshToken;
        if (!refreshToken) return;
        signOut.revocation = await revokeRefreshToken(refreshToken).catch((err: unknown) => {
          logger.warn({ event: "logout.revoke_failed", err: messageOf(err) }, "revocation at sign-out failed");
          return "failed" as const;
        });
        if (signOut.revocation === "unsupported")
          logger.warn({ event: "logout.revoke_unsupported" }, "sign-out could not revoke: the issuer has no revocation endpoint");
      },
    },
  };
}
