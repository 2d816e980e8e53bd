import { describe, expect, it } from "vitest";
import { messageOf } from "@/lib/platform/error-message.ts";

describe("messageOf", () => {
  it.each([
    [new Error("the database went away"), "the database went away"],
    [new TypeError("not a function"), "not a function"],
    ["a string thrown", "a string thrown"],
    [42, "42"],
    [undefined, "undefined"],
    [{ code: "E" }, "[object Object]"],
  ])("gives %o as %j", (thrown, message) => {
    expect(messageOf(thrown)).toBe(message);
  });
});
