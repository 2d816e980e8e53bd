import { ConfigError, settings } from "@/lib/platform/env.ts";

// Development defaults only: a production server refuses to start without the real ones.
const DEV_NEXTAUTH_SECRET = "development-only-nextauth-secret-do-not-use";
const DEV_LOGIN_CLIENT_SECRET = "demo-web-secret";

export interface LoginConfig {
  /** The authorization server the login app signs users in with. */
  issuer: URL;
  clientId: string;
  clientSecret: string;
  nextAuthSecret: string;
  /** Whether the session cookie is `Secure` (APP_URL is https). */
  secureCookies: boolean;
  /**
   * Whether the token requests carry the end user's address and User-Agent in our own headers:
   * only to an issuer that knows them (LOGIN_FORWARD_END_USER; by default, this app's own).
   */
  forwardEndUser: boolean;
}

function required(name: "NEXTAUTH_SECRET" | "LOGIN_CLIENT_SECRET", fallback: string): string {
  const s = settings();
  const value = s[name];
  if (value) return value;
  if (s.isProduction) throw new ConfigError(`${name} is required in production.`);
  return fallback;
}

/**
 * The login app's settings, read at first use (never at build time). The login app knows its
 * authorization server only by its issuer URL: it imports nothing from lib/oauth.
 */
export function loginConfig(): LoginConfig {
  const s = settings();
  const issuer = new URL(s.OAUTH_ISSUER ?? `${s.APP_URL}/demo/default`);
  return {
    issuer,
    clientId: s.LOGIN_CLIENT_ID,
    clientSecret: required("LOGIN_CLIENT_SECRET", DEV_LOGIN_CLIENT_SECRET),
    nextAuthSecret: required("NEXTAUTH_SECRET", DEV_NEXTAUTH_SECRET),
    secureCookies: s.APP_URL.startsWith("https://"),
    forwardEndUser: s.LOGIN_FORWARD_END_USER === "auto" ? issuer.origin === new URL(s.APP_URL).origin : s.LOGIN_FORWARD_END_USER === "yes",
  };
}
