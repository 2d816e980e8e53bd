import { describe, expect, it } from "vitest";
import { capturingLogger } from "@/lib/testing/logs.ts";
import { backgroundSettled, inBackground, MAX_BACKGROUND_JOBS } from "@/lib/platform/background.ts";

describe("work after the answer", () => {
  it("runs only after the caller has gone on, and logs a failure under its name without throwing", async () => {
    const { log, lines } = capturingLogger();
    const order: string[] = [];
    inBackground("first job", async () => void order.push("job"), log);
    inBackground("failing job", () => Promise.reject(new Error("mail server down")), log);
    order.push("answer");
    await backgroundSettled();
    expect(order).toEqual(["answer", "job"]);
    expect(lines()).toEqual([expect.objectContaining({ level: 50, event: "background.failed", job: "failing job", err: "mail server down" })]);
  });

  it("keeps at most MAX_BACKGROUND_JOBS under way: one more is dropped, and said", async () => {
    const { log, lines } = capturingLogger();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let ran = 0;
    const accepted = Array.from({ length: MAX_BACKGROUND_JOBS + 1 }, () => inBackground("held", () => gate.then(() => void ran++), log));
    expect(accepted.filter(Boolean)).toHaveLength(MAX_BACKGROUND_JOBS);
    expect(accepted.at(-1)).toBe(false);
    expect(lines()).toEqual([expect.objectContaining({ level: 40, event: "background.dropped", job: "held" })]);
    release();
    await backgroundSettled();
    expect(ran).toBe(MAX_BACKGROUND_JOBS);
    expect(inBackground("after", async () => {}, log)).toBe(true);
    await backgroundSettled();
  });
});
