// Sessions that need a person: waiting on a permission prompt, or just
// ended in failure. The count goes in the tab title; changes raise a
// browser notification when the user allowed them.
import { daemons } from "./daemons";
import { Observable } from "./observable";
import { sessionTitle, shortPath } from "./format";
import { sessionHref } from "./router";
import type { SessionSummary } from "viewport-client";

class Attention extends Observable {
  count = 0;
  private known = new Map<string, string>();

  get canAsk(): boolean {
    return "Notification" in window && Notification.permission === "default";
  }

  start(): void {
    daemons.watch(() => this.update());
  }

  async askPermission(): Promise<void> {
    await Notification.requestPermission();
    this.changed();
  }

  private update(): void {
    let count = 0;
    for (const daemon of daemons.list) {
      for (const session of daemon.sessions.values()) {
        if (session.state === "awaiting") count += 1;
        const key = `${daemon.id}/${session.sessionId}`;
        const mark = markOf(session);
        const before = this.known.get(key);
        this.known.set(key, mark);
        if (before !== undefined && before !== mark && mark !== "") this.notify(daemon.id, session, mark);
      }
    }
    document.title = count > 0 ? `(${count}) viewport` : "viewport";
    if (count !== this.count) {
      this.count = count;
      this.changed();
    }
  }

  private notify(daemonId: string, session: SessionSummary, mark: string): void {
    if (!("Notification" in window) || Notification.permission !== "granted" || document.hasFocus()) return;
    const body = mark === "awaiting" ? "needs your permission" : `ended: ${session.endReason ?? "ended"}`;
    const title = `${sessionTitle(session)} · ${shortPath(session.cwd)}`;
    const notification = new Notification(title, { body, tag: session.sessionId });
    notification.onclick = () => {
      focus();
      location.hash = sessionHref(daemonId, session.sessionId);
    };
  }
}

/** What about a session is worth a notification ("" when nothing). */
function markOf(session: SessionSummary): string {
  if (session.state === "awaiting") return "awaiting";
  if (session.state === "ended") return `ended:${session.endReason ?? ""}`;
  return "";
}

export const attention = new Attention();
