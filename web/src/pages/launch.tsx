// Start a session: where (a registered directory of a daemon), with which
// agent profile (built-in, or from the directory's resolved config), and
// the first prompt.
import { useEffect, useState } from "preact/hooks";
import { daemons } from "../daemons";
import { useObservable } from "../observable";
import type { DirectoryInfo, ListAgentsResult, ListDirectoriesResult, SessionManifestResult } from "viewport-client";
import { sessionHref } from "../router";

interface Profile {
  /** `agent:NAME` for a built-in agent, `profile:NAME` for a config profile. */
  key: string;
  label: string;
  disabled?: string;
}

export function LaunchPage() {
  useObservable(daemons);
  const online = daemons.list.filter((d) => d.conn.state === "online");
  const [daemonId, setDaemonId] = useState(online[0]?.id ?? "");
  const daemon = daemons.byId(daemonId) ?? online[0];
  const [directories, setDirectories] = useState<DirectoryInfo[]>([]);
  const [directoryId, setDirectoryId] = useState("");
  const [profiles, setProfiles] = useState<Profile[]>([]);
  const [profile, setProfile] = useState("agent:demo");
  const [prompt, setPrompt] = useState("");
  const [model, setModel] = useState("");
  const [costCap, setCostCap] = useState("");
  const [newPath, setNewPath] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  async function loadDirectories(): Promise<void> {
    if (!daemon) return;
    const result = await daemon.conn.request<ListDirectoriesResult>({ type: "listDirectories" });
    setDirectories(result.directories);
    if (!result.directories.some((d) => d.directoryId === directoryId)) setDirectoryId(result.directories[0]?.directoryId ?? "");
  }

  useEffect(() => {
    void loadDirectories().catch((e) => setError(e.message));
  }, [daemon?.id, daemon?.conn.state]);

  useEffect(() => {
    if (!daemon) return;
    void (async () => {
      const agents = await daemon.conn.request<ListAgentsResult>({ type: "listAgents" });
      const builtIn: Profile[] = agents.agents.map((a) => ({
        key: `agent:${a.name}`,
        label: `${a.name}${a.installed ? "" : " (not installed)"}`,
        disabled: a.installed ? undefined : a.install ?? "not installed",
      }));
      let configured: Profile[] = [];
      if (directoryId) {
        try {
          const resolved = await daemon.conn.request<SessionManifestResult>({ type: "resolveConfig", directoryId });
          configured = configProfiles(resolved.manifest);
        } catch (e) {
          setError((e as Error).message);
        }
      }
      setProfiles([...configured, ...builtIn]);
    })().catch((e) => setError(e.message));
  }, [daemon?.id, directoryId, daemon?.conn.state]);

  async function launch(): Promise<void> {
    if (!daemon) return;
    setBusy(true);
    setError("");
    try {
      const [kind, name] = splitKey(profile);
      const cap = costCap.trim() ? Number(costCap) : undefined;
      if (cap !== undefined && !(cap > 0)) throw new Error("the cost cap is a number of dollars above 0");
      const sessionId = await daemon.client.launch({
        directoryId,
        prompt,
        model: model.trim() || undefined,
        configOverrides: { ...(kind === "profile" ? { profile: name } : { agent: name }), ...(cap ? { costCapUsd: cap } : {}) },
      });
      location.hash = sessionHref(daemon.id, sessionId);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  if (!daemon) return <p class="muted">No daemon is online. <a href="#/daemons">Daemons</a></p>;
  return (
    <form class="launch card" onSubmit={(e) => { e.preventDefault(); void launch(); }}>
      <h1>New session</h1>
      {daemons.list.length > 1 && (
        <label>Daemon
          <select name="daemon" value={daemon.id} onChange={(e) => setDaemonId(e.currentTarget.value)}>
            {online.map((d) => <option value={d.id}>{d.name}</option>)}
          </select>
        </label>
      )}
      <label>Directory
        <select name="directory" value={directoryId} onChange={(e) => setDirectoryId(e.currentTarget.value)}>
          {directories.map((d) => <option value={d.directoryId}>{d.path}</option>)}
        </select>
      </label>
      {directories.length === 0 && <p class="muted">No registered directory yet: add one below (or `vpd dir add PATH`).</p>}
      <div class="inline">
        <input name="new-directory" placeholder="/path/to/project" value={newPath} onInput={(e) => setNewPath(e.currentTarget.value)} />
        <button type="button" disabled={!newPath.trim()} onClick={async () => {
          try {
            const added = await daemon.client.addDirectory(newPath.trim());
            setNewPath("");
            await loadDirectories();
            setDirectoryId(added.directoryId);
          } catch (e) {
            setError((e as Error).message);
          }
        }}>Register directory</button>
      </div>
      <label>Agent profile
        <select name="profile" value={profile} onChange={(e) => setProfile(e.currentTarget.value)}>
          {profiles.map((p) => <option value={p.key} disabled={!!p.disabled} title={p.disabled}>{p.label}</option>)}
        </select>
      </label>
      <label>Prompt
        <textarea name="prompt" rows={4} value={prompt} onInput={(e) => setPrompt(e.currentTarget.value)} placeholder="What should the agent do?" />
      </label>
      <div class="inline">
        <label>Model <input name="model" value={model} onInput={(e) => setModel(e.currentTarget.value)} placeholder="the profile's default" /></label>
        <label>Cost cap (USD) <input name="cost-cap" inputMode="decimal" value={costCap} onInput={(e) => setCostCap(e.currentTarget.value)} placeholder="none" /></label>
      </div>
      <button type="submit" disabled={busy || !directoryId || !prompt.trim()}>{busy ? "Starting…" : "Launch"}</button>
      {error && <p class="error">{error}</p>}
    </form>
  );
}

function splitKey(key: string): [string, string] {
  const index = key.indexOf(":");
  return [key.slice(0, index), key.slice(index + 1)];
}

/** The manifest's agent profiles; a conflicted one cannot be chosen. */
function configProfiles(manifest: unknown): Profile[] {
  const m = manifest as { agentProfiles?: Record<string, { definition?: { agent?: string } }>; conflicts?: { section: string; name: string }[] } | undefined;
  const usable = Object.entries(m?.agentProfiles ?? {}).map(([name, defined]) => ({
    key: `profile:${name}`,
    label: `${name} (config${defined.definition?.agent ? `: ${defined.definition.agent}` : ""})`,
  }));
  const conflicted = (m?.conflicts ?? [])
    .filter((c) => c.section === "agentProfiles")
    .map((c) => ({
      key: `profile:${c.name}`,
      label: `${c.name} (config: defined differently in two files)`,
      disabled: "defined differently in two config files: Control → Config shows where",
    }));
  return [...usable, ...conflicted];
}
