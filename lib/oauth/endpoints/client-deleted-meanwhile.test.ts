import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { flushAudit } from "@/lib/platform/audit.ts";
import { db } from "@/lib/platform/db.ts";
import { passwordVerifier } from "@/lib/platform/passwords.ts";
import { addClient, ALICE, basic, ISSUER, postToken } from "@/lib/testing/oauth.ts";
import { DAVE } from "@/lib/testing/mfa.ts";

// A client deleted while one of its requests runs (by an operator, on this instance or another
// whose cache of clients still holds it): the request's writes then find no client (a session, a
// refresh token and a second factor's challenge each refer to theirs). The request is answered as
// the client's next one would be, invalid_client, not with a 500.

afterEach(() => {
  vi.restoreAllMocks();
});

/** A password-grant client of the demo workspace for one test. */
async function newClient(authMethods = "client_secret_basic") {
  const clientId = `gone-${randomUUID()}`;
  const secret = "a client secret of one test";
  await addClient(clientId, { secret, authMethods });
  return { clientId, secret };
}

/** Deletes the client while the user's password is being verified: after it authenticated, before the grant writes. */
function deleteDuringVerification(clientId: string) {
  const verify = passwordVerifier.verify.bind(passwordVerifier);
  vi.spyOn(passwordVerifier, "verify").mockImplementation(async (hash, password) => {
    await db().client.deleteMany({ where: { clientId } });
    return verify(hash, password);
  });
}

const GONE = { error: "invalid_client", error_description: "the client no longer exists" };

describe("a client deleted while its request runs", () => {
  it("password grant with Basic: 401 invalid_client with Basic's challenge, and the audit trail says why", async () => {
    const client = await newClient();
    deleteDuringVerification(client.clientId);
    const res = await postToken({ grant_type: "password", ...ALICE }, { Authorization: basic(client.clientId, client.secret) });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(`Basic realm="${ISSUER}"`);
    expect(await res.json()).toEqual(GONE);
    await flushAudit();
    const audit = await db().auditEvent.findFirst({ where: { clientId: client.clientId }, orderBy: { createdAt: "desc" } });
    expect(audit).toMatchObject({ event: "token.password", outcome: "failure", reason: "client deleted meanwhile", username: "alice" });
  });

  it("password grant with a body secret: 401 invalid_client without a challenge", async () => {
    const client = await newClient("client_secret_post");
    deleteDuringVerification(client.clientId);
    const res = await postToken({ grant_type: "password", ...ALICE, client_id: client.clientId, client_secret: client.secret });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBeNull();
    expect(await res.json()).toEqual(GONE);
  });

  it("a second factor's challenge: invalid_client, not mfa_required with a token of no client", async () => {
    const client = await newClient();
    deleteDuringVerification(client.clientId);
    const res = await postToken({ grant_type: "password", ...DAVE }, { Authorization: basic(client.clientId, client.secret) });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(GONE);
  });

  it("deleted by another instance, still in this one's cache: invalid_client", async () => {
    const client = await newClient();
    const headers = { Authorization: basic(client.clientId, client.secret) };
    expect((await postToken({ grant_type: "password", ...ALICE }, headers)).status).toBe(200);
    // Not through the admin code, which would clear this process's cache as well.
    await db().client.deleteMany({ where: { clientId: client.clientId } });
    const res = await postToken({ grant_type: "password", ...ALICE }, headers);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(GONE);
    // Forgotten here at once: the next request is an unknown client's, as on every other instance.
    const next = await postToken({ grant_type: "password", ...ALICE }, headers);
    expect(next.status).toBe(401);
    expect(await next.json()).toEqual({ error: "invalid_client", error_description: "client authentication failed" });
  });

  it("any other failure stays a server_error, whether or not the client is still there", async () => {
    for (const deleted of [false, true]) {
      const client = await newClient();
      vi.spyOn(passwordVerifier, "verify").mockImplementation(async () => {
        if (deleted) await db().client.deleteMany({ where: { clientId: client.clientId } });
        throw new Error("the hash's thread pool broke");
      });
      const res = await postToken({ grant_type: "password", ...ALICE }, { Authorization: basic(client.clientId, client.secret) });
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ error: "server_error", error_description: "the server could not handle the request" });
      vi.restoreAllMocks();
    }
  });
});
