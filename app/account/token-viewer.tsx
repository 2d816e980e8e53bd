"use client";

import { useEffect, useState } from "react";
import type { DisplayedToken } from "@/lib/login/current-session.ts";

function remaining(exp: unknown, now: number): string {
  if (typeof exp !== "number") return "no expiry";
  const seconds = Math.round(exp - now / 1000);
  if (seconds <= 0) return "expired";
  const m = Math.floor(seconds / 60);
  return m > 0 ? `${m} min ${seconds % 60} s` : `${seconds} s`;
}

/** The decoded header and claims of a token (or, for an opaque one, that it is opaque), with a live countdown to its expiry. */
export function TokenViewer({ title, token, testId }: { title: string; token: DisplayedToken; testId: string }) {
  const [now, setNow] = useState<number | undefined>(undefined);
  useEffect(() => {
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const exp = token.kind === "jwt" ? token.claims.exp : token.expiresAt === undefined ? undefined : token.expiresAt / 1000;
  return (
    <section className="token" data-testid={testId} aria-labelledby={`${testId}-title`}>
      <h2 id={`${testId}-title`}>{title}</h2>
      <p>
        Expires in <span data-testid={`${testId}-countdown`}>{now === undefined ? "…" : remaining(exp, now)}</span>
      </p>
      {token.kind === "jwt" ? (
        <>
          <h3>Header</h3>
          <pre data-testid={`${testId}-header`}>{JSON.stringify(token.header, null, 2)}</pre>
          <h3>Claims</h3>
          <pre data-testid={`${testId}-claims`}>{JSON.stringify(token.claims, null, 2)}</pre>
        </>
      ) : (
        <p data-testid={`${testId}-opaque`}>An opaque token: the authorization server gives it no contents a client can read.</p>
      )}
    </section>
  );
}
