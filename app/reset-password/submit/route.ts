import { resetPasswordSubmit } from "@/lib/login/recovery-forms.ts";

export { resetPasswordSubmit as POST };
