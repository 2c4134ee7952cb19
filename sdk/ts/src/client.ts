// The client: a `Connection` with one method per thing a program does with
// sessions, and `subscribe`, an async iterator over a session's updates
// that survives reconnects with no gap and no repeat.
import { Connection, RequestError, webSocket, type LinkState, type Request, type SocketLike, type WebSocketConstructor } from "./connection.js";
import type {
  ConfigOverrides,
  ContextItem,
  DirectoryInfo,
  LaunchResult,
  ListSessionsResult,
  ReadUpdatesResult,
  ServerFrame,
  UpdateAt,
} from "./protocol.gen.js";

/** The WebSocket subprotocol of the viewport protocol. */
const SUBPROTOCOL = "viewport.v1";
const TOKEN_SUBPROTOCOL_PREFIX = "viewport.token.";
const CONNECT_TIMEOUT_MS = 10_000;

export interface ConnectOptions {
  /** The owner's token (the data home's `token` file) or a paired
   * viewport's token. */
  token?: string;
  /** A one-time code from `vpd pair` or `vpd open --code`: the client pairs
   * with it first, and `client.token` is the token to keep for next time. */
  pairingCode?: string;
  /** The name the daemon shows for this client when it pairs. */
  name?: string;
  /** For runtimes without a global `WebSocket` (Node.js before 22). */
  WebSocket?: WebSocketConstructor;
  /** How long the first connection may take (default 10 s). */
  timeoutMs?: number;
}

/** Who the daemon is, as `POST /api/pair` tells. */
export interface DaemonAbout {
  daemonId: string;
  hostname: string;
  version: string;
}

/** One stored update of a session and its seq (1, 2, 3, … with no holes). */
export type SessionEvent = UpdateAt;

export interface SubscribeOptions {
  /** Only updates after this seq (default 0: the whole session). */
  afterSeq?: number;
  /** Stops the iteration, as `break` in `for await` does. */
  signal?: AbortSignal;
}

export interface LaunchOptions {
  prompt: string;
  /** A registered directory, or … */
  directoryId?: string;
  /** … a path on the daemon's machine, registered first if need be. */
  cwd?: string;
  /** An agent profile (`demo`, `claude-code`, `codex`, …); shorthand for
   * `configOverrides.agent`. */
  agent?: string;
  model?: string;
  configOverrides?: ConfigOverrides;
}

export interface ConfigChange {
  mode?: string;
  model?: string;
  thoughtLevel?: string;
}

export class ViewportClient {
  /** The token this client connected with (after pairing, the new one). */
  readonly token?: string;

  /** Wrap an open (or opening) connection. */
  constructor(
    readonly connection: Connection,
    token?: string,
  ) {
    this.token = token;
  }

  /** Connect to the daemon at `url` (`http://127.0.0.1:7707`, or its
   * `ws://…/ws` address), resolving once the connection is open. It
   * reconnects by itself afterwards; `disconnect` ends it. */
  static async connect(url: string, options: ConnectOptions = {}): Promise<ViewportClient> {
    let token = options.token;
    if (options.pairingCode) {
      token = (await pair(url, options.pairingCode, options.name ?? "viewport-client")).token;
    }
    const protocols = token ? [SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX + token] : [SUBPROTOCOL];
    const connection = new Connection(webSocket(socketUrl(url), protocols, options.WebSocket));
    await opened(connection, url, options.timeoutMs ?? CONNECT_TIMEOUT_MS);
    return new ViewportClient(connection, token);
  }

  /** A client over any transport (a relay channel, a test's socket). */
  static over(dial: () => SocketLike): ViewportClient {
    return new ViewportClient(new Connection(dial));
  }

  get state(): LinkState {
    return this.connection.state;
  }

  /** Called whenever `state` changes. */
  watch(watcher: () => void): () => void {
    return this.connection.watch(watcher);
  }

  /** Any request of the protocol (docs/protocol.md), by its frame. */
  request<T>(frame: Request): Promise<T> {
    return this.connection.request<T>(frame);
  }

  /** Start a session; resolves with its id once it is stored. */
  async launch(options: LaunchOptions): Promise<string> {
    const directoryId = options.directoryId ?? (options.cwd ? (await this.addDirectory(options.cwd)).directoryId : undefined);
    if (!directoryId) throw new TypeError("launch needs a directoryId or a cwd");
    const configOverrides = options.agent ? { ...options.configOverrides, agent: options.agent } : options.configOverrides;
    const result = await this.request<LaunchResult>({
      type: "launch",
      directoryId,
      prompt: options.prompt,
      model: options.model,
      configOverrides,
    });
    return result.sessionId;
  }

  /** Register a directory on the daemon's machine (idempotent). */
  addDirectory(path: string): Promise<DirectoryInfo> {
    return this.request<DirectoryInfo>({ type: "addDirectory", path });
  }

  /** A follow-up message; it runs when the current turn ends. */
  async prompt(sessionId: string, text: string, context?: ContextItem[]): Promise<void> {
    await this.request({ type: "prompt", sessionId, text, ...(context ? { context } : {}) });
  }

  /** Stop the current turn; the session stays. */
  async cancel(sessionId: string): Promise<void> {
    await this.request({ type: "cancel", sessionId });
  }

  /** Answer a permission prompt with one of its options, or cancel it. */
  async respondToPrompt(sessionId: string, promptId: string, answer: { optionId: string } | { cancelled: true }): Promise<void> {
    await this.request({ type: "respondToPrompt", sessionId, promptId, ...answer });
  }

  /** Switch the agent's mode, model or thought level. */
  async setConfig(sessionId: string, change: ConfigChange): Promise<void> {
    await this.request({ type: "setConfig", sessionId, ...change });
  }

  /** End a session: its turn is cancelled and its agent stopped. */
  async close(sessionId: string): Promise<void> {
    await this.request({ type: "close", sessionId });
  }

  /** Delete a session and everything stored of it; `force` stops it first. */
  async destroy(sessionId: string, options: { force?: boolean } = {}): Promise<void> {
    await this.request({ type: "destroy", sessionId, force: options.force ?? false });
  }

  /** Restart an ended session's agent with its conversation. */
  async resume(sessionId: string): Promise<void> {
    await this.request({ type: "resume", sessionId });
  }

  /** Sessions, newest first: a page of `limit` (with `next` for the
   * following page), or all of them without a limit. */
  listSessions(options: { limit?: number; after?: string } = {}): Promise<ListSessionsResult> {
    return this.request<ListSessionsResult>({ type: "listSessions", ...options });
  }

  /** Stored updates after `afterSeq` (default 0), at most `limit` (default
   * 500, at most 5000): persisted history, a page at a time. */
  async getEvents(sessionId: string, options: { afterSeq?: number; limit?: number } = {}): Promise<SessionEvent[]> {
    const result = await this.request<ReadUpdatesResult>({
      type: "readUpdates",
      sessionId,
      afterSeq: options.afterSeq ?? 0,
      limit: options.limit,
    });
    return result.updates;
  }

  /** Every update of a session after `afterSeq`, stored ones first, then
   * live ones, until the session ends. Across reconnects it resumes after
   * the last seq it yielded: no gap, no repeat. Follow a session with one
   * iterator per client at a time (the daemon keeps one subscription per
   * session per connection). */
  subscribe(sessionId: string, options: SubscribeOptions = {}): AsyncIterableIterator<SessionEvent> {
    return new Subscription(this.connection, sessionId, options.afterSeq ?? 0, options.signal);
  }

  /** Close the connection for good. */
  disconnect(): void {
    this.connection.close();
  }
}

/** A session's updates as an async iterator (see `ViewportClient.subscribe`). */
class Subscription implements AsyncIterableIterator<SessionEvent> {
  private queue: SessionEvent[] = [];
  private wake?: () => void;
  private ended = false;
  private failure?: Error;
  private stops: (() => void)[] = [];

  constructor(
    private readonly connection: Connection,
    private readonly sessionId: string,
    /** The seq of the last update received (queued or yielded). */
    private last: number,
    signal?: AbortSignal,
  ) {
    this.stops.push(connection.onFrame((frame) => this.receive(frame)));
    this.stops.push(connection.onOpen(() => this.resubscribe()));
    if (signal) {
      const abort = () => void this.return();
      signal.addEventListener("abort", abort, { once: true });
      this.stops.push(() => signal.removeEventListener("abort", abort));
      if (signal.aborted) abort();
    }
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<SessionEvent> {
    return this;
  }

  async next(): Promise<IteratorResult<SessionEvent>> {
    for (;;) {
      const event = this.queue.shift();
      if (event) return { value: event, done: false };
      if (this.failure) {
        const failure = this.failure;
        this.stop();
        throw failure;
      }
      if (this.ended) {
        this.stop();
        return { value: undefined, done: true };
      }
      if (this.connection.isClosed) {
        this.stop();
        throw new RequestError("offline", "the client was disconnected");
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  async return(): Promise<IteratorResult<SessionEvent>> {
    this.queue = [];
    this.ended = true;
    if (this.connection.state === "online") {
      await this.connection.request({ type: "unsubscribe", sessionId: this.sessionId }).catch(() => {});
    }
    this.stop();
    return { value: undefined, done: true };
  }

  private resubscribe(): void {
    if (this.ended) return;
    this.connection.request({ type: "subscribe", sessionId: this.sessionId, afterSeq: this.last }).catch((error: RequestError) => {
      // Offline: the next open asks again. Anything else ends the iteration.
      if (error.code !== "offline") this.fail(error);
    });
  }

  private receive(frame: ServerFrame): void {
    if (this.ended || !("sessionId" in frame) || frame.sessionId !== this.sessionId) return;
    if (frame.type === "session-update") {
      if (frame.seq <= this.last) return;
      if (frame.seq !== this.last + 1) {
        // Not possible from one subscription; another one on this
        // connection replaced ours. Ask again from where this one is.
        this.resubscribe();
        return;
      }
      this.last = frame.seq;
      this.queue.push({ seq: frame.seq, update: frame.update });
    } else if (frame.type === "session-ended") {
      this.ended = true;
    } else {
      return;
    }
    this.wake?.();
  }

  private fail(error: Error): void {
    this.failure = error;
    this.wake?.();
  }

  private stop(): void {
    for (const stop of this.stops.splice(0)) stop();
    this.wake?.();
  }
}

/** Pair with a one-time code: a long-lived token for this client. */
export async function pair(url: string, code: string, name: string): Promise<DaemonAbout & { token: string }> {
  const base = httpBase(url);
  const response = await fetch(`${base}/api/pair`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code, name }),
  }).catch((e: Error) => {
    throw new Error(`cannot reach ${base}: ${e.message} (is vpd running there, and listening on that address?)`);
  });
  if (!response.ok) {
    const reason = (await response.text()).trim() || `the daemon answered ${response.status}`;
    throw new RequestError(response.status === 401 ? "unauthorized" : "pairing-failed", `pairing with ${base} failed: ${reason}`);
  }
  return (await response.json()) as DaemonAbout & { token: string };
}

/** `http://host:port` → `ws://host:port/ws`; a `ws://` address as given. */
function socketUrl(url: string): string {
  const parsed = new URL(url.includes("://") ? url : `http://${url}`);
  if (parsed.protocol === "http:") parsed.protocol = "ws:";
  if (parsed.protocol === "https:") parsed.protocol = "wss:";
  if (parsed.pathname === "/" || parsed.pathname === "") parsed.pathname = "/ws";
  return parsed.toString();
}

function httpBase(url: string): string {
  const parsed = new URL(url.includes("://") ? url : `http://${url}`);
  if (parsed.protocol === "ws:") parsed.protocol = "http:";
  if (parsed.protocol === "wss:") parsed.protocol = "https:";
  return parsed.origin;
}

/** Resolves when the connection first opens; rejects (and closes it) if it
 * closes first or takes too long. */
function opened(connection: Connection, url: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const giveUp = (why: string) => {
      stop();
      clearTimeout(timer);
      connection.close();
      reject(new RequestError("offline", `cannot connect to ${url}: ${why}`));
    };
    const timer = setTimeout(() => giveUp(`no answer within ${timeoutMs} ms`), timeoutMs);
    const stop = connection.watch(() => {
      if (connection.state === "online") {
        stop();
        clearTimeout(timer);
        resolve();
      } else if (connection.state === "offline") {
        giveUp("the daemon refused or closed the connection (is vpd running there, and is the token right?)");
      }
    });
  });
}
