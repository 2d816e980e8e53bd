import http from "node:http";
import type { AddressInfo } from "node:net";

/** One attribute as OTLP/HTTP JSON writes it. */
interface KeyValue {
  key: string;
  value: { stringValue?: string; intValue?: number | string; boolValue?: boolean; doubleValue?: number };
}

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: KeyValue[];
  status?: { code?: number };
}

interface ExportRequest {
  resourceSpans?: Array<{ resource?: { attributes?: KeyValue[] }; scopeSpans?: Array<{ spans?: OtlpSpan[] }> }>;
}

/** A received span with its attributes as plain values. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  name: string;
  kind: number;
  statusCode: number;
  attributes: Record<string, string | number | boolean | undefined>;
}

export interface OtlpReceiver {
  /** The base URL (what OTEL_EXPORTER_OTLP_ENDPOINT takes). */
  url: string;
  requests: Array<{ path: string; headers: http.IncomingHttpHeaders; body: ExportRequest }>;
  spans(): ReceivedSpan[];
  resourceAttributes(): ReceivedSpan["attributes"];
  close(): Promise<void>;
}

function values(attributes: KeyValue[] | undefined): ReceivedSpan["attributes"] {
  return Object.fromEntries(
    (attributes ?? []).map(({ key, value }) => [
      key,
      value.intValue !== undefined ? Number(value.intValue) : (value.stringValue ?? value.boolValue ?? value.doubleValue),
    ]),
  );
}

/** An OTLP/HTTP receiver speaking JSON (what a collector's port 4318 takes), keeping every export it is sent. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const requests: OtlpReceiver["requests"] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      if (req.method !== "POST" || req.headers["content-type"] !== "application/json") {
        res.writeHead(415).end();
        return;
      }
      requests.push({ path: req.url ?? "", headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as ExportRequest });
      res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const resources = () => requests.flatMap((r) => r.body.resourceSpans ?? []);
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    spans: () =>
      resources().flatMap((resource) =>
        (resource.scopeSpans ?? []).flatMap((scope) =>
          (scope.spans ?? []).map((span) => ({
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId ?? "",
            name: span.name,
            kind: span.kind,
            statusCode: span.status?.code ?? 0,
            attributes: values(span.attributes),
          })),
        ),
      ),
    resourceAttributes: () => values(resources()[0]?.resource?.attributes),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
