import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { trace } from "@opentelemetry/api";
import { register } from "@/instrumentation.ts";
import { flushTracing, scrubAttributes, startTracing, stopTracing } from "@/lib/platform/tracing-sdk.ts";
import { tracing } from "@/lib/platform/tracing.ts";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "@/lib/testing/otlp-receiver.ts";
import { ALICE, call, SPA, TOKEN_URL, type Tokens } from "@/lib/testing/oauth.ts";
import { routes } from "@/lib/oauth/routes.ts";

// Counts the loads of the exporter's package: with no endpoint set it must never be imported.
const loads = vi.hoisted(() => ({ exporter: 0 }));
vi.mock("@opentelemetry/exporter-trace-otlp-http", async (original) => {
  loads.exporter += 1;
  return original();
});

const QUERY_PROBE = "probe=query-string-value";
const WRONG_PASSWORD = "wrong-password-never-recorded";

/** A password grant as a client might send it, with a query string on the token URL. */
const passwordGrant = (password: string) =>
  call(routes.token, `${TOKEN_URL}?${QUERY_PROBE}`, { body: { grant_type: "password", ...SPA, username: ALICE.username, password } });

let receiver: OtlpReceiver;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  vi.stubEnv("NEXT_RUNTIME", "nodejs");
});

afterAll(async () => {
  await stopTracing();
  vi.unstubAllEnvs();
  await receiver.close();
});

// In this order: the SDK, once set up, stays registered for the file's process.
describe("traces", () => {
  it("without an OTLP endpoint: no SDK, no exporter, no span, nothing sent", async () => {
    await register();
    expect(await startTracing({ ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: undefined, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: undefined })).toBe(false);
    // Nor with one, when OTEL_SDK_DISABLED is true in any case (the specification's boolean).
    for (const disabled of ["true", "TRUE", " True "]) {
      expect(await startTracing({ ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SDK_DISABLED: disabled })).toBe(false);
    }
    expect(tracing.tracer).toBeUndefined();
    expect(loads.exporter).toBe(0);
    expect((await passwordGrant(ALICE.password)).status).toBe(200);
    // The API's no-op: no span records anything.
    expect(trace.getTracer("any").startSpan("probe").isRecording()).toBe(false);
    await flushTracing();
    expect(receiver.requests).toHaveLength(0);
  });

  it("refuses a bad endpoint, naming the setting and the fix", async () => {
    await expect(startTracing({ ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: "localhost:4318" })).rejects.toThrow(
      "Invalid setting OTEL_EXPORTER_OTLP_ENDPOINT: must be the http(s) URL of an OTLP/HTTP receiver, e.g. http://localhost:4318",
    );
    expect(tracing.tracer).toBeUndefined();
  });

  describe("with OTEL_EXPORTER_OTLP_ENDPOINT set (through instrumentation.ts)", () => {
    let tokens: Tokens;
    let spans: ReceivedSpan[];

    beforeAll(async () => {
      vi.stubEnv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url);
      vi.stubEnv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json");
      vi.stubEnv("OTEL_EXPORTER_OTLP_HEADERS", "x-collector-key=k-123");
      vi.stubEnv("OTEL_SERVICE_NAME", "");
      await register();
      const ok = await passwordGrant(ALICE.password);
      expect(ok.status).toBe(200);
      tokens = (await ok.json()) as Tokens;
      expect((await passwordGrant(WRONG_PASSWORD)).status).toBe(400);
      // A span as Next makes for the login app's pages: the URL with its query string.
      const page = trace
        .getTracer("next.js")
        .startSpan(`GET /login?${QUERY_PROBE}`, { attributes: { "http.target": `/login?${QUERY_PROBE}`, "next.route": "/login" } });
      // Next records a page's failure on its span as an exception event, whose message and stack may quote the URL.
      // (recordSpanError: the exception event, then the status with the error's message.)
      page.recordException(new Error(`fetch failed: http://localhost:3000/login?${QUERY_PROBE}`));
      page.setStatus({ code: 2, message: `Invalid URL "http://localhost:3000/login?${QUERY_PROBE}"` });
      page.addEvent("probe", { "http.request.header.cookie": QUERY_PROBE, "next.route": "/login" });
      page.end();
      await flushTracing();
      spans = receiver.spans();
    });

    it("loads the exporter and sends to the receiver's /v1/traces with the configured headers", () => {
      expect(loads.exporter).toBe(1);
      expect(receiver.requests.length).toBeGreaterThan(0);
      for (const request of receiver.requests) {
        expect(request.path).toBe("/v1/traces");
        expect(request.headers["x-collector-key"]).toBe("k-123");
      }
      expect(receiver.resourceAttributes()["service.name"]).toBe("ropc-login-kit");
    });

    it("makes one trace per password grant: the endpoint's span, its database work and the password verification as children", () => {
      const endpoints = spans.filter((s) => s.name === "token");
      expect(endpoints.map((s) => s.attributes["http.response.status_code"])).toEqual([200, 400]);
      for (const endpoint of endpoints) {
        expect(endpoint).toMatchObject({
          kind: 2, // SERVER
          parentSpanId: "",
          attributes: { "http.request.method": "POST", "http.route": "/{tenant}/{workspace}/oauth2/token", "ropc.route": "token" },
        });
        expect(endpoint.attributes["ropc.request_id"]).toMatch(/^[0-9a-f-]{36}$/);
        const children = spans.filter((s) => s.parentSpanId === endpoint.spanId);
        expect(children.every((s) => s.traceId === endpoint.traceId)).toBe(true);
        expect(children.filter((s) => s.name === "password.verify")).toHaveLength(1);
        const database = children.filter((s) => s.attributes["db.system.name"] === "sqlite" || s.attributes["db.system.name"] === "postgresql");
        expect(database.length).toBeGreaterThan(0);
        // The user's lookup (with the brute-force defence's counts, in one statement).
        expect(database.map((s) => s.name)).toContainEqual(expect.stringMatching(/^SELECT .*\bUser\b/));
      }
      // The sign-in's session and first refresh token, written as one while the password checked is
      // still the user's: one span, the three statements' text.
      const signedIn = spans.filter((s) => s.parentSpanId === endpoints[0]!.spanId && s.name === "UPDATE User Session RefreshToken");
      expect(signedIn).toHaveLength(1);
      expect(String(signedIn[0]!.attributes["db.query.text"])).toMatch(
        /^\s*UPDATE "User"[\s\S]*;\n\s*INSERT INTO "Session"[\s\S]*;\n\s*INSERT INTO "RefreshToken"/,
      );
    });

    it("records no password, username, token or query string anywhere", () => {
      const everything = JSON.stringify(receiver.requests.map((r) => r.body));
      for (const secret of [
        ALICE.password,
        WRONG_PASSWORD,
        ALICE.username,
        tokens.access_token,
        tokens.refresh_token,
        tokens.id_token ?? "no id token",
        QUERY_PROBE,
        "query-string-value",
      ]) {
        expect(everything).not.toContain(secret);
      }
      // Its events too, without the query string or the secret attribute.
      expect(everything).toContain('"fetch failed: http://localhost:3000/login"');
      expect(everything).toContain('"name":"probe"');
      expect(everything).toContain('Invalid URL \\"http://localhost:3000/login\\"');
      // The Next-like span is still exported, without its query string.
      expect(spans.find((s) => s.name === "GET /login")?.attributes).toMatchObject({ "http.target": "/login", "next.route": "/login" });
    });
  });
});

describe("scrubAttributes", () => {
  it.each([
    [{ "http.target": "/login?callbackUrl=%2Faccount" }, { "http.target": "/login" }],
    [{ "next.span_name": "GET /account?tab=mfa" }, { "next.span_name": "GET /account" }],
    [{ "url.full": "https://login.example.com/a/b?code=x#frag" }, { "url.full": "https://login.example.com/a/b" }],
    [{ "url.query": "password=x", "http.route": "/login" }, { "http.route": "/login" }],
    // In messages and stacks: quoted, in a stack frame's parentheses, after = or ; (Next's redirect digest).
    [{ "exception.message": 'Invalid URL "http://x.example/login?code=s1"' }, { "exception.message": 'Invalid URL "http://x.example/login"' }],
    [{ "exception.stacktrace": "    at f (http://x.example/a.js?v=s2:1:2)" }, { "exception.stacktrace": "    at f (http://x.example/a.js)" }],
    [{ "exception.message": "NEXT_REDIRECT;replace;/login?token=s3;307;" }, { "exception.message": "NEXT_REDIRECT;replace;/login" }],
    [{ "exception.message": "url=/login?code=s4, then" }, { "exception.message": "url=/login then" }],
    [{ "exception.message": "Invalid href `/login?code=s5` here" }, { "exception.message": "Invalid href `/login` here" }],
    [
      { "exception.message": "url:/login?code=s6 and URL:http://x.example/login?code=s7" },
      { "exception.message": "url:/login and URL:http://x.example/login" },
    ],
    [{ "exception.message": "[/login?code=s8] /a(b)/c?code=s9" }, { "exception.message": "[/login] /a(b)/c" }],
    [{ "http.request.header.authorization": "Basic eDp5", "http.request.header.cookie": "s=1", "enduser.username": "alice" }, {}],
    [
      { "db.query.text": "SELECT 1 WHERE a = ?", "http.response.status_code": 200 },
      { "db.query.text": "SELECT 1 WHERE a = ?", "http.response.status_code": 200 },
    ],
  ])("%j → %j", (attributes, expected) => {
    expect(scrubAttributes(attributes)).toEqual(expected);
  });
});
