import type { JSONWebKeySet } from "jose";

/**
 * What an unknown client's assertion is verified against (client-auth/authenticate.ts), so that
 * it costs what a known client's assertion by a wrong key costs: public keys of each kind a
 * client may register (P-256 for ES256, RSA for RS256 and PS256, Ed25519 for EdDSA), whose
 * private halves were never kept. Like a registered set they have no `kid` the caller could name:
 * an assertion with a kid finds no key (no verification, as for a known client's unknown kid);
 * one without is verified with the key of its algorithm, and fails. Written out, not made at
 * start: an RSA key would cost every process a tenth of a second to make.
 */
export const STAND_IN_KEYS: JSONWebKeySet = {
  keys: [
    {
      kty: "EC",
      x: "66kyQS926uNVhuYp2Xuplne3AqrC4RB314KLLJqQNF0",
      y: "1vQpF8xwe8WamkfwC_DqF-Fby4UnMHf4LTawYIMtJ5g",
      crv: "P-256",
    },
    {
      kty: "RSA",
      n: "1SfidR_wSRZburdKEBMlrAzJWhTlwWC90azHMBp7bCvMW6Z-jYoT3AdJ8v2YnbWtr_QCHSmL6Ufg0sMhOd1l1-Ge6lKrI7-hVFVkcZEOryTkyt5pnidZ_N7WH2WDpBRRkwFYAOu9pmb9X_3f6Z0ez4IGI5DPzC9OeWdXn8U6A0bN9gfb_htA97iRcgleaBP_K9F4ARV1Ei0ODrtEMD89qZt2JLbAGBi4hK5esozC_l1hhhrmwlJIG2Vi8w_OfRYzsL7wU2-GmNOqHgriGJEovg08SLidgcY5iO_w8DRdHcGBOtQGvKwa-U46OWaHlJvUzZkCYxkUq4r8HtkvAuQrbw",
      e: "AQAB",
    },
    {
      crv: "Ed25519",
      x: "YsQGAI10-IaQS5spQjsJ71tmMtLnIGObydus2VUiTOE",
      kty: "OKP",
    },
  ],
} as JSONWebKeySet;
