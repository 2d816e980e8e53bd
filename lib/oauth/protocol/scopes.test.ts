import { describe, expect, it } from "vitest";
import { grantScope, parseScope } from "@/lib/oauth/protocol/scopes.ts";

const policy = { allowed: new Set(["openid", "profile", "email", "offline_access"]), defaults: ["openid", "profile", "email"] };

describe("parseScope (RFC 6749 §3.3)", () => {
  it.each([
    [undefined, []],
    ["openid", ["openid"]],
    ["openid  profile", ["openid", "profile"]],
    ["openid openid", ["openid"]],
    ["a!#[]~", ["a!#[]~"]],
  ])("%j", (scope, expected) => {
    expect(parseScope(scope)).toEqual(expected);
  });

  it.each(['open"id', "open\\id", "openid\tprofile", "é"])("refuses %j as invalid_scope", (scope) => {
    expect(() => parseScope(scope)).toThrow(expect.objectContaining({ error: "invalid_scope", status: 400 }));
  });
});

describe("grantScope", () => {
  it("grants exactly what was asked, sorted, when all of it is allowed", () => {
    expect(grantScope(["profile", "openid"], policy)).toEqual(["openid", "profile"]);
  });

  it("gives the defaults when nothing is asked", () => {
    expect(grantScope([], policy)).toEqual(["email", "openid", "profile"]);
  });

  it("drops defaults the client is not allowed", () => {
    expect(grantScope([], { allowed: new Set(["openid"]), defaults: ["openid", "email"] })).toEqual(["openid"]);
  });

  it.each([[["openid", "admin"]], [["OpenID"]], [["introspect_tokens"]]])("refuses %j whole, case-sensitively", (requested) => {
    expect(() => grantScope(requested, policy)).toThrow(expect.objectContaining({ error: "invalid_scope", status: 400 }));
  });
});
