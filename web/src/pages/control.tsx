// The control center: jobs, terminal logs, artifacts and the config a
// directory resolves to, for any daemon.
import { useEffect, useRef, useState } from "preact/hooks";
import { daemons, type Daemon } from "../daemons";
import { age, sessionTitle } from "../format";
import { useObservable } from "../observable";
import type { DirectoryInfo, JobInfo, ListDirectoriesResult, ListJobsResult, SessionManifestResult } from "viewport-client";
import { sessionHref } from "../router";

const TABS = ["jobs", "logs", "artifacts", "config"] as const;

export function ControlPage({ tab }: { tab: string }) {
  useObservable(daemons);
  const params = new URLSearchParams(location.hash.split("?")[1] ?? "");
  const [daemonId, setDaemonId] = useState(params.get("daemon") ?? daemons.home?.id ?? "");
  const daemon = daemons.byId(daemonId) ?? daemons.home;
  if (!daemon) return null;
  return (
    <section class="control">
      <nav class="tabs">
        {TABS.map((t) => <a href={`#/control/${t}`} class={t === tab ? "on" : ""}>{t}</a>)}
        {daemons.list.length > 1 && (
          <select aria-label="daemon" value={daemon.id} onChange={(e) => setDaemonId(e.currentTarget.value)}>
            {daemons.list.map((d) => <option value={d.id}>{d.name}</option>)}
          </select>
        )}
      </nav>
      {tab === "jobs" && <Jobs daemon={daemon} />}
      {tab === "logs" && <Logs daemon={daemon} initial={params.get("session") ?? ""} />}
      {tab === "artifacts" && <Artifacts daemon={daemon} />}
      {tab === "config" && <Config daemon={daemon} />}
    </section>
  );
}

function Jobs({ daemon }: { daemon: Daemon }) {
  const [jobs, setJobs] = useState<JobInfo[]>([]);
  const [error, setError] = useState("");
  useEffect(() => {
    const load = () => daemon.conn.request<ListJobsResult>({ type: "listJobs" }).then((r) => setJobs(r.jobs), (e) => setError(e.message));
    void load();
    const timer = setInterval(load, 2000);
    return () => clearInterval(timer);
  }, [daemon]);
  return (
    <>
      {error && <p class="error">{error}</p>}
      <table class="jobs">
        <thead><tr><th>Job</th><th>Command</th><th>Status</th><th>Exit</th><th>Queued</th><th /></tr></thead>
        <tbody>
          {jobs.map((job) => (
            <tr data-job={job.jobId}>
              <td>{job.name || job.jobId}</td>
              <td><code>{job.command}</code></td>
              <td><span class={`state ${job.status}`}>{job.status}</span></td>
              <td>{job.exitCode ?? ""}</td>
              <td>{age(job.createdAt)} ago</td>
              <td>{job.sessionId && <a href={sessionHref(daemon.id, job.sessionId)}>output</a>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {jobs.length === 0 && <p class="muted">No jobs. Queue one with <code>vpd job "cargo test"</code>.</p>}
    </>
  );
}

function terminalSessions(daemon: Daemon) {
  return [...daemon.sessions.values()].filter((s) => s.kind === "terminal").sort((a, b) => b.createdAt - a.createdAt);
}

/** Escape sequences out, so the log reads as text. */
function plain(text: string): string {
  return text.replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[@-Z\\-_]/g, "").replace(/\r(?!\n)/g, "");
}

function Logs({ daemon, initial }: { daemon: Daemon; initial: string }) {
  useObservable(daemon);
  const sessions = terminalSessions(daemon);
  const [sessionId, setSessionId] = useState(initial || sessions[0]?.sessionId || "");
  const [text, setText] = useState("");
  const [follow, setFollow] = useState(true);
  const [error, setError] = useState("");
  const next = useRef(0);
  const view = useRef<HTMLPreElement>(null);

  useEffect(() => {
    if (!sessionId) return;
    let stopped = false;
    next.current = -1;
    setText("");
    async function poll(): Promise<void> {
      const query = next.current < 0 ? "tail=65536" : `from=${next.current}`;
      const response = await daemon.fetch(`/api/sessions/${sessionId}/console.log?${query}`);
      if (!response.ok) throw new Error((await response.text()).trim());
      const chunk = await response.text();
      next.current = Number(response.headers.get("x-log-size") ?? 0);
      if (chunk) setText((before) => (before + plain(chunk)).slice(-500_000));
    }
    const loop = async () => {
      while (!stopped) {
        try {
          await poll();
          setError("");
        } catch (e) {
          setError((e as Error).message);
        }
        if (!follow) break;
        await new Promise((r) => setTimeout(r, 1000));
      }
    };
    void loop();
    return () => {
      stopped = true;
    };
  }, [daemon, sessionId, follow]);

  useEffect(() => {
    if (follow && view.current) view.current.scrollTop = view.current.scrollHeight;
  }, [text]);

  return (
    <>
      <div class="filters">
        <select aria-label="terminal session" value={sessionId} onChange={(e) => setSessionId(e.currentTarget.value)}>
          {sessions.map((s) => <option value={s.sessionId}>{sessionTitle(s)} · {s.state}</option>)}
        </select>
        <label><input type="checkbox" checked={follow} onChange={(e) => setFollow(e.currentTarget.checked)} /> follow</label>
        {sessionId && <DownloadButton daemon={daemon} path={`/api/sessions/${sessionId}/console.log`} name="console.log" />}
      </div>
      {error && <p class="error">{error}</p>}
      {sessions.length === 0 && <p class="muted">No terminal sessions on {daemon.name}.</p>}
      <pre class="log" ref={view}>{text}</pre>
    </>
  );
}

/** Download through fetch, so paired daemons get their token too. */
function DownloadButton({ daemon, path, name }: { daemon: Daemon; path: string; name: string }) {
  return (
    <button type="button" onClick={async () => {
      const response = await daemon.fetch(path);
      if (!response.ok) return alert((await response.text()).trim());
      const url = URL.createObjectURL(await response.blob());
      const link = Object.assign(document.createElement("a"), { href: url, download: name });
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    }}>Download {name}</button>
  );
}

interface Artifact { path: string; size: number; modifiedAt: number }

function Artifacts({ daemon }: { daemon: Daemon }) {
  useObservable(daemon);
  const sessions = terminalSessions(daemon);
  const [sessionId, setSessionId] = useState(sessions[0]?.sessionId ?? "");
  const [artifacts, setArtifacts] = useState<Artifact[]>([]);
  const [error, setError] = useState("");
  useEffect(() => {
    if (!sessionId) return;
    daemon.fetch(`/api/sessions/${sessionId}/artifacts`)
      .then(async (r) => (r.ok ? r.json() : Promise.reject(new Error((await r.text()).trim()))))
      .then((body: { artifacts: Artifact[] }) => setArtifacts(body.artifacts), (e) => setError(e.message));
  }, [daemon, sessionId]);
  return (
    <>
      <div class="filters">
        <select aria-label="terminal session" value={sessionId} onChange={(e) => setSessionId(e.currentTarget.value)}>
          {sessions.map((s) => <option value={s.sessionId}>{sessionTitle(s)} · {s.state}</option>)}
        </select>
      </div>
      {error && <p class="error">{error}</p>}
      <table>
        <thead><tr><th>File</th><th class="num">Bytes</th><th>Changed</th><th /></tr></thead>
        <tbody>
          {artifacts.map((a) => (
            <tr>
              <td>{a.path}</td><td class="num">{a.size}</td><td>{age(a.modifiedAt)} ago</td>
              <td><DownloadButton daemon={daemon} path={`/api/sessions/${sessionId}/artifacts/${a.path.split("/").map(encodeURIComponent).join("/")}`} name={a.path.split("/").pop() ?? a.path} /></td>
            </tr>
          ))}
        </tbody>
      </table>
      {sessionId && artifacts.length === 0 && <p class="muted">No artifacts: a terminal session's programs write them to <code>$VIEWPORT_ARTIFACTS</code>.</p>}
    </>
  );
}

interface Defined { definition: unknown; source: { file: string; line: number } }
interface Manifest {
  files: string[];
  conflicts: { section: string; name: string; definitions: Defined[] }[];
  [section: string]: unknown;
}

function Config({ daemon }: { daemon: Daemon }) {
  const [directories, setDirectories] = useState<DirectoryInfo[]>([]);
  const [directoryId, setDirectoryId] = useState("");
  const [manifest, setManifest] = useState<Manifest>();
  const [error, setError] = useState("");
  useEffect(() => {
    daemon.conn.request<ListDirectoriesResult>({ type: "listDirectories" }).then((r) => {
      setDirectories(r.directories);
      setDirectoryId((id) => id || r.directories[0]?.directoryId || "");
    }, (e) => setError(e.message));
  }, [daemon]);
  useEffect(() => {
    if (!directoryId) return;
    setError("");
    daemon.conn.request<SessionManifestResult>({ type: "resolveConfig", directoryId })
      .then((r) => setManifest(r.manifest as Manifest), (e) => { setManifest(undefined); setError(e.message); });
  }, [daemon, directoryId]);
  const sections = ["agentProfiles", "contexts", "workflows", "plans", "templates"];
  return (
    <>
      <div class="filters">
        <select aria-label="directory" value={directoryId} onChange={(e) => setDirectoryId(e.currentTarget.value)}>
          {directories.map((d) => <option value={d.directoryId}>{d.path}</option>)}
        </select>
      </div>
      {error && <pre class="error">{error}</pre>}
      {manifest && (
        <div class="manifest">
          <p class="muted">Files read, in order: {manifest.files.length ? manifest.files.join(", ") : "none"}</p>
          {manifest.conflicts.map((c) => (
            <div class="conflict card">
              <strong>Conflict:</strong> {c.section} <code>{c.name}</code> is defined differently in{" "}
              {c.definitions.map((d) => `${d.source.file}:${d.source.line}`).join(" and ")}; nothing is chosen.
            </div>
          ))}
          {sections.map((section) => {
            const entries = Object.entries((manifest[section] ?? {}) as Record<string, Defined>);
            if (entries.length === 0) return null;
            return (
              <details open>
                <summary>{section} ({entries.length})</summary>
                <table>
                  <tbody>
                    {entries.map(([name, defined]) => (
                      <tr>
                        <td><code>{name}</code></td>
                        <td class="muted">{defined.source.file}:{defined.source.line}</td>
                        <td><pre>{JSON.stringify(defined.definition, null, 1)}</pre></td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </details>
            );
          })}
        </div>
      )}
    </>
  );
}
