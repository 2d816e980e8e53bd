import { loginProxy } from "@/lib/login/proxy.ts";

export const proxy = loginProxy;

// The login app's pages and next-auth's routes only: the authorization server's endpoints
// (/{tenant}/{workspace}/...) never pass through here.
export const config = { matcher: ["/", "/login", "/account/:path*", "/api/auth/:path*"] };
