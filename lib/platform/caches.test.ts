import { describe, expect, it } from "vitest";
import { db } from "@/lib/platform/db.ts";
import { cacheNames, clearCaches, registerCache } from "@/lib/platform/caches.ts";
import "@/lib/oauth/routes.ts";
import "@/lib/login/proxy.ts";
import { findClient } from "@/lib/oauth/store/clients.ts";
import { findWorkspace } from "@/lib/oauth/store/workspaces.ts";

describe("every module-level cache is registered in one place and clearable", () => {
  it("knows the caches of the server and the login app", () => {
    expect(cacheNames()).toEqual([
      "attempts in flight",
      "client credentials proven lately",
      "client jwks_uri key sets",
      "client origins",
      "client scopes",
      "clients",
      "login discovery",
      "login refreshes in flight",
      "login session checks",
      "server secrets",
      "signing keys",
      "unauthenticated failure budget",
      "unauthenticated failure budget of networks",
      "verified token signatures",
      "workspaces",
    ]);
  });

  it("clearCaches makes the next read see what the database says now", async () => {
    const workspace = await findWorkspace("demo", "default");
    expect((await findClient(workspace.id, "demo-service"))?.disabled).toBe(false);
    await db().client.updateMany({ where: { clientId: "demo-service" }, data: { disabled: true } });
    expect((await findClient(workspace.id, "demo-service"))?.disabled).toBe(false);
    clearCaches("settings");
    expect((await findClient(workspace.id, "demo-service"))?.disabled).toBe(true);
  });

  it("an admin change clears the copies of settings, never what the process counts", async () => {
    const seen: string[] = [];
    registerCache("test settings", { clear: () => seen.push("settings") });
    registerCache("test state", { clear: () => seen.push("state") }, "state");
    clearCaches("settings");
    expect(seen).toEqual(["settings"]);
    clearCaches();
    expect(seen).toEqual(["settings", "settings", "state"]);
  });
});
