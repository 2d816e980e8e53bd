import { describe, expect, it } from "vitest";
import { withCharChanged } from "@/lib/testing/tamper.ts";

describe("withCharChanged", () => {
  it("changes the one character named, counting from the end when negative", () => {
    expect(withCharChanged("AbcA", 0)).toBe("BbcA");
    expect(withCharChanged("AbcA", 1)).toBe("AAcA");
    expect(withCharChanged("AbcA", -1)).toBe("AbcB");
    expect(withCharChanged("AbcA", -2)).toBe("AbAA");
  });

  it("refuses a position outside the string", () => {
    for (const at of [4, -5]) expect(() => withCharChanged("AbcA", at)).toThrow(new RangeError(`no character ${at} in a string of 4`));
  });
});
