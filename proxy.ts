import { loginProxy } from "@/lib/login/proxy.ts";

export const proxy = loginProxy;

// Every page (404 and error pages too, so that they get the same CSP: the 404 of a path under
// the authorization server's, /demo/default/oauth2/nope, included) and next-auth's routes. Not
// Next's static files, nor what answers for itself, without the login app's session or CSP: the
// authorization server's endpoints, each path of lib/oauth/routes.ts's table (RFC 8414's
// /.well-known/{oauth-authorization-server,openid-configuration}/{tenant}/{workspace} among them),
// and the workspace's logo (/login/logo, whose own CSP is `default-src 'none'; sandbox`). Next
// reads this literal at build time: lib/login/proxy.test.ts checks it against the table.
export const config = {
  matcher: [
    "/((?!_next/static/|_next/image|favicon\\.ico$|login/logo$|[^/]+/[^/]+/(?:oauth2/(?:token|revoke|introspect|register)|userinfo|branding|mfa/(?:authenticators|associate|confirm|remove|recovery-codes)|account/(?:sessions(?:/[^/]+)?|password|activity|profile|email/verify|password-reset(?:/complete)?)|\\.well-known/(?:openid-configuration|jwks\\.json))$|\\.well-known/(?:oauth-authorization-server|openid-configuration)/[^/]+/[^/]+$).*)",
  ],
};
