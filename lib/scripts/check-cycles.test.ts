import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const SCRIPT = path.resolve("lib/scripts/check-cycles.mjs");
let dir: string;
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function tree(files: Record<string, string>): string {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "cycles-"));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

const run = (root: string) => spawnSync(process.execPath, [SCRIPT, root], { encoding: "utf8" });

describe("the import-cycle check", () => {
  it("fails on a cycle closed by a type import, naming its files", () => {
    const result = run(
      tree({
        "lib/a.ts": 'import { b } from "@/lib/b.ts";\nexport const a = b;\n',
        "lib/b.ts": 'import type { A } from "./a.ts";\nexport const b = 1;\nexport type B = A;\n',
      }),
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toBe("Import cycles (1):\n  lib/a.ts <-> lib/b.ts\n");
  });

  it("passes a tree without cycles", () => {
    const result = run(
      tree({
        "lib/a.ts": 'import { b } from "@/lib/b.ts";\nexport const a = b;\n',
        "lib/b.ts": "export const b = 1;\n",
        "app/page.tsx": 'export { a } from "@/lib/a.ts";\n',
      }),
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toBe("No import cycles among 3 modules.\n");
  });

  it("passes this project", () => {
    expect(run(process.cwd()).status).toBe(0);
  });
});
