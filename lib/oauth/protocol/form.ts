import { InvalidRequest } from "@/lib/oauth/protocol/errors.ts";
import type { OAuthRequest } from "@/lib/oauth/protocol/responses.ts";

/** Bodies over this are refused without being read whole. */
export const MAX_FORM_BYTES = 64 * 1024;

/** Parameters of a form body: each name once, empty values treated as absent (RFC 6749 §3.1). */
export class FormParams {
  constructor(private readonly values: ReadonlyMap<string, string>) {}

  get(name: string): string | undefined {
    return this.values.get(name);
  }

  has(name: string): boolean {
    return this.values.has(name);
  }
}

// Parameter names we are willing to echo in an error description.
const ECHOABLE_NAME = /^[a-z_]{1,40}$/;

/**
 * Parses `application/x-www-form-urlencoded` text strictly: malformed percent-escapes and invalid
 * UTF-8 are errors rather than silently replaced, and a parameter sent twice is `invalid_request`
 * (RFC 6749 §3.2: "parameters MUST NOT be included more than once").
 */
export function parseUrlEncoded(text: string): FormParams {
  const seen = new Set<string>();
  const values = new Map<string, string>();
  for (const pair of text.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = decodeFormComponent(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? "" : decodeFormComponent(pair.slice(eq + 1));
    if (seen.has(name)) {
      throw new InvalidRequest(ECHOABLE_NAME.test(name) ? `parameter ${name} is included more than once` : "a parameter is included more than once");
    }
    seen.add(name);
    if (value !== "") values.set(name, value);
  }
  return new FormParams(values);
}

/** One name or value of a form body: `+` is a space, then percent-decoding as UTF-8. */
export function decodeFormComponent(raw: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw.replace(/\+/g, " "));
  } catch {
    throw new InvalidRequest("the request body is not valid form encoding");
  }
  // No parameter of ours may hold a NUL, and PostgreSQL cannot store one in text.
  if (decoded.includes("\u0000")) throw new InvalidRequest("parameters must not contain NUL characters");
  return decoded;
}

function mediaType(header: string): { type: string; charset: string | undefined } {
  const [type = "", ...params] = header.split(";").map((p) => p.trim());
  const charset = params.find((p) => p.toLowerCase().startsWith("charset="))?.slice("charset=".length);
  return { type: type.toLowerCase(), charset: charset?.replace(/^"|"$/g, "").toLowerCase() };
}

/** Reads at most `limit` bytes of the body; a longer body is refused as soon as it shows. */
async function readLimited(body: OAuthRequest["body"], limit: number): Promise<Uint8Array> {
  if (!body) return new Uint8Array();
  if ("readUpTo" in body) {
    const bytes = await body.readUpTo(limit).catch((err: unknown) => {
      throw new InvalidRequest("the request body could not be read", { detail: err instanceof Error ? err.message : String(err) });
    });
    if (bytes === null) throw tooLarge();
    return bytes;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const iterator = body[Symbol.asyncIterator]();
  for (;;) {
    const { done, value } = await iterator.next().catch((err: unknown) => {
      // The client went away mid-upload (a reset, an aborted request): its fault, not ours.
      throw new InvalidRequest("the request body could not be read", { detail: err instanceof Error ? err.message : String(err) });
    });
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      // Stops the upload (a Web stream is cancelled, a Node stream destroyed).
      await iterator.return?.()?.catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function tooLarge(): InvalidRequest {
  return new InvalidRequest(`the request body is larger than ${MAX_FORM_BYTES} bytes`, { status: 413 });
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The body's text: UTF-8, at most MAX_FORM_BYTES. */
async function readText(req: OAuthRequest, charset: string | undefined): Promise<string> {
  if (charset !== undefined && charset !== "utf-8") throw new InvalidRequest("the request body must be UTF-8");
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > MAX_FORM_BYTES) throw tooLarge();
  const bytes = await readLimited(req.body, MAX_FORM_BYTES);
  try {
    return utf8.decode(bytes);
  } catch {
    throw new InvalidRequest("the request body is not valid UTF-8");
  }
}

/** The form body of a POST (RFC 6749 §3.2: `application/x-www-form-urlencoded`, UTF-8). */
export async function readForm(req: OAuthRequest): Promise<FormParams> {
  const { type, charset } = mediaType(req.headers.get("content-type") ?? "");
  if (type !== "application/x-www-form-urlencoded") {
    throw new InvalidRequest("the request body must be application/x-www-form-urlencoded");
  }
  return parseUrlEncoded(await readText(req, charset));
}

/** A JSON object body (`application/json`, UTF-8, at most MAX_FORM_BYTES), as RFC 7591 §3.1 sends client metadata. */
export async function readJsonObject(req: OAuthRequest): Promise<Record<string, unknown>> {
  const { type, charset } = mediaType(req.headers.get("content-type") ?? "");
  if (type !== "application/json") throw new InvalidRequest("the request body must be application/json");
  let parsed: unknown;
  try {
    // As in a form, no string of ours may hold a NUL (a `\u0000` escape), and PostgreSQL cannot store one.
    parsed = JSON.parse(await readText(req, charset), (key, value: unknown) => {
      if (key.includes("\u0000") || (typeof value === "string" && value.includes("\u0000")))
        throw new InvalidRequest("the request body must not contain NUL characters");
      return value;
    });
  } catch (err) {
    if (err instanceof InvalidRequest) throw err;
    throw new InvalidRequest("the request body is not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new InvalidRequest("the request body must be a JSON object");
  return parsed as Record<string, unknown>;
}

/**
 * The parameters of a POST that may send a form or a JSON object (Auth0's /mfa endpoints take
 * both): a JSON member is a string, or an array of strings kept as its JSON text; empty strings
 * count as absent, as in a form.
 */
export async function readParams(req: OAuthRequest): Promise<FormParams> {
  const { type } = mediaType(req.headers.get("content-type") ?? "");
  if (type !== "application/json") return readForm(req);
  const parsed = await readJsonObject(req);
  const values = new Map<string, string>();
  for (const [name, value] of Object.entries(parsed)) {
    const text = typeof value === "string" ? value : Array.isArray(value) && value.every((v) => typeof v === "string") ? JSON.stringify(value) : undefined;
    if (text === undefined) throw new InvalidRequest(ECHOABLE_NAME.test(name) ? `parameter ${name} must be a string` : "parameters must be strings");
    if (text.includes("\u0000")) throw new InvalidRequest("parameters must not contain NUL characters");
    if (text !== "") values.set(name, text);
  }
  return new FormParams(values);
}
