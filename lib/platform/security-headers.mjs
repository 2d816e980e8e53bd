// Headers on every response of the app (next.config.js) and of the authorization server's paths
// that the production server answers itself (lib/oauth/pipeline/node-adapter.ts). Pages add their own CSP.
export const SECURITY_HEADERS = [
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "Referrer-Policy", value: "no-referrer" },
  { key: "X-Frame-Options", value: "DENY" },
  { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=(), payment=()" },
];

/**
 * The CSP of every JSON answer: JSON is never a document to render, frame or run. (The
 * authorization server's own answers carry the same from lib/oauth/protocol/responses.ts, which
 * imports nothing of the platform.)
 */
export const JSON_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";

/**
 * RFC 6797 HSTS for an app served over https: two years, subdomains included, so that a browser
 * that has been here once never again sends a session cookie or a password in clear. Undefined for
 * http (a browser ignores it there, and localhost must stay reachable over http).
 * @param {string} appUrl the app's public origin (APP_URL), known only at run time
 * @returns {{ key: string, value: string } | undefined}
 */
export function strictTransportSecurity(appUrl) {
  return appUrl.startsWith("https://") ? { key: "Strict-Transport-Security", value: "max-age=63072000; includeSubDomains" } : undefined;
}

/**
 * SECURITY_HEADERS, plus HSTS when `appUrl` is https.
 * @param {string} appUrl
 * @returns {Array<{ key: string, value: string }>}
 */
export function securityHeaders(appUrl) {
  const hsts = strictTransportSecurity(appUrl);
  return hsts ? [...SECURITY_HEADERS, hsts] : [...SECURITY_HEADERS];
}
