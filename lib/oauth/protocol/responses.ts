import type { OAuthError } from "@/lib/oauth/protocol/errors.ts";

/**
 * What the endpoints read of a request. A Web `Request` is one (Next's route handlers pass it
 * as it is); the production server passes a lighter one made straight from Node's request
 * (lib/oauth/pipeline/node-adapter.ts), which spares every token request the cost of building Web objects.
 */
export interface OAuthRequest {
  readonly method: string;
  /**
   * A `HEAD`, answered as its `GET` (`method`) without the body: the method the client sent, which
   * a DPoP proof names (RFC 9449 §4.3).
   */
  readonly head?: boolean;
  /** The request target: an absolute URL (Web) or the path with its query (Node). */
  readonly url: string;
  readonly headers: { get(name: string): string | null };
  /** The body as it arrives (a Web stream), read whole at once (Node's request), or null for none. */
  readonly body: AsyncIterable<Uint8Array> | WholeBody | null;
}

/**
 * A body read in one go: its bytes, or null as soon as it shows itself longer than `limit` (the
 * rest is left unread). Rejects when the client goes away mid-upload.
 */
export interface WholeBody {
  readUpTo(limit: number): Promise<Uint8Array | null>;
}

/**
 * What an endpoint answers: a status, headers (written as named) and a body. Made into a Web
 * `Response` for Next (pipeline/next-adapter.ts), or written to the socket by the production server.
 */
export interface OAuthResponse {
  status: number;
  headers: Record<string, string>;
  body: string | null;
}

/** RFC 6749 §5.1: token responses, errors included, must not be cached. */
export const NO_STORE: Readonly<Record<string, string>> = { "Cache-Control": "no-store", Pragma: "no-cache" };

/** JSON is never a document to render, frame or sniff. */
const JSON_HEADERS = {
  "Content-Type": "application/json;charset=UTF-8",
  "X-Content-Type-Options": "nosniff",
  "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
};

// The headers are copied with Object.assign, not object spread: on Node 20's V8 (11.3) these
// spreads of a long-lived object had every request's response promoted out of the young
// generation, to be collected only by a full collection (JWKS: 410 of the 680 bytes it promoted a
// request; README, Performance). authenticate.ts's copy of a cached client is the other case
// measured.

/** A JSON response that no cache may keep: what every OAuth endpoint answers. */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): OAuthResponse {
  return { status, headers: Object.assign({}, JSON_HEADERS, NO_STORE, headers), body: JSON.stringify(body) };
}

/** A public JSON document (discovery, JWKS): any cache may keep it, any origin may read it. */
export function publicJson(body: unknown, maxAge: number): OAuthResponse {
  return publicJsonText(JSON.stringify(body), maxAge);
}

/** The same, for a document serialised already (`text`: JSON). */
export function publicJsonText(text: string, maxAge: number): OAuthResponse {
  return {
    status: 200,
    headers: Object.assign({}, JSON_HEADERS, { "Cache-Control": `public, max-age=${maxAge}`, "Access-Control-Allow-Origin": "*" }),
    body: text,
  };
}

// RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
const DESCRIPTION_UNSAFE = /[^\x20\x21\x23-\x5b\x5d-\x7e]/g;

export function errorResponse(err: OAuthError): OAuthResponse {
  const body: Record<string, string> = { error: err.error };
  if (err.description) body.error_description = err.description.replace(DESCRIPTION_UNSAFE, "?");
  return json({ ...body, ...err.fields }, err.status, err.headers);
}
