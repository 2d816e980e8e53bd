import { hash } from "@node-rs/argon2";
import { describe, expect, it } from "vitest";
import { hashingCapacity, hashPassword, PASSWORD_HASH_OPTIONS, passwordVerifier, threadPoolSize } from "@/lib/platform/passwords.ts";

const composed = "caf\u00e9 au lait, s'il vous pla\u00eet";
const decomposed = composed.normalize("NFD");
const fullWidth = "\uff50\uff41\uff53\uff53-phrase-1"; // "ｐａｓｓ-phrase-1", "pass-phrase-1" under NFKC

describe("passwords are hashed and verified in their NFKC form", () => {
  it("verifies a password however its characters were composed when it was set and when it is typed", async () => {
    const stored = await hashPassword(decomposed);
    expect(await passwordVerifier.verify(stored, composed)).toBe(true);
    expect(await passwordVerifier.verify(stored, decomposed)).toBe(true);
    expect(await passwordVerifier.verify(await hashPassword(fullWidth), "pass-phrase-1")).toBe(true);
    expect(await passwordVerifier.verify(stored, "cafe au lait, s'il vous plait")).toBe(false);
  });

  it("still lets in a user whose hash was made of the password as typed, before normalisation", async () => {
    const legacy = await hash(decomposed, PASSWORD_HASH_OPTIONS);
    expect(await passwordVerifier.verify(legacy, decomposed)).toBe(true);
    const legacyWide = await hash(fullWidth, PASSWORD_HASH_OPTIONS);
    expect(await passwordVerifier.verify(legacyWide, fullWidth)).toBe(true);
    expect(await passwordVerifier.verify(legacyWide, "pass-phrase-2")).toBe(false);
  });
});

describe("password hashing's capacity, as the start logs it", () => {
  it("reads UV_THREADPOOL_SIZE as libuv does when its pool starts", () => {
    expect(threadPoolSize(undefined)).toBe(4);
    expect(threadPoolSize("8")).toBe(8);
    expect(threadPoolSize(" +16 threads")).toBe(16);
    // atoi: nothing readable is 0, and libuv makes 0 one thread; unsigned, so -1 is the most it allows.
    expect(threadPoolSize("")).toBe(1);
    expect(threadPoolSize("eight")).toBe(1);
    expect(threadPoolSize("0")).toBe(1);
    expect(threadPoolSize("-1")).toBe(1024);
    expect(threadPoolSize("5000")).toBe(1024);
  });

  it("warns when the pool leaves cores idle, naming the setting and the value that uses them", () => {
    expect(hashingCapacity(16, 4)).toEqual({
      level: "warn",
      message:
        "password hashing: 4 at once on 16 cores (libuv's thread pool): set UV_THREADPOOL_SIZE=16 to use every core (each hash holds 19 MiB while it runs)",
    });
    expect(hashingCapacity(2, 4)).toEqual({ level: "info", message: "password hashing: up to 4 at once (UV_THREADPOOL_SIZE), up to 76 MiB, on 2 cores" });
    expect(hashingCapacity(16, 16).level).toBe("info");
  });
});
