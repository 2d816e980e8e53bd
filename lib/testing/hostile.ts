import { basic, ISSUER } from "@/lib/testing/oauth.ts";

/** A small seeded PRNG (mulberry32): the same corpus on every run, for a given seed. */
export function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const bytes = (n: number): Uint8Array<ArrayBuffer> => Uint8Array.from({ length: n }, () => int(256));
  const text = (n: number) => String.fromCharCode(...Array.from({ length: n }, () => 32 + int(95)));
  return { next, int, pick, bytes, text };
}

export interface HostileRequest {
  label: string;
  method: string;
  headers: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
}

const FORM = "application/x-www-form-urlencoded";
const CONTENT_TYPES = [
  FORM,
  `${FORM}; charset=UTF-8`,
  `${FORM}; charset=iso-8859-1`,
  "application/json",
  "text/plain",
  "multipart/form-data; boundary=x",
  "",
  "garbage/\u00ff",
  "application/x-www-form-urlencoded;;;",
];
const FIELDS = [
  "grant_type",
  "client_id",
  "client_secret",
  "username",
  "password",
  "scope",
  "refresh_token",
  "token",
  "token_type_hint",
  "access_token",
  "mfa_token",
  "otp",
  "recovery_code",
  "authenticator_types",
  "x",
  "grant_type[]",
  "__proto__",
  "constructor",
];
const BROKEN_ENCODINGS = ["%", "%zz", "%E0%A4%A", "%ED%A0%80", "%C3%28", "a=%", "=", "&&&", "%00=%00", "a=b=c", "+++=+++"];
const MFA_OTP = "http://auth0.com/oauth/grant-type/mfa-otp";
const MFA_RECOVERY_CODE = "http://auth0.com/oauth/grant-type/mfa-recovery-code";
const GRANTS = [
  "password",
  "refresh_token",
  "client_credentials",
  "authorization_code",
  "Password",
  "",
  "urn:x",
  "password ",
  "\u0000",
  MFA_OTP,
  MFA_RECOVERY_CODE,
  `${MFA_OTP} `,
  MFA_OTP.toUpperCase(),
  "http://auth0.com/oauth/grant-type/mfa-oob",
];
// What a second factor's fields may hold: codes of the wrong shape, near misses, lists.
const CODES = [
  "000000",
  "123456",
  "12345",
  "1234567",
  "１２３４５６",
  "12 34 56",
  "-12345",
  "0x1234",
  "AAAA-BBBB-CCCC-DDDD",
  "aaaa-bbbb-cccc-dddd",
  "AAAABBBBCCCCDDDD",
];
const AUTHENTICATOR_TYPES = ["otp", '["otp"]', '["otp","oob"]', "oob", '["oob"]', "[", '["otp"', "[1]", "[null]", "[[]]", "{}", "otp,otp", " otp ", "OTP"];
// JSON bodies for the endpoints that take JSON (the /mfa ones): wrong types in every member.
const JSON_VALUES: unknown[] = [null, true, 0, -1, 1e308, "", "otp", ["otp"], [1], [null], [["otp"]], {}, { $gt: "" }, "\u0000", "x".repeat(70_000)];

/**
 * Malformed requests for an endpoint: wrong methods and content types, broken encodings, huge
 * and truncated bodies, duplicate and empty parameters, broken Basic headers, invalid UTF-8,
 * garbage and forged tokens. None of them carries a real password or a real token, so none
 * may succeed in anything that stores state.
 */
export function hostileRequests(count: number, seed: number, forged: readonly string[], allowed: readonly string[]): HostileRequest[] {
  const r = random(seed);
  const token = () => r.pick([...forged, r.text(r.int(200)), "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "x".repeat(9000), r.text(43)]);
  const field = (): [string, string] => {
    const name = r.pick(FIELDS);
    const other = () => r.pick(["", r.text(r.int(40)), "demo-spa", "demo-backend", "alice", "a".repeat(r.int(3000)), "openid admin", "é\u0000\uffff"]);
    const value =
      name === "grant_type"
        ? r.pick(GRANTS)
        : ["token", "refresh_token", "access_token", "mfa_token"].includes(name)
          ? token()
          : name === "otp" || name === "recovery_code"
            ? r.pick([...CODES, other()])
            : name === "authenticator_types"
              ? r.pick([...AUTHENTICATOR_TYPES, other()])
              : other();
    return [name, value];
  };
  const form = (n: number) =>
    Array.from({ length: n }, () => field())
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
      .join("&");
  const authorization = () =>
    r.pick([
      undefined,
      "Basic",
      "Basic ===",
      `Basic ${Buffer.from("no-colon").toString("base64")}`,
      `Basic ${Buffer.from([0xff, 0x3a, 0xfe]).toString("base64")}`,
      basic("demo-backend", "wrong-secret"),
      basic("demo-spa", "x"),
      basic("nobody", "x"),
      `Bearer ${token()}`,
      `Basic ${"A".repeat(8000)}`,
      "Digest x",
      `bearer ${token()}`,
      // A real client, so that garbage reaches the token checks behind client authentication.
      basic("demo-backend", "demo-backend-secret"),
      basic("demo-backend", "demo-backend-secret"),
    ]);
  const shapes: Array<() => HostileRequest> = [
    () => ({
      label: "wrong method",
      method: r.pick(["GET", "PUT", "DELETE", "PATCH", "POST"].filter((m) => !allowed.includes(m))),
      headers: {},
      body: undefined,
    }),
    () => ({ label: "content type", method: "POST", headers: { "Content-Type": r.pick(CONTENT_TYPES) }, body: form(1 + r.int(5)) }),
    () => ({
      label: "broken encoding",
      method: "POST",
      headers: { "Content-Type": FORM },
      body: Array.from({ length: 1 + r.int(4) }, () => r.pick(BROKEN_ENCODINGS)).join("&"),
    }),
    () => ({ label: "invalid UTF-8", method: "POST", headers: { "Content-Type": FORM }, body: r.bytes(1 + r.int(200)) }),
    () => ({ label: "huge body", method: "POST", headers: { "Content-Type": FORM }, body: `grant_type=password&x=${"a".repeat(65_536 + r.int(150_000))}` }),
    () => {
      const body = form(2 + r.int(6));
      return { label: "truncated body", method: "POST", headers: { "Content-Type": FORM }, body: body.slice(0, r.int(body.length)) };
    },
    () => {
      const [k, v] = field();
      return {
        label: "duplicate parameter",
        method: "POST",
        headers: { "Content-Type": FORM },
        body: `${form(r.int(3))}&${k}=${encodeURIComponent(v)}&${k}=${encodeURIComponent(r.pick([v, ""]))}`,
      };
    },
    () => ({ label: "empty parameters", method: "POST", headers: { "Content-Type": FORM }, body: FIELDS.map((f) => `${f}=`).join("&") }),
    () => {
      const auth = authorization();
      return {
        label: "broken Authorization",
        method: allowed.includes("POST") ? "POST" : "GET",
        headers: { "Content-Type": FORM, ...(auth ? { Authorization: auth } : {}) },
        body: allowed.includes("POST") ? form(r.int(5)) : undefined,
      };
    },
    () => ({
      label: "garbage token",
      method: allowed.includes("POST") ? "POST" : "GET",
      headers: { "Content-Type": FORM, Authorization: `Bearer ${token()}` },
      body: allowed.includes("POST")
        ? `token=${encodeURIComponent(token())}&access_token=${encodeURIComponent(token())}&refresh_token=${encodeURIComponent(token())}&client_id=demo-spa&grant_type=refresh_token`
        : undefined,
    }),
    () => {
      const grant = r.pick([MFA_OTP, MFA_RECOVERY_CODE]);
      const code = grant === MFA_OTP ? "otp" : "recovery_code";
      const auth = authorization();
      const fields: Array<[string, string]> = [
        ["grant_type", grant],
        ["mfa_token", token()],
        [code, r.pick([...CODES, r.text(r.int(80))])],
        ...(r.next() < 0.5 ? [["client_id", r.pick(["demo-spa", "demo-backend", "nobody", ""])] as [string, string]] : []),
      ].filter(() => r.next() < 0.9) as Array<[string, string]>;
      return {
        label: "second factor",
        method: "POST",
        headers: { "Content-Type": FORM, ...(auth ? { Authorization: auth } : {}) },
        body: fields.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&"),
      };
    },
    () => {
      const members = Array.from({ length: r.int(4) }, () => [r.pick(FIELDS), r.pick(JSON_VALUES)] as const);
      const body = r.pick([
        JSON.stringify(Object.fromEntries(members)),
        JSON.stringify(r.pick(JSON_VALUES)),
        `{"authenticator_types":${r.pick(['["otp"]', '"otp"', "[1]", "{}", "null"])},"__proto__":{"x":1}}`,
        '{"otp":"1","otp":"2"}',
        "{",
        "",
        r.text(r.int(100)),
      ]);
      return {
        label: "JSON body",
        method: allowed.includes("POST") ? "POST" : "GET",
        headers: {
          "Content-Type": r.pick(["application/json", "application/json; charset=utf-8", "application/json; charset=latin1", "APPLICATION/JSON"]),
          Authorization: `Bearer ${token()}`,
        },
        body: allowed.includes("POST") ? body : undefined,
      };
    },
    () => ({
      label: "random headers",
      method: r.pick(allowed),
      headers: {
        "Content-Type": FORM,
        Origin: r.pick(["https://evil.example", "null", "http://localhost:5173", r.text(30)]),
        "Content-Length": String(r.int(10 ** 9)),
      },
      body: form(r.int(4)),
    }),
  ];
  return Array.from({ length: count }, () => r.pick(shapes)());
}

export const HOSTILE_URL = (path: string) => `${ISSUER}${path}`;
