import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { ROUTE_TABLE, routePaths, routes } from "@/lib/oauth/routes.ts";

// Where the routes table's paths live under app/: a parameter `{tenant}` is Next's dynamic segment `[tenant]`.
const appFile = (path: string) => `app${path.replace(/\{(\w+)\}/g, "[$1]")}/route.ts`;

// Every route file that serves a workspace's endpoint: under the issuer, or RFC 8414's well-known forms.
function workspaceRouteFiles(): string[] {
  return ["app/[tenant]/[workspace]", "app/.well-known"].flatMap((dir) =>
    fs
      .readdirSync(dir, { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith("route.ts"))
      .map((f) => `${dir}/${f}`),
  );
}

describe("the one routes table", () => {
  it.each(Object.entries(ROUTE_TABLE).flatMap(([name, spec]) => routePaths(spec).map((path) => [name, path] as const)))(
    "%s has its app/ route file at %s, re-exporting its handlers",
    (name, path) => {
      expect(fs.readFileSync(appFile(path), "utf8")).toBe(
        `import { routes } from "@/lib/oauth/routes.ts";\n\nexport const { GET, POST, PUT, PATCH, DELETE, OPTIONS } = routes.${name};\n`,
      );
    },
  );

  it("has no workspace route file that the table does not know", () => {
    expect(workspaceRouteFiles().sort()).toEqual(Object.values(ROUTE_TABLE).flatMap(routePaths).map(appFile).sort());
  });

  it("serves discovery at the issuer's path and at RFC 8414 §3.1's well-known forms", () => {
    expect(routePaths(ROUTE_TABLE.discovery)).toEqual([
      "/{tenant}/{workspace}/.well-known/openid-configuration",
      "/.well-known/oauth-authorization-server/{tenant}/{workspace}",
      "/.well-known/openid-configuration/{tenant}/{workspace}",
    ]);
  });

  // The endpoints that verify DPoP proofs (RFC 9449: a token request's, or an access token's) name
  // the current nonce on their failures too (RouteOptions.dpop); the others take no proofs.
  it("marks exactly the routes that take DPoP proofs", () => {
    const marked = Object.entries(ROUTE_TABLE)
      .filter(([, spec]) => spec.options.dpop === true)
      .map(([name]) => name);
    expect(marked.sort()).toEqual(
      [
        "token",
        "registration",
        "userinfo",
        "mfaAuthenticators",
        "mfaAssociate",
        "mfaConfirm",
        "mfaRemove",
        "mfaRecoveryCodes",
        "accountSessions",
        "accountSession",
        "accountPassword",
        "accountActivity",
        "accountProfile",
      ].sort(),
    );
  });

  it("gives every route of the table its handlers", () => {
    expect(Object.keys(routes).sort()).toEqual(Object.keys(ROUTE_TABLE).sort());
  });
});
