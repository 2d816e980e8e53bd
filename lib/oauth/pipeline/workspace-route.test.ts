import { afterEach, describe, expect, it, vi } from "vitest";
import type { EndpointContext } from "@/lib/oauth/endpoints/context.ts";
import { workspaceHandler } from "@/lib/oauth/pipeline/workspace-route.ts";
import { json } from "@/lib/oauth/protocol/responses.ts";
import { PEER_HEADER, peerHeaderValue } from "@/lib/platform/client-address.ts";
import { logger } from "@/lib/platform/logger.ts";
import { ISSUER } from "@/lib/testing/oauth.ts";

afterEach(() => vi.restoreAllMocks());

const request = () => new Request(`${ISSUER}/anything`, { headers: { [PEER_HEADER]: peerHeaderValue("198.51.100.7") } });

/** A handler whose one endpoint (GET) hands its context to `inspect` and answers `{}`. */
const handlerSeeing = (inspect: (context: EndpointContext) => void) =>
  workspaceHandler(
    {
      GET: async (_request, context) => {
        inspect(context);
        return json({});
      },
    },
    {},
    (issuer, name) => `${issuer}/route/${name}`,
  );

describe("the context an endpoint gets", () => {
  it("carries the workspace, the caller's address, the route's parameters, and the request id the answer carries", async () => {
    let seen: EndpointContext | undefined;
    const response = await handlerSeeing((context) => (seen = context))(request(), "demo", "default", { id: "s-1" });
    expect(response.status).toBe(200);
    expect(seen?.workspace.issuer).toBe(ISSUER);
    expect(seen?.ip).toBe("198.51.100.7");
    expect(seen?.params).toEqual({ id: "s-1" });
    expect(seen?.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers["X-Request-Id"]).toBe(seen?.requestId);
  });

  it("can be taken apart: urlFor works on its own, as endpoints use it", async () => {
    let url: string | undefined;
    await handlerSeeing(({ urlFor }) => (url = urlFor("jwks")))(request(), "demo", "default");
    expect(url).toBe(`${ISSUER}/route/jwks`);
  });

  it("makes the request's child logger only when an endpoint reads it, once", async () => {
    const child = vi.spyOn(logger, "child");
    let context: EndpointContext | undefined;
    await handlerSeeing((c) => (context = c))(request(), "demo", "default");
    expect(child).not.toHaveBeenCalled();
    const log = context?.log;
    expect(context?.log).toBe(log);
    expect(child).toHaveBeenCalledTimes(1);
    expect(child).toHaveBeenCalledWith({ requestId: context?.requestId });
  });
});
