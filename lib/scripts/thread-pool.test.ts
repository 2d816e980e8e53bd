import { describe, expect, it } from "vitest";
import { poolSizeFor } from "@/lib/scripts/thread-pool.ts";

describe("the size npm start gives libuv's thread pool", () => {
  it("is one thread per core, and two at least", () => {
    expect(poolSizeFor(1)).toBe(2);
    expect(poolSizeFor(2)).toBe(2);
    expect(poolSizeFor(3)).toBe(3);
    expect(poolSizeFor(16)).toBe(16);
  });
});
