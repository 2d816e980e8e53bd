/**
 * What a public key someone else chose (a DPoP proof's, a client's registered or fetched from its
 * `jwks_uri`) must be before this server verifies with it.
 */

/** RFC 7517 §9.1 and RFC 7518 §6: the members that make a JWK private (or symmetric). */
export const PRIVATE_JWK_MEMBERS: readonly string[] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/** Whether a JWK (any object) has a private or symmetric member. */
export const hasPrivateMember = (jwk: object): boolean => PRIVATE_JWK_MEMBERS.some((name) => name in jwk);

/**
 * The largest RSA key verified with. jose refuses moduli under 2048 bits, but a verification's
 * cost grows with the modulus and, far more, with the public exponent, which the key's owner
 * chooses and OpenSSL bounds only for moduli over 3072 bits: measured here, an RSA-3072 key with a
 * 3070-bit exponent took 7.3 ms a verification, against 0.07 ms with 65537. Every library makes
 * 65537 (`AQAB`); a key may have at most 4096 bits and an exponent under 2^32.
 */
const MAX_RSA_MODULUS_BYTES = 512;
const MAX_RSA_EXPONENT_BYTES = 4;

/** Which part of an RSA JWK makes it too costly to verify with, or undefined (also for any other kty). */
export function costlyRsaMember(jwk: { kty?: unknown; n?: unknown; e?: unknown }): "modulus" | "exponent" | undefined {
  if (jwk.kty !== "RSA") return undefined;
  const length = (member: unknown) => {
    if (typeof member !== "string") return 0;
    const bytes = Buffer.from(member, "base64url");
    let first = 0;
    while (first < bytes.length && bytes[first] === 0) first += 1;
    return bytes.length - first;
  };
  if (length(jwk.n) > MAX_RSA_MODULUS_BYTES) return "modulus";
  if (length(jwk.e) > MAX_RSA_EXPONENT_BYTES) return "exponent";
  return undefined;
}

/** What is said of a key refused by costlyRsaMember, after "the …'s RSA ". */
export const RSA_LIMITS: Record<"modulus" | "exponent", string> = {
  modulus: "key may have at most 4096 bits",
  exponent: "exponent must be under 2^32 (65537, as every library makes it)",
};
