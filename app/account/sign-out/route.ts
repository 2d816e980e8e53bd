import { formSignOut } from "@/lib/login/form-sign-in.ts";

export { formSignOut as POST };
