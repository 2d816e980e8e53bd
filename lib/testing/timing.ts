import { expect } from "vitest";

/** The milliseconds `work` takes. */
export async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Asserts that `unknown` takes as long as `known` (each answers one timed try, the `i`th): the
 * median of 31 pairs' ratios within 25% of 1, and the medians of each side within 60%. The two
 * are timed in pairs, back to back and in alternating order, so that both halves of a pair share
 * the machine's load (other suites run beside the test); each is tried once first, untimed.
 * `between` runs after each pair, outside the timing.
 */
export async function expectSameTiming(
  known: (i: number) => Promise<number>,
  unknown: (i: number) => Promise<number>,
  between: () => Promise<void> = async () => undefined,
): Promise<void> {
  await known(-1);
  await unknown(-1);
  await between();
  const ratios: number[] = [];
  const knowns: number[] = [];
  const unknowns: number[] = [];
  for (let i = 0; i < 31; i++) {
    const [k, u] = i % 2 === 0 ? [await known(i), await unknown(i)] : ([await unknown(i), await known(i)].reverse() as [number, number]);
    await between();
    knowns.push(k);
    unknowns.push(u);
    ratios.push(u / k);
  }
  expect(median(ratios)).toBeGreaterThan(0.75);
  expect(median(ratios)).toBeLessThan(1.25);
  expect(median(unknowns) / median(knowns)).toBeGreaterThan(0.6);
  expect(median(unknowns) / median(knowns)).toBeLessThan(1.6);
}
