import { accountFormSubmit } from "@/lib/login/account-forms.ts";

export { accountFormSubmit as POST };
