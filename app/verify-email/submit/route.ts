import { verifyEmailSubmit } from "@/lib/login/recovery-forms.ts";

export { verifyEmailSubmit as POST };
