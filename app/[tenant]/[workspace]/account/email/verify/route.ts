import { routes } from "@/lib/oauth/routes.ts";

export const { GET, POST, PUT, PATCH, DELETE, OPTIONS } = routes.accountEmailVerify;
