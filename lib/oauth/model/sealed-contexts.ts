// What each secret the server seals at rest is bound to (lib/platform/at-rest.ts): its kind and
// row, so that a sealed value moved to another row does not open. Here, without the stores, so
// that the launcher can check them before serving (lib/scripts/sealed-secrets.ts).

/** A signing key's private part. */
export const signingKeyContext = (kid: string) => `SigningKey:${kid}`;

/** A server secret (the DPoP nonce key, the peer-address key, …). */
export const serverSecretContext = (name: string) => `ServerSecret:${name}`;
