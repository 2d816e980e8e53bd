import type { NextAuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { settings } from "@/lib/env.ts";
import { clientIp, compileTrustProxy } from "@/lib/http/client-ip.ts";
import { logger } from "@/lib/logger.ts";
import { loginConfig } from "@/lib/login/config.ts";
import { SESSION_MAX_AGE } from "@/lib/login/session.ts";
import { passwordSignIn, revokeRefreshToken, SignInError } from "@/lib/login/token-client.ts";

type Headers = Record<string, string | string[] | undefined> | undefined;

function header(headers: Headers) {
  return (name: string) => {
    const v = headers?.[name];
    return Array.isArray(v) ? v.join(", ") : v;
  };
}

/** Only a path on this origin: never `//host`, `/\host` or an absolute URL elsewhere. */
export function safeCallbackPath(url: string | null | undefined, origin: string): string {
  if (!url) return "/account";
  try {
    const resolved = new URL(url, origin);
    if (resolved.origin !== origin) return "/account";
    return `${resolved.pathname}${resolved.search}${resolved.hash}`;
  } catch {
    return "/account";
  }
}

/**
 * next-auth v4, Credentials provider, JWT sessions. Built per request so that `next build`
 * needs no secret. The session callback shapes what reaches the browser: the user's name and
 * email only; the tokens stay in the encrypted cookie.
 */
export function authOptions(): NextAuthOptions {
  const config = loginConfig();
  return {
    secret: config.nextAuthSecret,
    session: { strategy: "jwt", maxAge: SESSION_MAX_AGE },
    useSecureCookies: config.secureCookies,
    pages: { signIn: "/login", error: "/login" },
    providers: [
      CredentialsProvider({
        name: "Password",
        credentials: { username: { label: "Username", type: "text" }, password: { label: "Password", type: "password" } },
        async authorize(credentials, req) {
          const username = credentials?.username ?? "";
          const password = credentials?.password ?? "";
          if (!username || !password) throw new SignInError("invalid_credentials");
          const endUserIp = clientIp(header(req.headers), compileTrustProxy(settings().TRUST_PROXY));
          try {
            const { tokens, user } = await passwordSignIn(username, password, endUserIp);
            if (!user) throw new SignInError("refused", "no user");
            return { id: user.sub, name: user.name ?? null, email: user.email ?? null, tokens };
          } catch (err) {
            const reason = err instanceof SignInError ? err.reason : "unreachable";
            logger.info({ event: "login.failed", reason }, "sign-in failed");
            // next-auth passes the message on as the `error` of signIn(); it is one of our codes.
            throw new Error(reason);
          }
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
        await revokeRefreshToken(refreshToken).catch((err: unknown) => {
          logger.warn({ event: "logout.revoke_failed", err: err instanceof Error ? err.message : String(err) }, "revocation at sign-out failed");
        });
      },
    },
  };
}
