// One session: its transcript as it streams, open permission prompts as
// buttons, a prompt box, and the controls its agent offers. A long session
// opens on its tail; older pages come in as the reader scrolls up.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { daemons, type Daemon } from "../daemons";
import { money, sessionTitle } from "../format";
import { markdownHtml } from "../markdown";
import { useObservable } from "../observable";
import type { ConfigOption, PermissionRequest, ReadUpdatesResult, ServerFrame, SessionSubscribeResult } from "viewport-client";
import type { Route } from "../router";
import { Transcript, type Entry } from "../transcript";
import { ToolView } from "./tools";
import { ActionButton, StateBadge } from "../widgets";
import { TerminalView } from "./terminal";

/** Updates shown when a session opens; older ones come a page at a time. */
export const TAIL_UPDATES = 400;
const PAGE_UPDATES = 500;

export function SessionPage({ route }: { route: Extract<Route, { page: "session" }> }) {
  useObservable(daemons);
  const daemon = daemons.byId(route.daemonId);
  if (!daemon) return <p class="error">No daemon {route.daemonId} is paired with this browser. <a href="#/daemons">Daemons</a></p>;
  const known = daemon.sessions.get(route.sessionId);
  if (known?.kind === "terminal") return <TerminalView daemon={daemon} sessionId={route.sessionId} />;
  return <AgentSession daemon={daemon} sessionId={route.sessionId} jumpTo={route.seq} />;
}

/** Subscribe from the tail (or from the last seq shown, after a reconnect). */
function useTranscript(daemon: Daemon, sessionId: string): { transcript: Transcript; error: string } {
  const transcript = useMemo(() => new Transcript(), [daemon, sessionId]);
  const [error, setError] = useState("");
  useEffect(() => {
    const stopFrames = daemon.conn.onFrame((frame: ServerFrame) => {
      if (frame.type === "session-update" && frame.sessionId === sessionId) transcript.apply(frame.seq, frame.update);
    });
    const stopOpen = daemon.conn.onOpen(async () => {
      try {
        if (!transcript.isStarted) {
          // The tail in one reply; the subscription then goes on from its end.
          const tail = await daemon.conn.request<ReadUpdatesResult>({ type: "readUpdates", sessionId, beforeSeq: Number.MAX_SAFE_INTEGER, limit: TAIL_UPDATES });
          transcript.start(tail.updates);
        }
        const afterSeq = transcript.lastSeq;
        const result = await daemon.conn.request<SessionSubscribeResult>({ type: "subscribe", sessionId, afterSeq });
        transcript.setSummary(result.session, result.pendingPrompts.map((p) => p.request));
        setError("");
      } catch (e) {
        setError((e as Error).message);
      }
    });
    return () => {
      stopFrames();
      stopOpen();
      if (daemon.conn.state === "online") void daemon.conn.request({ type: "unsubscribe", sessionId }).catch(() => {});
    };
  }, [transcript]);
  return { transcript, error };
}

function AgentSession({ daemon, sessionId, jumpTo }: { daemon: Daemon; sessionId: string; jumpTo?: number }) {
  const { transcript, error } = useTranscript(daemon, sessionId);
  useObservable(transcript, daemon.conn);
  const summary = transcript.summary ?? daemon.sessions.get(sessionId);
  const ended = transcript.state === "ended";
  return (
    <section class="session" data-session={sessionId}>
      <div class="session-head">
        <h1>{summary ? sessionTitle(summary) : sessionId}</h1>
        <StateBadge state={transcript.state} disconnected={transcript.disconnected} reason={transcript.endReason} />
        {daemon.conn.state !== "online" && <span class="reconnecting" role="status">reconnecting…</span>}
        <span class="spacer" />
        <Usage transcript={transcript} />
      </div>
      <div class="session-meta muted">
        {daemon.name} · {summary?.agent} · <span title={summary?.cwd}>{summary?.cwd}</span> · <code>{sessionId}</code>
      </div>
      {error && <p class="error">{error}</p>}
      <Controls daemon={daemon} sessionId={sessionId} transcript={transcript} />
      <TranscriptView daemon={daemon} sessionId={sessionId} transcript={transcript} jumpTo={jumpTo} />
      <Prompts daemon={daemon} sessionId={sessionId} pending={[...transcript.pending.values()]} />
      {!ended && <PromptBox daemon={daemon} sessionId={sessionId} busy={transcript.state === "active"} />}
      {ended && (
        <div class="ended-bar">
          This session ended{transcript.endReason ? ` (${transcript.endReason})` : ""}.{" "}
          <ActionButton label="Resume" run={() => daemon.client.resume(sessionId)} />
        </div>
      )}
    </section>
  );
}

function Usage({ transcript }: { transcript: Transcript }) {
  const usage = transcript.usage;
  if (!usage) return null;
  const context = usage.contextUsed != null && usage.contextSize ? `${Math.round((usage.contextUsed / usage.contextSize) * 100)}% context` : "";
  const tokens = usage.inputTokens != null ? `${usage.inputTokens} in / ${usage.outputTokens ?? 0} out` : "";
  return (
    <span class="usage muted" data-testid="usage">
      {[tokens, context, money(usage.cost?.amount, usage.cost?.currency)].filter(Boolean).join(" · ")}
    </span>
  );
}

function Controls({ daemon, sessionId, transcript }: { daemon: Daemon; sessionId: string; transcript: Transcript }) {
  const live = transcript.state !== "ended";
  const request = (frame: Parameters<typeof daemon.conn.request>[0]) => daemon.conn.request(frame);
  return (
    <div class="controls">
      {live && transcript.config.map((option) => <ConfigSelect option={option} onPick={(value) => request(setConfigFrame(sessionId, option, value))} />)}
      {live && (transcript.state === "active" || transcript.state === "awaiting") && (
        <ActionButton label="Cancel turn" run={() => daemon.client.cancel(sessionId)} />
      )}
      {live && <ActionButton label="Close" confirm="Close this session? Its agent is asked to stop." run={() => daemon.client.close(sessionId)} />}
      {live && <ActionButton label="Kill" danger confirm="Kill this session's agent now?" run={() => request({ type: "kill", sessionId })} />}
      <ActionButton
        label="Destroy"
        danger
        confirm="Destroy this session and everything stored of it? This cannot be undone."
        run={async () => {
          await daemon.client.destroy(sessionId, { force: true });
          location.hash = "#/";
        }}
      />
      {transcript.plan.length > 0 && (
        <details class="plan" open>
          <summary>Plan</summary>
          <ol>
            {transcript.plan.map((entry) => <li class={`plan-${entry.status}`}>{entry.content}</li>)}
          </ol>
        </details>
      )}
    </div>
  );
}

function setConfigFrame(sessionId: string, option: ConfigOption, value: string) {
  const category = option.category ?? option.id;
  if (category === "mode") return { type: "setConfig" as const, sessionId, mode: value };
  if (category === "model") return { type: "setConfig" as const, sessionId, model: value };
  return { type: "setConfig" as const, sessionId, thoughtLevel: value };
}

function ConfigSelect({ option, onPick }: { option: ConfigOption; onPick: (value: string) => Promise<unknown> }) {
  return (
    <label class="config">
      {option.name}
      <select value={option.current} onChange={(e) => void onPick(e.currentTarget.value)}>
        {option.choices.map((choice) => <option value={choice.value}>{choice.name}</option>)}
      </select>
    </label>
  );
}

function TranscriptView(props: { daemon: Daemon; sessionId: string; transcript: Transcript; jumpTo?: number }) {
  const { daemon, sessionId, transcript, jumpTo } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const stuckToBottom = useRef(true);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const hasOlder = transcript.firstSeq > 1;

  async function loadOlder(): Promise<void> {
    if (loadingOlder || !hasOlder) return;
    setLoadingOlder(true);
    const element = scroller.current;
    const fromBottom = element ? element.scrollHeight - element.scrollTop : 0;
    try {
      const page = await daemon.conn.request<ReadUpdatesResult>({ type: "readUpdates", sessionId, beforeSeq: transcript.firstSeq, limit: PAGE_UPDATES });
      transcript.prepend(page.updates);
      if (page.updates.length === 0) transcript.firstSeq = 1;
      // Keep what the reader looks at in place while older entries go above it.
      requestAnimationFrame(() => element && (element.scrollTop = element.scrollHeight - fromBottom));
    } finally {
      setLoadingOlder(false);
    }
  }

  useLayoutEffect(() => {
    const element = scroller.current;
    if (element && stuckToBottom.current && jumpTo === undefined) element.scrollTop = element.scrollHeight;
  });

  useEffect(() => {
    if (jumpTo === undefined) return;
    if (jumpTo < transcript.firstSeq && hasOlder) {
      void loadOlder();
      return;
    }
    const target = findEntryElement(scroller.current, jumpTo);
    target?.scrollIntoView({ block: "center" });
    target?.classList.add("jumped");
  }, [jumpTo, transcript.firstSeq, transcript.entries.length]);

  return (
    <div
      class="transcript"
      ref={scroller}
      data-first-seq={transcript.firstSeq}
      data-last-seq={transcript.lastSeq}
      data-applied={transcript.seqs.length}
      onScroll={(event) => {
        const element = event.currentTarget;
        stuckToBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < 40;
        if (element.scrollTop < 200) void loadOlder();
      }}
    >
      {hasOlder && (
        <button class="older" onClick={() => void loadOlder()} disabled={loadingOlder}>
          {loadingOlder ? "Loading…" : `Earlier updates (before #${transcript.firstSeq})`}
        </button>
      )}
      {transcript.entries.map((entry) => <EntryView key={entry.seq} entry={entry} />)}
    </div>
  );
}

/** The entry that holds `seq`: the last one starting at or before it. */
function findEntryElement(root: HTMLElement | null, seq: number): HTMLElement | undefined {
  if (!root) return undefined;
  let found: HTMLElement | undefined;
  for (const element of root.querySelectorAll<HTMLElement>("[data-seq]")) {
    if (Number(element.dataset.seq) <= seq) found = element;
    else break;
  }
  return found;
}

function EntryView({ entry }: { entry: Entry }) {
  switch (entry.kind) {
    case "user":
      return <div class="entry user" data-seq={entry.seq}><div class="who">you</div><div class="text">{entry.text}</div></div>;
    case "agent":
      return (
        <div class={`entry agent ${entry.done ? "" : "streaming"}`} data-seq={entry.seq}>
          <div class="markdown" dangerouslySetInnerHTML={{ __html: markdownHtml(entry.text) }} />
        </div>
      );
    case "thought":
      return (
        <details class="entry thought" data-seq={entry.seq}>
          <summary>Thinking</summary>
          <div class="text">{entry.text}</div>
        </details>
      );
    case "tool":
      return <ToolView seq={entry.seq} tool={entry.tool} />;
    case "permission":
      return (
        <div class="entry permission-line muted" data-seq={entry.seq}>
          Permission: {entry.request.title} {entry.outcome ? `→ ${entry.outcome}` : "(waiting)"}
        </div>
      );
    case "note":
      return <div class="entry note muted" data-seq={entry.seq}>{entry.text}</div>;
  }
}

function Prompts({ daemon, sessionId, pending }: { daemon: Daemon; sessionId: string; pending: PermissionRequest[] }) {
  if (pending.length === 0) return null;
  return (
    <div class="prompts" role="alert">
      {pending.map((request) => (
        <div class="prompt card" data-prompt={request.promptId}>
          <div class="prompt-title">Permission needed: <strong>{request.title}</strong></div>
          <div class="prompt-options">
            {request.options.map((option) => (
              <ActionButton
                label={option.name}
                danger={option.kind.startsWith("reject")}
                run={() => daemon.client.respondToPrompt(sessionId, request.promptId, { optionId: option.optionId })}
              />
            ))}
          </div>
        </div>
      ))}
    </div>
  );
}

function PromptBox({ daemon, sessionId, busy }: { daemon: Daemon; sessionId: string; busy: boolean }) {
  const [text, setText] = useState("");
  const [error, setError] = useState("");
  async function send(): Promise<void> {
    const message = text.trim();
    if (!message) return;
    try {
      await daemon.client.prompt(sessionId, message);
      setText("");
      setError("");
    } catch (e) {
      setError((e as Error).message);
    }
  }
  return (
    <form class="prompt-box" onSubmit={(e) => { e.preventDefault(); void send(); }}>
      <textarea
        rows={2}
        placeholder={busy ? "The agent is working: Cancel turn stops it" : "Send a message (Enter sends, Shift+Enter for a new line)"}
        value={text}
        onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && !e.shiftKey) {
            e.preventDefault();
            void send();
          }
        }}
      />
      <button type="submit" disabled={!text.trim()}>Send</button>
      {error && <span class="error">{error}</span>}
    </form>
  );
}
