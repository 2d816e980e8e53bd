import type { ActivityEvent } from "@/lib/login/account-api.ts";
import { activityInWords, timeAgo } from "@/lib/login/account-page.ts";
import { describeDevice } from "@/lib/platform/device.ts";

/** "Recent activity": the newest sign-ins to this account, failed attempts included. */
export function Activity({ events }: { events: ActivityEvent[] | null }) {
  return (
    <section className="panel" aria-labelledby="activity-title">
      <h2 id="activity-title">Recent activity</h2>
      {events === null ? (
        <p className="hint">Recent activity can't be shown right now.</p>
      ) : events.length === 0 ? (
        <p className="hint">Nothing yet.</p>
      ) : (
        <ul className="activity-list" data-testid="activity">
          {events.map((e, i) => (
            <li key={`${e.at}-${i}`} className={e.outcome === "success" ? undefined : "failed"}>
              <span className="what">{activityInWords(e.type, e.outcome)}</span>
              <span className="meta">
                {describeDevice(e.userAgent)} · {e.ip ?? "unknown address"} · <time dateTime={new Date(e.at * 1000).toISOString()}>{timeAgo(e.at)}</time>
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
