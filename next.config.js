import { SECURITY_HEADERS } from "./lib/platform/security-headers.mjs";

/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  experimental: {
    // Next loads every route's modules when the server starts. In production the launcher answers
    // the authorization server's paths and the operations paths itself (lib/scripts/serve.ts), so
    // Next's copies of those routes (a second copy of lib/oauth's modules and of Prisma's client
    // runtime) are never used. Loaded on demand, they never load, and a page loads on its first
    // visit (README, Performance: 10 MB less live heap at start, a page's first visit ~0.1 s
    // slower).
    preloadEntriesOnStart: false,
  },
  // Loaded from node_modules at run time, as the production launcher loads them: one copy of the
  // API's global state per process, and nothing of the SDK in the bundle (instrumentation.ts).
  serverExternalPackages: ["@opentelemetry/api", "@opentelemetry/sdk-trace-node", "@opentelemetry/exporter-trace-otlp-http", "@opentelemetry/resources"],
  // `npm test` type-checks the whole project (tsc --noEmit) before its browser suite builds the
  // app: that build (e2e/serve.ts sets SKIP_BUILD_TYPECHECK=1) skips Next's second check of the
  // same files, ~20 s on two cores. Every other build checks.
  typescript: { ignoreBuildErrors: process.env.SKIP_BUILD_TYPECHECK === "1" },
  // Every response. This list is fixed at build time, so it holds no HSTS: whether the app is
  // served over https (APP_URL) is known at run time only, and proxy.ts adds it to the pages,
  // lib/oauth/pipeline/node-adapter.ts to the authorization server's answers. Pages get their
  // Content-Security-Policy from proxy.ts too (with a nonce).
  async headers() {
    return [{ source: "/:path*", headers: [...SECURITY_HEADERS] }];
  },
};

export default nextConfig;
