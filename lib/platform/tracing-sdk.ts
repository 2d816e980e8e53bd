import type { Attributes, AttributeValue } from "@opentelemetry/api";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-node";
import { parseSettings, type Env } from "@/lib/platform/env.ts";
import { inSpan, SpanKind, tracing } from "@/lib/platform/tracing.ts";

// Sets up OpenTelemetry's SDK: called by instrumentation.ts (Next's hook: `npm run dev`, and Next's
// own server in production) and by the production launcher (lib/scripts/start.ts), which answers
// the OAuth paths without Next. Whichever comes first sets it up for the process; the other finds it
// done (lib/platform/tracing.ts keeps the state on globalThis). The SDK's packages are imported
// only when an endpoint is set.

/** Where spans are sent: the traces URL as given, or the base URL's `/v1/traces` (the OTLP spec's rule); undefined: nowhere. */
export function tracesUrl(env: Env = process.env): string | undefined {
  const { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: traces, OTEL_EXPORTER_OTLP_ENDPOINT: base } = parseSettings(env);
  if (traces) return traces;
  return base === undefined ? undefined : `${base.replace(/\/+$/, "")}/v1/traces`;
}

/**
 * Starts exporting spans when an OTLP endpoint is set (OTEL_SDK_DISABLED=true turns it off);
 * answers whether spans are exported. Throws a ConfigError naming a bad setting. The exporter
 * reads its other standard variables itself (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _COMPRESSION,
 * their _TRACES_ forms) and the batch processor its OTEL_BSP_* ones.
 */
export async function startTracing(env: Env = process.env): Promise<boolean> {
  if (tracing.tracer) return true;
  const url = tracesUrl(env);
  // A boolean of the OpenTelemetry specification: "true" in any case, anything else is false.
  if (url === undefined || env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return false;
  return (tracing.starting ??= setUp(url, env).finally(() => (tracing.starting = undefined)));
}

async function setUp(url: string, env: Env): Promise<boolean> {
  const [
    { NodeTracerProvider, BatchSpanProcessor },
    { OTLPTraceExporter },
    { defaultResource, detectResources, envDetector, resourceFromAttributes },
    { ATTR_SERVICE_NAME },
    api,
  ] = await Promise.all([
    import("@opentelemetry/sdk-trace-node"),
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/semantic-conventions"),
    import("@opentelemetry/api"),
  ]);
  // Loaded now, not imported: the logger reads the settings when it loads (see lib/scripts/serve.ts).
  const { logger } = await import("@/lib/platform/logger.ts");
  // The SDK reports a receiver that cannot be reached through `diag`, silent by default.
  const log = logger.child({ event: "traces.export" });
  api.diag.setLogger({ error: (m) => log.warn(m), warn: (m) => log.warn(m), info: () => {}, debug: () => {}, verbose: () => {} }, api.DiagLogLevel.WARN);
  const resource = defaultResource()
    .merge(detectResources({ detectors: [envDetector] }))
    // OTEL_SERVICE_NAME wins over a service.name in OTEL_RESOURCE_ATTRIBUTES, as the spec says.
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: parseSettings(env).OTEL_SERVICE_NAME }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(scrubbing(new OTLPTraceExporter({ url })))] });
  // The global provider (Next's own spans use it too), AsyncLocalStorage for the current span, W3C trace context.
  provider.register();
  tracing.tracer = provider.getTracer("ropc-login-kit");
  tracing.flush = () => provider.forceFlush();
  tracing.stop = () => provider.shutdown();
  logger.info({ event: "traces.start", url: new URL(url).origin }, "exporting traces");
  return true;
}

/** `work` in a root span of its own (a step of the server's start), or plainly when traces are off. */
export function startupSpan<T>(name: string, work: () => Promise<T>): Promise<T> {
  const tracer = tracing.tracer;
  return tracer ? inSpan(tracer, name, SpanKind.INTERNAL, {}, () => work()) : work();
}

/** Exports the spans still buffered now (they go in batches, every few seconds). */
export async function flushTracing(): Promise<void> {
  await tracing.flush?.();
}

/** Exports the spans still buffered and stops exporting; nothing when traces are off. For the server's graceful stop. */
export async function stopTracing(): Promise<void> {
  const stop = tracing.stop;
  tracing.tracer = tracing.flush = tracing.stop = undefined;
  await stop?.();
}

// What a span may not carry, whoever made it: our spans hold none of it, but Next's own spans (the
// login app's pages) record the requested URL, query string included.
const SECRET_KEY = /authorization|cookie|password|secret|token|username|^url\.query$/i;
// A URL or a path followed by its query or fragment: alone, in a span name (`GET /login?…`), or
// in an error's message or stack: quoted (", ', `), in brackets or a stack frame's parentheses,
// after `=`, `:` or `;` (the digest of Next's redirects). The query goes up to a space, a quote or
// a closing bracket (a comma goes with it: a query may hold one).
const QUERY = /(^|[\s"'`([=:;,<])((?:https?:\/\/|\/)[^?#\s"'`<>]*)[?#][^\s"'`<>)\]]*/gi;

function withoutQuery(value: string): string {
  return value.replace(QUERY, "$1$2");
}

/** A span's attributes without secrets and query strings; the same object when there is nothing to take out. */
export function scrubAttributes(attributes: Attributes): Attributes {
  let clean: Attributes | undefined;
  for (const [key, value] of Object.entries(attributes)) {
    const kept: AttributeValue | undefined = SECRET_KEY.test(key) ? undefined : typeof value === "string" ? withoutQuery(value) : value;
    if (kept === value) continue;
    clean ??= { ...attributes };
    if (kept === undefined) delete clean[key];
    else clean[key] = kept;
  }
  return clean ?? attributes;
}

/** A span's events (an exception's message and stack among them: Next records its pages' failures so) scrubbed alike. */
function scrubEvents(events: ReadableSpan["events"]): ReadableSpan["events"] {
  let clean: ReadableSpan["events"] | undefined;
  events.forEach((event, i) => {
    const attributes = event.attributes && scrubAttributes(event.attributes);
    const name = withoutQuery(event.name);
    if (attributes === event.attributes && name === event.name) return;
    clean ??= [...events];
    clean[i] = { ...event, name, attributes };
  });
  return clean ?? events;
}

function scrub(span: ReadableSpan): ReadableSpan {
  const attributes = scrubAttributes(span.attributes);
  const name = withoutQuery(span.name);
  const events = scrubEvents(span.events);
  // Next sets an error's message as its span's status too (recordSpanError).
  const message = span.status.message === undefined ? undefined : withoutQuery(span.status.message);
  const status = message === span.status.message ? span.status : { ...span.status, message };
  if (attributes === span.attributes && name === span.name && events === span.events && status === span.status) return span;
  // The span with these fields replaced; its methods (spanContext) read the rest through the prototype.
  return Object.create(span, {
    attributes: { value: attributes },
    name: { value: name },
    events: { value: events },
    status: { value: status },
  }) as ReadableSpan;
}

/** The exporter, given scrubbed spans. */
function scrubbing(exporter: SpanExporter): SpanExporter {
  return {
    export: (spans, done) => exporter.export(spans.map(scrub), done),
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}
