import js from "@eslint/js";
import nextPlugin from "@next/eslint-plugin-next";
import tseslint from "typescript-eslint";

/** One `no-restricted-imports` block per area (`forbid`: the import paths it may not use, as a regular expression); tests may reach across (they set up data). */
function boundaries(areas) {
  return areas.map(({ files, ignores = [], forbid, message }) => ({
    files,
    ignores: [...ignores, "**/*.test.ts"],
    rules: { "no-restricted-imports": ["error", { patterns: [{ regex: forbid, message }] }] },
  }));
}

export default tseslint.config(
  { ignores: [".next/", "node_modules/", "lib/generated/", "next-env.d.ts", "test-results/", "playwright-report/", "prisma/schema-engine-wasm.mjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { "@next/next": nextPlugin },
    rules: {
      ...nextPlugin.configs.recommended.rules,
      ...nextPlugin.configs["core-web-vitals"].rules,
      "no-console": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", ignoreRestSiblings: true }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
    },
  },
  // The architecture's boundaries (README, "Architecture"). Each file falls under one of these
  // blocks (ESLint would not merge two lists of restricted imports).
  ...boundaries([
    {
      // The login app talks to the authorization server over HTTP only: it must work unchanged
      // against any other ROPC server (OAUTH_ISSUER), so it may not import the server's code.
      files: ["lib/login/**", "app/login/**", "app/account/**", "app/api/**", "app/page.tsx", "app/not-found.tsx", "proxy.ts"],
      forbid: "^@/lib/(oauth|admin)/|^@/lib/platform/db\\.ts$|(^|/)lib/oauth/|^\\.\\./oauth/",
      message: "The login app reaches the authorization server over HTTP only.",
    },
    {
      // Infrastructure knows nothing of what runs on it.
      files: ["lib/platform/**"],
      forbid: "^@/lib/(oauth|login|admin)/",
      message: "lib/platform is infrastructure: it imports no feature code.",
    },
    {
      files: ["lib/oauth/protocol/**"],
      forbid: "^@/lib/(?!oauth/protocol/)",
      message: "lib/oauth/protocol is pure: errors, forms, responses, scopes; no database, no settings.",
    },
    {
      files: ["lib/oauth/model/**"],
      forbid: "^@/lib/(?!oauth/protocol/|oauth/model/|platform/env\\.ts$)",
      message: "lib/oauth/model holds shapes and rules of the domain: no database.",
    },
    {
      files: ["lib/oauth/store/**"],
      forbid: "^@/lib/(login|admin)/|^@/lib/oauth/(?!store/|model/|protocol/)",
      message: "The store reads and writes rows; it calls no endpoint, grant or token code.",
    },
    {
      // Clients a client registers (RFC 7591) obey the same invariants as those an operator adds:
      // the endpoint calls the admin layer's client use cases, and nothing else of that layer.
      files: ["lib/oauth/endpoints/registration.ts"],
      forbid: "^@/lib/platform/db\\.ts$|^@/lib/(generated|login)/|^@/lib/admin/(?!clients\\.ts$|errors\\.ts$)",
      message: "The registration endpoint uses the admin layer's client use cases (lib/admin/clients.ts) only.",
    },
    {
      files: ["lib/oauth/**"],
      ignores: ["lib/oauth/store/**", "lib/oauth/protocol/**", "lib/oauth/model/**", "lib/oauth/endpoints/registration.ts"],
      forbid: "^@/lib/platform/db\\.ts$|^@/lib/(generated|login|admin)/",
      message: "Only lib/oauth/store touches the database; the admin layer is for app/, the CLI and the server's adapters.",
    },
  ]),
  {
    files: ["**/*.mjs", "**/*.js"],
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly", Buffer: "readonly" } },
  },
);
