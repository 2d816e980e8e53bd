import { afterEach, expect, it, vi } from "vitest";
import { getClient, setClient } from "@/lib/admin/clients.ts";
import type * as Clients from "@/lib/admin/clients.ts";
import { db } from "@/lib/platform/db.ts";
import { routes } from "@/lib/oauth/routes.ts";
import { call, ISSUER, postToken, SERVICE_BASIC } from "@/lib/testing/oauth.ts";

// A registered client's PUT (RFC 7592 §2.2) is bounded by what the client has when it is read:
// no grant, origin or scope beyond it. An operator's change landing between that read and the
// PUT's write must not be undone by the write. Here the operator's change is made right after the
// PUT's read, every time the hook is set.
const hook = vi.hoisted(() => ({ afterRead: [] as (() => Promise<unknown>)[] }));
vi.mock("@/lib/admin/clients.ts", async (importOriginal) => {
  const actual = await importOriginal<typeof Clients>();
  return {
    ...actual,
    getClient: async (...args: Parameters<typeof actual.getClient>) => {
      const read = await actual.getClient(...args);
      await hook.afterRead.shift()?.();
      return read;
    },
  };
});

afterEach(() => {
  hook.afterRead = [];
});

const JSON_TYPE = { "Content-Type": "application/json" };
const METADATA = { client_name: "Reporting job", grant_types: ["client_credentials", "password"], scope: "introspect_tokens" };

async function registered(): Promise<{ client_id: string; registration_access_token: string; registration_client_uri: string }> {
  const token = await postToken({ grant_type: "client_credentials", scope: "register_clients" }, SERVICE_BASIC);
  const { access_token } = (await token.json()) as { access_token: string };
  const res = await call(routes.registration, `${ISSUER}/oauth2/register`, {
    method: "POST",
    body: JSON.stringify(METADATA),
    headers: { ...JSON_TYPE, Authorization: `Bearer ${access_token}` },
  });
  expect(res.status).toBe(201);
  return res.json();
}

const put = (client: Awaited<ReturnType<typeof registered>>, body: Record<string, unknown>) =>
  call(routes.registration, client.registration_client_uri, {
    method: "PUT",
    body: JSON.stringify({ client_id: client.client_id, ...body }),
    headers: { ...JSON_TYPE, Authorization: `Bearer ${client.registration_access_token}` },
  });

it("reads the client again when an operator narrowed it meanwhile, and then refuses what is no longer within it", async () => {
  const client = await registered();
  // The operator takes the password grant away right after the PUT read the client.
  hook.afterRead.push(() => setClient("demo/default", client.client_id, { grants: ["client_credentials"] }));
  const res = await put(client, METADATA);
  expect(res.status).toBe(400);
  expect(await res.json()).toEqual({
    error: "invalid_client_metadata",
    error_description: "grant_types may hold only grants the client has now: not password (widening takes a new registration or an operator)",
  });
  expect((await getClient("demo/default", client.client_id)).grantTypes).toEqual(["client_credentials"]);
});

it("makes a PUT within what the client has after the operator's change, on the client as changed", async () => {
  const client = await registered();
  hook.afterRead.push(() => setClient("demo/default", client.client_id, { grants: ["client_credentials"], name: "Renamed by the operator" }));
  const res = await put(client, { ...METADATA, grant_types: ["client_credentials"], client_name: "Reports" });
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ grant_types: ["client_credentials"], client_name: "Reports" });
  expect(await getClient("demo/default", client.client_id)).toMatchObject({ grantTypes: ["client_credentials"], name: "Reports" });
});

it("gives up after three reads that each met another change, changing nothing, with invalid_request", async () => {
  const client = await registered();
  for (const name of ["first", "second", "third"]) hook.afterRead.push(() => setClient("demo/default", client.client_id, { name }));
  const res = await put(client, { ...METADATA, client_name: "Mine" });
  expect(res.status).toBe(400);
  expect(await res.json()).toEqual({ error: "invalid_request", error_description: "the client was changed by someone else meanwhile: send the update again" });
  expect((await db().client.findFirstOrThrow({ where: { clientId: client.client_id } })).name).toBe("third");
});
