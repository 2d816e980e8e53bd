// The floor the token endpoint is measured against: a bare `node:http` server doing the same
// password-grant work by hand, and nothing else: parse the form, check a Basic client secret,
// one SQLite select, argon2id verification with the same parameters, two ES256 signatures with
// jose, one SQLite insert. Started by run.ts; PORT and BASELINE_DB from the environment.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { createServer, type ServerResponse } from "node:http";
import { verify } from "@node-rs/argon2";
import Database from "better-sqlite3";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

const db = new Database(process.env.BASELINE_DB ?? ":memory:");
db.pragma("journal_mode = WAL");
db.pragma("synchronous = NORMAL");
const selectUser = db.prepare("SELECT id, hash, name, email FROM users WHERE username = ?");
const insertToken = db.prepare("INSERT INTO tokens (hash, user_id, created_at) VALUES (?, ?, ?)");
const { privateKey, publicKey } = await generateKeyPair("ES256");
const kid = (await exportJWK(publicKey)).x!.slice(0, 16);
const secretDigest = createHash("sha256").update("demo-backend-secret").digest();
const issuer = `http://127.0.0.1:${process.env.PORT}/demo/default`;

function fail(res: ServerResponse, status: number, error: string) {
  res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store" }).end(JSON.stringify({ error }));
}

createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", async () => {
    const params = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
    const [id, secret] = Buffer.from((req.headers.authorization ?? "").slice(6), "base64")
      .toString()
      .split(":");
    const digest = createHash("sha256")
      .update(secret ?? "")
      .digest();
    if (id !== "demo-backend" || !timingSafeEqual(digest, secretDigest)) return fail(res, 401, "invalid_client");
    const user = selectUser.get(params.get("username") ?? "") as { id: string; hash: string; name: string; email: string } | undefined;
    if (!user || !(await verify(user.hash, params.get("password") ?? ""))) return fail(res, 400, "invalid_grant");
    const iat = Math.floor(Date.now() / 1000);
    const accessToken = await new SignJWT({
      iss: issuer,
      sub: user.id,
      aud: ["demo-backend"],
      client_id: "demo-backend",
      scope: "openid profile email",
      jti: randomUUID(),
      iat,
      nbf: iat,
      exp: iat + 3600,
    })
      .setProtectedHeader({ alg: "ES256", kid, typ: "at+jwt" })
      .sign(privateKey);
    const idToken = await new SignJWT({
      iss: issuer,
      sub: user.id,
      aud: "demo-backend",
      iat,
      exp: iat + 3600,
      auth_time: iat,
      name: user.name,
      email: user.email,
    })
      .setProtectedHeader({ alg: "ES256", kid })
      .sign(privateKey);
    const refreshToken = randomBytes(32).toString("base64url");
    insertToken.run(createHash("sha256").update(refreshToken).digest("base64url"), user.id, Date.now());
    res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
    res.end(
      JSON.stringify({
        access_token: accessToken,
        token_type: "bearer",
        expires_in: 3600,
        scope: "openid profile email",
        id_token: idToken,
        refresh_token: refreshToken,
      }),
    );
  });
}).listen(Number(process.env.PORT), "127.0.0.1", () => process.stdout.write("ready\n"));
