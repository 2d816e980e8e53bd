import { describe, expect, it } from "vitest";
import { statementName } from "@/lib/platform/pg-statements.ts";

describe("statementName", () => {
  it("names a text the same whatever its values, and another text otherwise", () => {
    const name = statementName({ text: 'SELECT "a" FROM "t" WHERE "b" = $1', values: [1] });
    expect(name).toMatch(/^ropc_[0-9a-f]{40}$/);
    // PostgreSQL truncates names beyond 63 bytes (NAMEDATALEN).
    expect(Buffer.byteLength(name ?? "")).toBeLessThanOrEqual(63);
    expect(statementName({ text: 'SELECT "a" FROM "t" WHERE "b" = $1', values: ["x"] })).toBe(name);
    expect(statementName({ text: 'SELECT "a" FROM "t" WHERE "b" = $1 ', values: [1] })).not.toBe(name);
  });

  it("leaves unnamed a text of many parameters, and any text past the first 256", () => {
    const values = Array.from({ length: 65 }, (_, i) => i);
    expect(statementName({ text: `INSERT INTO "t" VALUES (${values.map((i) => `$${i + 1}`).join(", ")})`, values })).toBeUndefined();
    const known = statementName({ text: "SELECT 1", values: [] });
    for (let i = 0; i < 300; i++) statementName({ text: `SELECT ${i} + $1`, values: [i] });
    expect(statementName({ text: "SELECT $1 + 1000", values: [0] })).toBeUndefined();
    expect(statementName({ text: "SELECT 1", values: [] })).toBe(known);
  });
});
