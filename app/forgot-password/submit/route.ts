import { forgotPasswordSubmit } from "@/lib/login/recovery-forms.ts";

export { forgotPasswordSubmit as POST };
