import { describe, expect, it } from "vitest";
import { parseSettings } from "@/lib/platform/env.ts";
import { listenAddress } from "@/lib/scripts/serve.ts";

describe("where npm start and npm run dev listen", () => {
  it("takes an empty PORT and HOSTNAME as unset (an env file made from .env.example): 3000 on every interface", () => {
    // Before, an empty PORT was Number("") = 0: a port the system picked, which no balancer checks.
    expect(listenAddress(parseSettings({ PORT: "" }), { PORT: "", HOSTNAME: "" })).toEqual({ port: 3000, hostname: "0.0.0.0" });
  });

  it("takes the ones given", () => {
    expect(listenAddress(parseSettings({ PORT: "3100" }), { PORT: "3100", HOSTNAME: "127.0.0.1" })).toEqual({ port: 3100, hostname: "127.0.0.1" });
  });
});
