import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { MAX_FORM_BYTES, parseUrlEncoded, readForm } from "@/lib/oauth/protocol/form.ts";

describe("parseUrlEncoded", () => {
  it.each([
    ["a=1&b=2", { a: "1", b: "2" }],
    ["a=x+y", { a: "x y" }],
    ["a=%2B%25%3A", { a: "+%:" }],
    ["a=%C3%A9", { a: "é" }],
    ["a=&b=2", { b: "2" }],
    ["a&b=2", { b: "2" }],
    ["&&a=1&", { a: "1" }],
    ["a=1=2", { a: "1=2" }],
  ])("%s", (text, expected) => {
    const params = parseUrlEncoded(text);
    for (const [k, v] of Object.entries(expected)) expect(params.get(k)).toBe(v);
    if (!("a" in expected)) expect(params.has("a")).toBe(false);
  });

  it.each([
    ["a=1&a=2", "parameter a is included more than once"],
    ["a=&a=2", "parameter a is included more than once"],
    ["%C3%28=1&%C3%28=1", "the request body is not valid form encoding"],
    ["x%20y=1&x%20y=2", "a parameter is included more than once"],
    ["a=%ZZ", "the request body is not valid form encoding"],
    ["a=%C3%28", "the request body is not valid form encoding"],
    ["a=%", "the request body is not valid form encoding"],
    ["a=%00", "parameters must not contain NUL characters"],
    ["%00=1", "parameters must not contain NUL characters"],
  ])("refuses %s", (text, description) => {
    expect(() => parseUrlEncoded(text)).toThrow(expect.objectContaining({ error: "invalid_request", description }));
  });
});

const post = (body: BodyInit | null, headers: Record<string, string>) =>
  new Request("http://localhost/x", { method: "POST", body, headers, duplex: "half" } as RequestInit);

describe("readForm", () => {
  it.each([
    [{ "Content-Type": "application/x-www-form-urlencoded" }],
    [{ "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8" }],
    [{ "Content-Type": "APPLICATION/X-WWW-FORM-URLENCODED" }],
  ])("accepts %j", async (headers) => {
    expect((await readForm(post("a=1", headers))).get("a")).toBe("1");
  });

  it.each([
    [{}, "the request body must be application/x-www-form-urlencoded"],
    [{ "Content-Type": "application/json" }, "the request body must be application/x-www-form-urlencoded"],
    [{ "Content-Type": "multipart/form-data; boundary=x" }, "the request body must be application/x-www-form-urlencoded"],
    [{ "Content-Type": "application/x-www-form-urlencoded; charset=iso-8859-1" }, "the request body must be UTF-8"],
  ])("refuses %j", async (headers, description) => {
    await expect(readForm(post("a=1", headers))).rejects.toMatchObject({ error: "invalid_request", status: 400, description });
  });

  it("refuses bytes that are not UTF-8", async () => {
    const body = new Uint8Array([0x61, 0x3d, 0xff, 0xfe]);
    await expect(readForm(post(body, { "Content-Type": "application/x-www-form-urlencoded" }))).rejects.toMatchObject({
      error: "invalid_request",
      description: "the request body is not valid UTF-8",
    });
  });

  it("answers a body the client abandoned mid-upload as its error, not ours", async () => {
    const body = new Readable({ read() {} });
    body.push("grant_type=pass");
    setImmediate(() => body.destroy(Object.assign(new Error("aborted"), { code: "ECONNRESET" })));
    const req = { method: "POST", url: "/", headers: new Headers({ "Content-Type": "application/x-www-form-urlencoded" }), body };
    await expect(readForm(req)).rejects.toMatchObject({
      error: "invalid_request",
      status: 400,
      description: "the request body could not be read",
      detail: "aborted",
    });
  });

  it("refuses a declared oversized body with 413 before reading it", async () => {
    const req = post("a=1", { "Content-Type": "application/x-www-form-urlencoded", "Content-Length": String(MAX_FORM_BYTES + 1) });
    await expect(readForm(req)).rejects.toMatchObject({ error: "invalid_request", status: 413 });
    expect(req.bodyUsed).toBe(false);
  });

  it("stops reading a streamed body once it passes the limit", async () => {
    let pulled = 0;
    const chunk = new Uint8Array(16 * 1024).fill(0x61);
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        controller.enqueue(chunk);
        if (pulled > 1000) controller.close();
      },
    });
    await expect(readForm(post(stream, { "Content-Type": "application/x-www-form-urlencoded" }))).rejects.toMatchObject({
      error: "invalid_request",
      status: 413,
    });
    expect(pulled).toBeLessThan(10);
  });

  it("reads a Node stream's chunks as they come (the production server's requests)", async () => {
    const body = Readable.from([Buffer.from("a=1&b="), Buffer.from("%C3%A9"), Buffer.from("&c=x")]);
    const params = await readForm({ method: "POST", url: "/", headers: new Headers({ "Content-Type": "application/x-www-form-urlencoded" }), body });
    expect([params.get("a"), params.get("b"), params.get("c")]).toEqual(["1", "é", "x"]);
  });

  it("stops a Node stream once it passes the limit", async () => {
    let pulled = 0;
    const body = new Readable({
      read() {
        pulled += 1;
        this.push(Buffer.alloc(16 * 1024, 0x61));
      },
    });
    await expect(
      readForm({ method: "POST", url: "/", headers: new Headers({ "Content-Type": "application/x-www-form-urlencoded" }), body }),
    ).rejects.toMatchObject({
      error: "invalid_request",
      status: 413,
    });
    expect(body.destroyed).toBe(true);
    expect(pulled).toBeLessThan(10);
  });

  it("accepts a body of exactly the limit", async () => {
    const body = `a=${"b".repeat(MAX_FORM_BYTES - 2)}`;
    expect((await readForm(post(body, { "Content-Type": "application/x-www-form-urlencoded" }))).get("a")).toHaveLength(MAX_FORM_BYTES - 2);
  });
});
