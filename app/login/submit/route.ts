import { formSignIn } from "@/lib/login/form-sign-in.ts";

export { formSignIn as POST };
