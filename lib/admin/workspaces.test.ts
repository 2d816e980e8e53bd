import { refusal } from "@/lib/testing/admin.ts";
import { describe, expect, it } from "vitest";
import { AdminError, NothingToChange } from "@/lib/admin/errors.ts";
import { AUTH_METHODS, GRANT_TYPES, lifetime, scopeTokens } from "@/lib/admin/values.ts";
import { createWorkspace, listWorkspaces, setWorkspace, workspaceByRef } from "@/lib/admin/workspaces.ts";
import { getDiscovery } from "@/lib/testing/oauth.ts";
import { findWorkspace } from "@/lib/oauth/store/workspaces.ts";
import { db } from "@/lib/platform/db.ts";

describe("workspaces", () => {
  it("creates a workspace and its tenant, once", async () => {
    expect(await createWorkspace({ ref: "acme/prod", name: "Acme production" })).toEqual({ issuer: "http://localhost:3000/acme/prod" });
    expect(await listWorkspaces()).toContainEqual(
      expect.objectContaining({ ref: "acme/prod", name: "Acme production", accessTokenTtl: 3600, defaultScopes: ["openid", "profile", "email"] }),
    );
    expect(await refusal(createWorkspace({ ref: "acme/prod" }))).toBe("Workspace acme/prod exists already");
  });

  it.each(["Acme/prod", "acme", "acme/prod/x", "acme/-x", "acme/a_b", "/prod"])("refuses to create %j", async (ref) => {
    const before = await db().workspace.count();
    expect(await refusal(createWorkspace({ ref }))).toBe(
      `Invalid workspace ${JSON.stringify(ref)}: lowercase letters, digits and dashes, written tenant/workspace`,
    );
    expect(await db().workspace.count()).toBe(before);
  });

  it("names a workspace tenant/workspace, with the same slug syntax as the issuer's path", async () => {
    expect((await workspaceByRef("demo/default")).slug).toBe("default");
    expect(await refusal(workspaceByRef("demo"))).toBe('Invalid workspace "demo": write it tenant/workspace');
    expect(await refusal(workspaceByRef("demo/Default"))).toBe('Invalid workspace "demo/Default": write it tenant/workspace');
    expect(await refusal(workspaceByRef("demo/other"))).toBe("No workspace demo/other");
  });

  it("changes lifetimes and default scopes within their ranges; this process sees it at once", async () => {
    expect((await findWorkspace("demo", "default")).accessTokenTtl).toBe(3600);
    await setWorkspace("demo/default", { accessTokenTtl: 600, defaultScopes: ["openid", "openid"] });
    expect(await findWorkspace("demo", "default")).toMatchObject({ accessTokenTtl: 600, defaultScopes: ["openid"] });
    expect(await db().auditEvent.findFirst({ where: { event: "admin.workspace.set" } })).toMatchObject({
      reason: '{"accessTokenTtl":600,"defaultScopes":"openid"}',
    });
    expect(await refusal(setWorkspace("demo/default", { refreshTokenTtl: 366 * 86400 }))).toBe(
      "Invalid lifetime (seconds): Too big: expected number to be <=31536000",
    );
    expect(await refusal(setWorkspace("demo/default", { defaultScopes: [] }))).toBe("Invalid scopes: Too small: expected array to have >=1 items");
    await expect(setWorkspace("demo/default", {})).rejects.toBeInstanceOf(NothingToChange);
  });
});

describe("the values an operator gives", () => {
  it("are the server's own grant types and auth methods, as discovery advertises them", async () => {
    const metadata = (await (await getDiscovery()).json()) as Record<string, unknown>;
    expect(GRANT_TYPES).toEqual(metadata.grant_types_supported);
    expect(AUTH_METHODS).toEqual(metadata.token_endpoint_auth_methods_supported);
  });

  it.each([
    ["1", 1],
    [31536000, 31536000],
  ])("accept the lifetime %j", (value, seconds) => {
    expect(lifetime(value)).toBe(seconds);
  });

  it.each(["0", "1.5", "abc", 31536001])("refuse the lifetime %j", (value) => {
    expect(() => lifetime(value)).toThrow(AdminError);
  });

  it("keep scope tokens once each, and refuse what RFC 6749 §3.3 does not allow", () => {
    expect(scopeTokens(["openid", "email", "openid"])).toEqual(["openid", "email"]);
    for (const bad of ['a"b', "a\\b", "é"])
      expect(() => scopeTokens([bad])).toThrow("Invalid scopes: scopes are printable ASCII without spaces, quotes or backslashes");
  });
});
