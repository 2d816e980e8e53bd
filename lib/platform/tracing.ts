import { SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer } from "@opentelemetry/api";

// The spans' side of tracing: what the endpoints, the SQL helpers and the password hashing call.
// The SDK (exporter, processor, provider) is set up by lib/platform/tracing-sdk.ts, and only when
// an OTLP endpoint is set; until then `state.tracer` is undefined and every helper here runs its
// work directly: one property read per call, no span object, no context switch. The state lives on
// globalThis: the production server's bundle (the OAuth paths) and Next's bundle (the login app,
// and every route in `next dev`) load their own copies of this module.

interface TracingState {
  tracer?: Tracer;
  /** Exports the spans still buffered (set with `tracer`). */
  flush?: () => Promise<void>;
  /** Exports the spans still buffered, then stops the SDK (set with `tracer`). */
  stop?: () => Promise<void>;
  /** The SDK's setup under way. */
  starting?: Promise<boolean>;
}

export const tracing = ((globalThis as Record<symbol, unknown>)[Symbol.for("ropc.tracing")] ??= {}) as TracingState;

/**
 * `work` inside a new span that is the current one for whatever `work` starts. An error ends the
 * span with status ERROR and its type only: an error's message may quote the request.
 */
export function inSpan<T>(tracer: Tracer, name: string, kind: SpanKind, attributes: Attributes, work: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await work(span);
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttribute("error.type", err instanceof Error ? err.name : typeof err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/**
 * `work` in a child span of the request under way (its database work, its password hashing). No
 * span outside a live request span: the audit batches and the pruning run on timers that a request
 * started, after its span ended, and would otherwise show up inside that request's trace.
 */
export function childSpan<T>(name: string, attributes: Attributes, work: (span: Span | undefined) => Promise<T>): Promise<T> {
  const tracer = tracing.tracer;
  if (!tracer || !trace.getActiveSpan()?.isRecording()) return work(undefined);
  return inSpan(tracer, name, SpanKind.INTERNAL, attributes, work);
}

export { SpanKind, SpanStatusCode };
