// Every session of every daemon, live, with filters.
import { useState } from "preact/hooks";
import { daemons, type Daemon } from "../daemons";
import { age, money, sessionTitle, shortPath } from "../format";
import { useObservable } from "../observable";
import type { SessionSummary } from "viewport-client";
import { sessionHref } from "../router";
import { StateBadge, useNow } from "../widgets";

type Row = { daemon: Daemon; session: SessionSummary };
const STATES = ["all", "running", "awaiting", "idle", "ended"] as const;

export function SessionsPage() {
  useObservable(daemons, ...daemons.list);
  const now = useNow(5000);
  const [text, setText] = useState("");
  const [state, setState] = useState<(typeof STATES)[number]>("all");
  const [daemonId, setDaemonId] = useState("all");
  const rows: Row[] = daemons.list
    .flatMap((daemon) => [...daemon.sessions.values()].map((session) => ({ daemon, session })))
    .filter((row) => daemonId === "all" || row.daemon.id === daemonId)
    .filter((row) => matchesState(row.session, state))
    .filter((row) => matchesText(row, text.trim().toLowerCase()))
    .sort((a, b) => b.session.updatedAt - a.session.updatedAt);
  return (
    <section>
      <div class="daemon-strip">
        {daemons.list.map((daemon) => (
          <span class={`daemon-pill ${daemon.conn.state}`} data-daemon={daemon.id} title={daemon.id}>
            {daemon.name} <small>{daemon.conn.state === "online" ? "online" : "disconnected"}</small>
          </span>
        ))}
      </div>
      <div class="filters">
        <input type="search" placeholder="Filter by directory, agent, title…" value={text} onInput={(e) => setText(e.currentTarget.value)} />
        <select value={state} onChange={(e) => setState(e.currentTarget.value as typeof state)} aria-label="state">
          {STATES.map((s) => <option value={s}>{s}</option>)}
        </select>
        {daemons.list.length > 1 && (
          <select value={daemonId} onChange={(e) => setDaemonId(e.currentTarget.value)} aria-label="daemon">
            <option value="all">all daemons</option>
            {daemons.list.map((d) => <option value={d.id}>{d.name}</option>)}
          </select>
        )}
        <a class="button" href="#/launch">New session</a>
      </div>
      <table class="sessions">
        <thead>
          <tr>
            <th>Daemon</th><th>Directory</th><th>Agent</th><th>Name</th><th>State</th>
            <th>Age</th><th>Active</th><th class="num">Cost</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ daemon, session }) => (
            <tr key={`${daemon.id}/${session.sessionId}`} data-session={session.sessionId} data-daemon={daemon.id}
              class={session.state === "awaiting" ? "needs-you" : ""}
              onClick={() => (location.hash = sessionHref(daemon.id, session.sessionId))}>
              <td data-label="Daemon">{daemon.name}</td>
              <td data-label="Directory" title={session.cwd}>{shortPath(session.cwd)}</td>
              <td data-label="Agent">{session.agent}</td>
              <td data-label="Name" class="title">
                <a href={sessionHref(daemon.id, session.sessionId)}>{sessionTitle(session)}</a>
              </td>
              <td data-label="State"><StateBadge state={session.state} disconnected={session.disconnected} reason={session.endReason} /></td>
              <td data-label="Age">{age(session.createdAt, now)}</td>
              <td data-label="Active">{age(session.updatedAt, now)} ago</td>
              <td data-label="Cost" class="num">{money(session.costUsd)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 && <p class="muted empty">No sessions{text || state !== "all" ? " match" : " yet"}. <a href="#/launch">Launch one</a>.</p>}
    </section>
  );
}

function matchesState(session: SessionSummary, state: (typeof STATES)[number]): boolean {
  if (state === "all") return true;
  if (state === "running") return session.state === "active";
  return session.state === state;
}

function matchesText({ daemon, session }: Row, text: string): boolean {
  if (!text) return true;
  return [daemon.name, session.cwd, session.agent, sessionTitle(session), session.sessionId]
    .some((field) => field.toLowerCase().includes(text));
}
