// A terminal session in xterm.js: the screen snapshot on attach, then every
// byte by offset; after a reconnect it resumes from the offset it reached,
// so nothing is shown twice or lost. xterm.js loads only on this page.
import { useEffect, useRef, useState } from "preact/hooks";
import type { Daemon } from "../daemons";
import { useObservable } from "../observable";
import type { ServerFrame } from "viewport-client";
import { ActionButton, StateBadge } from "../widgets";
import { sessionTitle } from "../format";

interface AttachResult {
  snapshot?: { cols: number; rows: number; screen: string };
  offset: number;
}

export function TerminalView({ daemon, sessionId }: { daemon: Daemon; sessionId: string }) {
  useObservable(daemon, daemon.conn);
  const host = useRef<HTMLDivElement>(null);
  const [error, setError] = useState("");
  const summary = daemon.sessions.get(sessionId);

  useEffect(() => {
    let disposed = false;
    let cleanup = () => {};
    void (async () => {
      const [{ Terminal }, { FitAddon }, css] = await Promise.all([
        import("@xterm/xterm"),
        import("@xterm/addon-fit"),
        import("../xterm-css"),
      ]);
      if (disposed || !host.current) return;
      css.install();
      const term = new Terminal({ convertEol: false, cursorBlink: true, scrollback: 5000, fontSize: 13 });
      const fit = new FitAddon();
      term.loadAddon(fit);
      term.open(host.current);
      fit.fit();
      /** The console-log offset after the last byte written to the screen. */
      let offset: number | undefined;
      const decoder = (data: string) => Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
      const stopFrames = daemon.conn.onFrame((frame: ServerFrame) => {
        if (frame.type !== "terminal-output" || frame.sessionId !== sessionId) return;
        const bytes = decoder(frame.data);
        if (offset !== undefined && frame.offset + bytes.length <= offset) return;
        const skip = offset !== undefined && frame.offset < offset ? offset - frame.offset : 0;
        term.write(bytes.subarray(skip));
        offset = frame.offset + bytes.length;
        host.current?.setAttribute("data-offset", String(offset));
      });
      const stopOpen = daemon.conn.onOpen(async () => {
        try {
          const frame = offset === undefined
            ? { type: "attach" as const, sessionId, cols: term.cols, rows: term.rows }
            : { type: "attach" as const, sessionId, offset };
          const result = await daemon.conn.request<AttachResult>(frame);
          if (result.snapshot) {
            term.reset();
            term.write(result.snapshot.screen);
          }
          offset ??= result.offset;
          setError("");
        } catch (e) {
          setError((e as Error).message);
        }
      });
      const input = term.onData((data) => void daemon.conn.request({ type: "terminalInput", sessionId, data }).catch(() => {}));
      const resize = term.onResize(({ cols, rows }) => void daemon.conn.request({ type: "resize", sessionId, cols, rows }).catch(() => {}));
      const observer = new ResizeObserver(() => fit.fit());
      observer.observe(host.current);
      term.focus();
      cleanup = () => {
        observer.disconnect();
        input.dispose();
        resize.dispose();
        stopFrames();
        stopOpen();
        if (daemon.conn.state === "online") void daemon.conn.request({ type: "detach", sessionId }).catch(() => {});
        term.dispose();
      };
    })();
    return () => {
      disposed = true;
      cleanup();
    };
  }, [daemon, sessionId]);

  return (
    <section class="terminal-page" data-session={sessionId}>
      <div class="session-head">
        <h1>{summary ? sessionTitle(summary) : sessionId}</h1>
        {summary && <StateBadge state={summary.state} disconnected={summary.disconnected} reason={summary.endReason} />}
        {daemon.conn.state !== "online" && <span class="reconnecting" role="status">reconnecting…</span>}
        <span class="spacer" />
        <a class="button" href={`#/control/logs?session=${encodeURIComponent(sessionId)}&daemon=${encodeURIComponent(daemon.id)}`}>Logs</a>
        {summary?.state !== "ended" && (
          <ActionButton label="Kill" danger confirm="Kill this terminal's program?" run={() => daemon.conn.request({ type: "kill", sessionId })} />
        )}
      </div>
      {error && <p class="error">{error}</p>}
      <div class="xterm-host" ref={host} />
    </section>
  );
}
