// Headers on every response of the app (next.config.js) and of the authorization server's paths
// that the production server answers itself (lib/http/node-bridge.ts). Pages add their own CSP.
export const SECURITY_HEADERS = [
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "Referrer-Policy", value: "no-referrer" },
  { key: "X-Frame-Options", value: "DENY" },
  { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=(), payment=()" },
];
