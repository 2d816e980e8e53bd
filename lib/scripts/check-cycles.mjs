#!/usr/bin/env node
// `node lib/scripts/check-cycles.mjs [root]` (part of `npm test`): fails when the project's own modules
// import each other in a circle, type imports included (a cycle closed by `import type` is still
// code in the wrong place). Reads `import … from "…"`, `export … from "…"` and `import("…")`
// with a literal path, as `@/…` or relative specifiers, in app/, lib/, prisma/ and e2e/.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), "../.."));
const SOURCE = /\.(ts|tsx|mts|mjs)$/;
const SKIP = new Set(["node_modules", ".next", "generated", "test-results"]);

function files(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (SKIP.has(e.name) || e.name.startsWith(".")) return [];
    const full = path.join(dir, e.name);
    return e.isDirectory() ? files(full) : SOURCE.test(e.name) ? [full] : [];
  });
}

const SPECIFIER = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"|import\(\s*"([^"]+)"\s*\)/g;

function resolve(from, spec) {
  const target = spec.startsWith("@/") ? path.join(root, spec.slice(2)) : spec.startsWith(".") ? path.resolve(path.dirname(from), spec) : undefined;
  if (!target) return undefined;
  return [target, `${target}.ts`, `${target}.tsx`].find((f) => fs.existsSync(f) && fs.statSync(f).isFile());
}

const all = ["app", "lib", "prisma", "e2e"].filter((d) => fs.existsSync(path.join(root, d))).flatMap((d) => files(path.join(root, d)));
const graph = new Map(all.map((f) => [f, [...fs.readFileSync(f, "utf8").matchAll(SPECIFIER)].map((m) => resolve(f, m[1] ?? m[2])).filter(Boolean)]));

// Tarjan's strongly connected components: every component of more than one file is a cycle.
let index = 0;
const stack = [];
const state = new Map();
const cycles = [];
function visit(v) {
  state.set(v, { index, low: index, onStack: true });
  index += 1;
  stack.push(v);
  for (const w of graph.get(v) ?? []) {
    if (!state.has(w)) {
      visit(w);
      state.get(v).low = Math.min(state.get(v).low, state.get(w).low);
    } else if (state.get(w).onStack) {
      state.get(v).low = Math.min(state.get(v).low, state.get(w).index);
    }
  }
  if (state.get(v).low === state.get(v).index) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      state.get(w).onStack = false;
      component.push(path.relative(root, w));
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(component.sort());
  }
}
for (const f of all) if (!state.has(f)) visit(f);

if (cycles.length > 0) {
  process.stderr.write(`Import cycles (${cycles.length}):\n${cycles.map((c) => `  ${c.join(" <-> ")}`).join("\n")}\n`);
  process.exit(1);
}
process.stdout.write(`No import cycles among ${all.length} modules.\n`);
