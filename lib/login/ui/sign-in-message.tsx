"use client";

import { useEffect, useState } from "react";
import { lockoutEnd, signInMessage } from "@/lib/login/messages.ts";

/** The current time, ticking each second until `until` (and not at all without one). */
function useNow(until: number | undefined): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (until === undefined) return;
    const tick = () => {
      const t = Date.now();
      setNow(t);
      if (t >= until) clearInterval(timer);
    };
    const timer = setInterval(tick, 1000);
    tick();
    return () => clearInterval(timer);
  }, [until]);
  return now;
}

/**
 * The message of a sign-in form: an error `code` (a lockout's counts down to its end) or a
 * `notice`. A form shows a notice above its fields (it is there when the page loads) and errors
 * under its button, where one appearing moves nothing the user is looking at.
 */
export function SignInMessage({ code, notice }: { code?: string; notice?: string }) {
  const until = lockoutEnd(code);
  const now = useNow(until);
  const message = code ? signInMessage(code, now) : notice;
  return (
    <div
      id="login-message"
      role="alert"
      data-testid="login-message"
      className={message ? (code ? "message" : "message notice") : "message empty"}
      // The server rendered the wait at its own time; the browser says it at its own.
      suppressHydrationWarning
    >
      {until === undefined ? (
        message
      ) : (
        // A countdown is read once, when it appears, not every second.
        <span aria-live="off" suppressHydrationWarning>
          {message}
        </span>
      )}
    </div>
  );
}
