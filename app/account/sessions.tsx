import type { AccountSession } from "@/lib/login/account-api.ts";
import { describeDevice } from "@/lib/platform/device.ts";
import { timeAgo } from "@/lib/login/account-page.ts";
import { EndOtherSessionsForm, EndSessionForm } from "./account-forms.tsx";

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

/** The rows shown: this device and the newest others ("Sign out of all other sessions" reaches the rest). */
const SHOWN = 10;

/** "Your sessions": every browser and app signed in to this account, this one first. */
export function Sessions({ sessions, error }: { sessions: AccountSession[] | null; error?: string }) {
  const ordered = sessions ? [...sessions].sort((a, b) => Number(b.current) - Number(a.current)) : [];
  const others = ordered.filter((s) => !s.current).length;
  const hidden = Math.max(0, ordered.length - SHOWN);
  return (
    <section className="panel" id="sessions" aria-labelledby="sessions-title">
      <h2 id="sessions-title">Your sessions</h2>
      {sessions === null ? (
        <p className="hint">Your sessions can't be listed right now.</p>
      ) : (
        <>
          <p className="hint">Where your account is signed in. Sign out anywhere you don't recognise, then change your password.</p>
          <ul className="session-list" data-testid="sessions">
            {ordered.slice(0, SHOWN).map((s) => {
              const device = describeDevice(s.userAgent);
              return (
                <li key={s.id} data-testid="session" data-current={s.current || undefined}>
                  <div className="session-what">
                    <span className="device">{device}</span>
                    {s.current ? <span className="badge">This device</span> : null}
                    <span className="meta">
                      {s.ip ?? "Unknown address"} · signed in <time dateTime={iso(s.createdAt)}>{timeAgo(s.createdAt)}</time> · last active{" "}
                      <time dateTime={iso(s.lastUsedAt)}>{timeAgo(s.lastUsedAt)}</time>
                    </span>
                  </div>
                  {s.current ? null : <EndSessionForm id={s.id} device={device} />}
                </li>
              );
            })}
          </ul>
          {hidden > 0 ? <p className="hint">And {hidden === 1 ? "1 older session" : `${hidden} older sessions`}.</p> : null}
          {others > 0 ? (
            <EndOtherSessionsForm error={error} />
          ) : (
            <>
              {error ? (
                <div role="alert" className="message" id="sessions-message">
                  {error}
                </div>
              ) : null}
              <p className="hint">No other session is signed in.</p>
            </>
          )}
        </>
      )}
    </section>
  );
}
