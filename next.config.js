import { SECURITY_HEADERS } from "./lib/platform/security-headers.mjs";

/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // Loaded from node_modules at run time, as the production launcher loads them: one copy of the
  // API's global state per process, and nothing of the SDK in the bundle (instrumentation.ts).
  serverExternalPackages: ["@opentelemetry/api", "@opentelemetry/sdk-trace-node", "@opentelemetry/exporter-trace-otlp-http", "@opentelemetry/resources"],
  // Every response. This list is fixed at build time, so it holds no HSTS: whether the app is
  // served over https (APP_URL) is known at run time only, and proxy.ts adds it to the pages,
  // lib/oauth/pipeline/node-adapter.ts to the authorization server's answers. Pages get their
  // Content-Security-Policy from proxy.ts too (with a nonce).
  async headers() {
    return [{ source: "/:path*", headers: [...SECURITY_HEADERS] }];
  },
};

export default nextConfig;
