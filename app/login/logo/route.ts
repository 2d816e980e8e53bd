import { logoResponse } from "@/lib/login/branding.ts";

export const GET = logoResponse;
