import { describe, expect, it } from "vitest";
import { lockoutCode, lockoutEnd, lockoutMessage, signInMessage, waitInWords } from "@/lib/login/messages.ts";

const NOW = Date.UTC(2026, 11, 1, 17, 0, 0);

describe("waitInWords", () => {
  it.each([
    [900_000, "15 minutes"],
    [240_000, "4 minutes"],
    [60_001, "2 minutes"],
    [60_000, "1 minute"],
    [59_001, "1 minute"],
    [59_000, "59 seconds"],
    [1_500, "2 seconds"],
    [1_000, "1 second"],
    [1, "1 second"],
  ])("%i ms is %s (rounded up: never sooner than the server allows)", (ms, words) => {
    expect(waitInWords(ms)).toBe(words);
  });
});

describe("lockout codes", () => {
  it("carry the end of the lockout, to the second, rounded up", () => {
    expect(lockoutCode(NOW + 899_500)).toBe(`too_many_attempts:${NOW / 1000 + 900}`);
    expect(lockoutEnd(lockoutCode(NOW + 900_000))).toBe(NOW + 900_000);
  });

  it.each(["too_many_attempts", "too_many_attempts:", "too_many_attempts:12x", "too_many_attempts:-5", "invalid_credentials", "", null, undefined])(
    "%j names no end",
    (code) => {
      expect(lockoutEnd(code)).toBeUndefined();
    },
  );

  it("say the wait in words at the time of reading, then that it is over", () => {
    const code = lockoutCode(NOW + 240_000);
    expect(signInMessage(code, NOW)).toBe("Too many sign-in attempts. Try again in 4 minutes.");
    expect(signInMessage(code, NOW + 180_000)).toBe("Too many sign-in attempts. Try again in 1 minute.");
    expect(signInMessage(code, NOW + 239_000)).toBe("Too many sign-in attempts. Try again in 1 second.");
    expect(signInMessage(code, NOW + 240_000)).toBe("You can try to sign in again now.");
    expect(lockoutMessage(NOW + 30_000, NOW)).toBe("Too many sign-in attempts. Try again in 30 seconds.");
  });

  it("without an end, say to wait a few minutes", () => {
    expect(signInMessage("too_many_attempts", NOW)).toBe("Too many sign-in attempts. Please wait a few minutes before trying again.");
  });
});
