import { authRoute } from "@/lib/login/auth-route.ts";

export { authRoute as GET, authRoute as POST };
