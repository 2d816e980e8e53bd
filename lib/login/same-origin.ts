/**
 * Whether a form post comes from the app's own pages. A cross-site form must not sign the browser
 * in to an account of the attacker's choosing (login CSRF), nor sign it out, nor change anything
 * on the account page. The routes that take the login app's plain form posts answer next-auth's
 * CSRF check on the browser's behalf, so they make this one: the browser says where the form came
 * from. Our pages send `Referrer-Policy: no-referrer`, under which a browser sends `Origin: null`;
 * Sec-Fetch-Site then says it (a browser without it is refused).
 */
export function isSameOriginPost(req: Request, appOrigin: string): boolean {
  const origin = req.headers.get("origin");
  if (origin && origin !== "null") return origin === appOrigin;
  return req.headers.get("sec-fetch-site") === "same-origin";
}
