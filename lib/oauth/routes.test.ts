import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { ROUTE_TABLE, routes } from "@/lib/oauth/routes.ts";

describe("the one routes table", () => {
  it.each(Object.entries(ROUTE_TABLE))("%s has its app/ route file at its path, re-exporting its handlers", (name, spec) => {
    const file = `app/[tenant]/[workspace]${spec.path}/route.ts`;
    expect(fs.readFileSync(file, "utf8")).toBe(
      `import { routes } from "@/lib/oauth/routes.ts";\n\nexport const { GET, POST, PUT, PATCH, DELETE, OPTIONS } = routes.${name};\n`,
    );
  });

  it("has no route file under a workspace that the table does not know", () => {
    const files = fs.readdirSync("app/[tenant]/[workspace]", { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith("route.ts"));
    expect(files.map((f) => `/${f.replace(/\/?route\.ts$/, "")}`).sort()).toEqual(
      Object.values(ROUTE_TABLE)
        .map((s) => s.path)
        .sort(),
    );
  });

  it("gives every route of the table its handlers", () => {
    expect(Object.keys(routes).sort()).toEqual(Object.keys(ROUTE_TABLE).sort());
  });
});
