import { loginProxy } from "@/lib/login/proxy.ts";

export const proxy = loginProxy;

// Every page (404 and error pages too, so that they get the same CSP) and next-auth's routes.
// Not Next's static files, and never the authorization server's endpoints
// (/{tenant}/{workspace}/oauth2/..., /userinfo, /mfa/..., /account/..., /.well-known/..., and RFC 8414's
// /.well-known/{oauth-authorization-server,openid-configuration}/{tenant}/{workspace}): those answer for themselves,
// without the login app's session or CSP.
export const config = {
  matcher: [
    "/((?!_next/static/|_next/image|favicon\\.ico$|[^/]+/[^/]+/oauth2/|[^/]+/[^/]+/userinfo(?:/|$)|[^/]+/[^/]+/mfa/|[^/]+/[^/]+/account/|[^/]+/[^/]+/\\.well-known/|\\.well-known/(?:oauth-authorization-server|openid-configuration)/).*)",
  ],
};
