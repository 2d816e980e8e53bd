import { cancelSignInStep } from "@/lib/login/form-sign-in.ts";

export { cancelSignInStep as POST };
