import path from "node:path";
import { describe, expect, it } from "vitest";
import { nativeSchemaEngineExists, prismaEnv } from "./cli.mjs";

describe("the Prisma CLI wrapper", () => {
  it("uses the wasm stand-in exactly when no native schema engine is on disk", () => {
    const env = prismaEnv({ PATH: process.env.PATH });
    if (nativeSchemaEngineExists()) expect(env.PRISMA_SCHEMA_ENGINE_BINARY).toBeUndefined();
    else expect(env.PRISMA_SCHEMA_ENGINE_BINARY).toBe(path.resolve(import.meta.dirname, "schema-engine-wasm.mjs"));
    expect(env.CHECKPOINT_DISABLE).toBe("1");
  });

  it("leaves an engine chosen by the environment alone", () => {
    expect(prismaEnv({ PRISMA_SCHEMA_ENGINE_BINARY: "/opt/engine" }).PRISMA_SCHEMA_ENGINE_BINARY).toBe("/opt/engine");
  });
});
