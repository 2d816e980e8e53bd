// Served by Next under `next dev`; the production server answers /readyz itself (lib/operations/server.ts).
import { readiness } from "@/lib/operations/health.ts";

export const dynamic = "force-dynamic";

export async function GET(): Promise<Response> {
  const { status, headers, body } = await readiness();
  return new Response(body, { status, headers });
}
