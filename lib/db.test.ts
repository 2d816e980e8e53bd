import Database from "better-sqlite3";
import { describe, expect, it, vi } from "vitest";
import { reuseStatements } from "@/lib/db.ts";

describe("reuseStatements", () => {
  it("prepares each SQL text once and runs it with each call's own arguments", () => {
    const sqlite = new Database(":memory:");
    sqlite.exec("CREATE TABLE t (a TEXT, b INTEGER)");
    const prepare = vi.spyOn(sqlite, "prepare");
    reuseStatements(sqlite);
    const db = sqlite as unknown as { prepare(sql: string): { bind(args: unknown[]): { run(): unknown; reader: boolean; raw(): { all(): unknown[] }; columns(): { name: string }[] } } };
    for (const [a, b] of [["x", 1], ["y", 2], ["z", 3]] as const) db.prepare("INSERT INTO t (a, b) VALUES (?, ?)").bind([a, b]).run();
    const read = (b: number) => db.prepare("SELECT a FROM t WHERE b >= ? ORDER BY b").bind([b]);
    expect(read(2).reader).toBe(true);
    expect(read(2).columns().map((c) => c.name)).toEqual(["a"]);
    expect(read(2).raw().all()).toEqual([["y"], ["z"]]);
    expect(read(3).raw().all()).toEqual([["z"]]);
    expect(prepare).toHaveBeenCalledTimes(2);
  });

  it("leaves anything that is not a connection alone", () => {
    expect(() => reuseStatements(undefined)).not.toThrow();
    expect(() => reuseStatements({})).not.toThrow();
  });
});
