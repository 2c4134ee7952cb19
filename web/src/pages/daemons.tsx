// The daemons this browser shows, and pairing another one with a code
// from its `vpd open --code`, or through its relay with the link its
// `vpd pair` prints.
import { useState } from "preact/hooks";
import { daemons } from "../daemons";
import { useObservable } from "../observable";
import { looksLikeRelayLink } from "../relay/link";

export function DaemonsPage() {
  useObservable(daemons);
  const [base, setBase] = useState("");
  const [code, setCode] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const viaRelay = looksLikeRelayLink(base);
  return (
    <section class="daemons">
      <table>
        <thead><tr><th>Daemon</th><th>Address</th><th>Status</th><th>Sessions</th><th /></tr></thead>
        <tbody>
          {daemons.list.map((daemon, index) => (
            <tr data-daemon={daemon.id}>
              <td>{daemon.name} <small class="muted">{daemon.id}{daemon.about.version && ` · vpd ${daemon.about.version}`}</small></td>
              <td>{daemon.base || location.origin}{daemon.relay && <small class="muted"> (relay, end-to-end encrypted)</small>}</td>
              <td><span class={`daemon-pill ${daemon.conn.state}`}>{daemon.conn.state === "online" ? "online" : "disconnected"}</span></td>
              <td>{daemon.sessions.size}</td>
              <td>
                {index === 0 ? (
                  <button onClick={async () => { await fetch("/api/logout", { method: "POST" }); location.reload(); }}>Log out</button>
                ) : (
                  <button onClick={() => confirm(`Stop showing ${daemon.name}?`) && daemons.forget(daemon)}>Forget</button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form class="card pair" onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setError("");
        try {
          if (viaRelay) await daemons.pairRelay(base);
          else await daemons.pair(base.trim(), code.trim());
          setBase("");
          setCode("");
        } catch (err) {
          setError((err as Error).message);
        } finally {
          setBusy(false);
        }
      }}>
        <h2>Add a daemon</h2>
        <p class="muted">
          On the other machine, run <code>vpd open --code</code>; enter its address and the code it prints. For a machine
          behind NAT with a relay, paste the <code>relay link</code> its <code>vpd pair</code> prints instead.
        </p>
        <label>Address or relay link <input name="address" placeholder="http://10.0.0.5:7707" value={base} onInput={(e) => setBase(e.currentTarget.value)} /></label>
        {!viaRelay && <label>Code <input name="code" placeholder="ABCD-EFGH" value={code} onInput={(e) => setCode(e.currentTarget.value)} /></label>}
        <button type="submit" disabled={busy || !base.trim() || (!viaRelay && !code.trim())}>Pair</button>
        {error && <p class="error">{error}</p>}
      </form>
    </section>
  );
}
