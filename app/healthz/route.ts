// Served by Next under `next dev`; the production server answers /healthz itself (lib/operations/server.ts).
import { liveness } from "@/lib/operations/health.ts";

export const dynamic = "force-dynamic";

export function GET(): Response {
  const { status, headers, body } = liveness();
  return new Response(body, { status, headers });
}
