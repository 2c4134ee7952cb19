// Every daemon this browser shows: the one that served the page (reached
// with its login cookie) and the ones paired with it (reached with a token
// kept in this browser, or through their relay with a key kept in this
// browser). Each keeps its live session list.
import { Connection, ViewportClient, webSocket, type SocketLike } from "viewport-client";
import { Observable } from "./observable";
import type { RelayPairing } from "./relay/link";
import type { ListSessionsResult, ListSubscribeResult, ServerFrame, SessionSummary } from "viewport-client";

const PAIRED_KEY = "viewport.paired";
const SUBPROTOCOL = "viewport.v1";
/** How long after a change the list is read again (changes come in bursts). */
const REFRESH_AFTER_MS = 300;
/** How many of the newest sessions that re-read covers (older ones rarely change). */
const REFRESH_SESSIONS = 200;

export interface About {
  daemonId: string;
  hostname: string;
  version: string;
}

/** A daemon paired with this browser, as kept in localStorage: reached
 * directly with a token, or through its relay. */
type Paired = About & ({ base: string; token: string } | { relay: RelayPairing });

export class Daemon extends Observable {
  readonly conn: Connection;
  /** The SDK's client over `conn`: what pages do with sessions. */
  readonly client: ViewportClient;
  readonly sessions = new Map<string, SessionSummary>();
  /** Whether the list came in since the last (re)connect. */
  listed = false;

  constructor(
    readonly about: About,
    /** `http://host:port`, empty for the daemon that served the page, the
     * relay's address for one reached through it. */
    readonly base: string,
    private readonly token?: string,
    /** Set when the daemon is reached through its relay. */
    readonly relay?: RelayPairing,
  ) {
    super();
    this.name = about.hostname;
    if (relay) {
      this.conn = new Connection(relaySocket(relay));
    } else {
      const wsBase = base ? base.replace(/^http/, "ws") : location.origin.replace(/^http/, "ws");
      const protocols = token ? [SUBPROTOCOL, `viewport.token.${token}`] : [SUBPROTOCOL];
      this.conn = new Connection(webSocket(`${wsBase}/ws`, protocols));
    }
    this.client = new ViewportClient(this.conn);
    this.conn.watch(() => {
      if (this.conn.state === "offline" && !base) void this.checkLogin();
      if (this.conn.state !== "online" && this.listed) {
        // Its rows go until it is back; the last known list is not shown as live.
        this.listed = false;
        this.sessions.clear();
      }
      this.changed();
    });
    this.conn.onFrame((frame) => this.onFrame(frame));
    this.conn.onOpen(() => void this.subscribeList());
  }

  /** Whether this browser is still logged in (a revoked login looks like a
   * lost connection to the WebSocket). */
  onLoggedOut?: () => void;

  private async checkLogin(): Promise<void> {
    const response = await fetch("/api/info").catch(() => undefined);
    if (response?.status === 401) {
      this.conn.close();
      this.onLoggedOut?.();
    }
  }

  /** An HTTP request to this daemon, with its credential. */
  fetch(path: string): Promise<Response> {
    if (this.relay) {
      return Promise.reject(new Error("files are not served through the relay yet: use `vpd logs` or `vpd artifacts` on that machine"));
    }
    const headers: Record<string, string> = this.token ? { authorization: `Bearer ${this.token}` } : {};
    return fetch(`${this.base}${path}`, { headers, credentials: this.base ? "omit" : "same-origin" });
  }

  get id(): string {
    return this.about.daemonId;
  }

  /** The host name, or with the address too when another daemon shares it. */
  name = "";

  private async subscribeList(): Promise<void> {
    try {
      const result = await this.conn.request<ListSubscribeResult>({ type: "subscribe" });
      this.sessions.clear();
      for (const session of result.sessions) this.sessions.set(session.sessionId, session);
      this.listed = true;
      this.changed();
    } catch {
      // The connection dropped; the next open subscribes again.
    }
  }

  private refreshTimer?: ReturnType<typeof setTimeout>;

  /** Soon, read the whole list again: it carries what the feed does not
   * (titles, names, costs, last activity). One read for a burst of changes. */
  private refreshSoon(): void {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(async () => {
      this.refreshTimer = undefined;
      try {
        const page = await this.conn.request<ListSessionsResult>({ type: "listSessions", limit: REFRESH_SESSIONS });
        for (const session of page.sessions) {
          const known = this.sessions.get(session.sessionId);
          // The feed may already be past what the list read saw.
          if (!known || known.lastSeq <= session.lastSeq) this.sessions.set(session.sessionId, session);
        }
        this.changed();
      } catch {
        /* offline: the list comes again on reconnect */
      }
    }, REFRESH_AFTER_MS);
  }

  private onFrame(frame: ServerFrame): void {
    if (frame.type === "session-started") {
      const now = Date.now();
      this.sessions.set(frame.sessionId, {
        sessionId: frame.sessionId,
        directoryId: frame.directoryId,
        kind: frame.kind,
        agent: frame.agent,
        cwd: frame.cwd,
        state: "active",
        disconnected: false,
        createdAt: now,
        updatedAt: now,
        lastSeq: 0,
        pendingPrompts: 0,
      });
      this.refreshSoon();
    } else if (frame.type === "session-update" && frame.update.updateType === "state-change") {
      const session = this.sessions.get(frame.sessionId);
      if (!session) return;
      const update = frame.update;
      session.state = update.state;
      session.disconnected = update.disconnected ?? false;
      session.updatedAt = Date.now();
      session.lastSeq = Math.max(session.lastSeq, frame.seq);
      session.pendingPrompts = update.state === "awaiting" ? Math.max(1, session.pendingPrompts) : 0;
      if (update.reason) session.endReason = update.reason;
      this.refreshSoon();
    } else if (frame.type === "session-ended") {
      const session = this.sessions.get(frame.sessionId);
      if (!session) return;
      session.state = "ended";
      session.endReason = frame.reason;
      session.pendingPrompts = 0;
    } else {
      return;
    }
    this.changed();
  }
}

export type Login = { state: "checking" } | { state: "logged-out"; error?: string } | { state: "in" };

/** All daemons, the served one first. */
export class Daemons extends Observable {
  list: Daemon[] = [];
  login: Login = { state: "checking" };

  async start(): Promise<void> {
    const response = await fetch("/api/info", { credentials: "same-origin" }).catch(() => undefined);
    if (!response?.ok) {
      this.login = { state: "logged-out" };
      this.changed();
      return;
    }
    const home = new Daemon((await response.json()) as About, "");
    home.onLoggedOut = () => {
      for (const daemon of this.list) daemon.conn.close();
      this.list = [];
      this.login = { state: "logged-out", error: "This browser's login ended: log in again." };
      this.changed();
    };
    this.add(home);
    for (const paired of readPaired()) {
      this.add("relay" in paired ? new Daemon(paired, paired.relay.relayUrl, undefined, paired.relay) : new Daemon(paired, paired.base, paired.token));
    }
    this.login = { state: "in" };
    this.changed();
  }

  /** Log in to the served daemon with a code from `vpd open --code`. */
  async logIn(code: string): Promise<void> {
    const response = await fetch("/api/login", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code }),
    });
    if (!response.ok) {
      this.login = { state: "logged-out", error: (await response.text()).trim() };
      this.changed();
      return;
    }
    await this.start();
  }

  /** Pair another daemon: `base` is its `http://host:port`, `code` from its `vpd open --code`. */
  async pair(base: string, code: string): Promise<Daemon> {
    const url = new URL(base.includes("://") ? base : `http://${base}`);
    const origin = url.origin;
    const response = await fetch(`${origin}/api/pair`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code, name: `browser at ${location.host}` }),
    }).catch((e: Error) => {
      const certificate = origin.startsWith("https:")
        ? "; if it uses a self-signed certificate, open that address once in this browser and accept the certificate `vpd pair` names there"
        : "";
      throw new Error(`cannot reach ${origin}: ${e.message} (is vpd running there, and listening on that address?${certificate})`);
    });
    if (!response.ok) throw new Error((await response.text()).trim() || `the daemon answered ${response.status}`);
    const result = (await response.json()) as About & { token: string };
    const paired: Paired = {
      daemonId: result.daemonId,
      hostname: result.hostname,
      version: result.version,
      base: origin,
      token: result.token,
    };
    if (this.byId(paired.daemonId)) throw new Error(`${paired.hostname} (${paired.daemonId}) is already here`);
    writePaired([...readPaired(), paired]);
    const daemon = new Daemon(paired, origin, paired.token);
    this.add(daemon);
    this.changed();
    return daemon;
  }

  /** Pair a daemon through its relay, with the link its `vpd pair` prints. */
  async pairRelay(link: string): Promise<Daemon> {
    const { pairThroughRelay } = await import("./relay/socket");
    const { pairing, hostname } = await pairThroughRelay(link, `browser at ${location.host}`);
    const paired: Paired = { daemonId: pairing.daemonId, hostname, version: "", relay: pairing };
    if (this.byId(paired.daemonId)) throw new Error(`${hostname} (${paired.daemonId}) is already here`);
    writePaired([...readPaired(), paired]);
    const daemon = new Daemon(paired, pairing.relayUrl, undefined, pairing);
    this.add(daemon);
    this.changed();
    return daemon;
  }

  /** Stop showing a paired daemon (its token is forgotten here). */
  forget(daemon: Daemon): void {
    writePaired(readPaired().filter((p) => p.daemonId !== daemon.id));
    daemon.conn.close();
    this.list = this.list.filter((d) => d !== daemon);
    this.changed();
  }

  byId(id: string): Daemon | undefined {
    return this.list.find((d) => d.id === id);
  }

  get home(): Daemon | undefined {
    return this.list[0];
  }

  private add(daemon: Daemon): void {
    this.list.push(daemon);
    daemon.watch(() => this.changed());
    for (const each of this.list) {
      const shared = this.list.some((other) => other !== each && other.about.hostname === each.about.hostname);
      each.name = shared ? `${each.about.hostname} (${new URL(each.base || location.origin).host})` : each.about.hostname;
    }
  }
}

function readPaired(): Paired[] {
  try {
    const parsed = JSON.parse(localStorage.getItem(PAIRED_KEY) ?? "[]");
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

function writePaired(paired: Paired[]): void {
  localStorage.setItem(PAIRED_KEY, JSON.stringify(paired));
}

/** A relay connection, its code loaded on first use. */
function relaySocket(relay: RelayPairing): () => SocketLike {
  return () => {
    let inner: SocketLike | undefined;
    let closed = false;
    const socket: SocketLike = {
      send: (text) => inner?.send(text),
      close: () => {
        closed = true;
        inner?.close();
      },
    };
    import("./relay/socket").then(
      ({ RelaySocket }) => {
        if (closed) return socket.onclose?.();
        inner = new RelaySocket(relay);
        inner.onopen = () => socket.onopen?.();
        inner.onmessage = (text) => socket.onmessage?.(text);
        inner.onclose = () => socket.onclose?.();
      },
      () => socket.onclose?.(),
    );
    return socket;
  };
}

export const daemons = new Daemons();
