// Small pieces several pages use.
import { useEffect, useState } from "preact/hooks";
import type { EndReason, SessionState } from "viewport-client";

export function StateBadge(props: { state: SessionState; disconnected?: boolean | null; reason?: EndReason | null }) {
  const label = props.state === "ended" && props.reason ? `ended · ${props.reason}` : props.state;
  return (
    <span class={`state ${props.state} ${props.reason ?? ""}`} data-state={props.state}>
      {label}
      {props.disconnected && <span class="state disconnected" data-state="disconnected">disconnected</span>}
    </span>
  );
}

/** The current time, refreshed every `ms`, so ages tick. */
export function useNow(ms: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

/** Confirm, then run; the button shows the error if it fails. */
export function ActionButton(props: { label: string; confirm?: string; danger?: boolean; run: () => Promise<unknown> }) {
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  return (
    <span class="action">
      <button
        class={props.danger ? "danger" : ""}
        disabled={busy}
        onClick={async () => {
          if (props.confirm && !confirm(props.confirm)) return;
          setBusy(true);
          setError("");
          try {
            await props.run();
          } catch (e) {
            setError((e as Error).message);
          } finally {
            setBusy(false);
          }
        }}
      >
        {props.label}
      </button>
      {error && <span class="error">{error}</span>}
    </span>
  );
}
