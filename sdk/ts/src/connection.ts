// One connection to one daemon (a WebSocket, or any other carrier of text
// frames such as a relay channel): requests with replies, frames to
// listeners, and reconnection with backoff. What must be asked again after
// a reconnect (subscriptions) registers an `onOpen` hook.
import type { ClientFrame, ServerFrame } from "./protocol.gen.js";

export type LinkState = "connecting" | "online" | "offline";

/** A client frame without its `requestId`: the connection picks one. */
export type Request = DistributiveOmit<ClientFrame, "requestId">;
type DistributiveOmit<T, K extends keyof any> = T extends unknown ? Omit<T, K> : never;

/** A request the daemon refused (`code` is the protocol's error code), or
 * one that could not be sent (`offline`). */
export class RequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "RequestError";
  }
}

/** What a connection needs of its transport. */
export interface SocketLike {
  onopen?: () => void;
  onmessage?: (text: string) => void;
  onclose?: () => void;
  send(text: string): void;
  close(): void;
}

/** The standard `WebSocket` constructor, or one shaped like it (the `ws`
 * package's, for runtimes without a global `WebSocket`). */
export type WebSocketConstructor = new (url: string, protocols?: string[]) => {
  onopen: ((event: any) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
  send(data: string): void;
  close(): void;
};

/** A WebSocket as a `SocketLike`, dialled anew on every call. */
export function webSocket(url: string, protocols: string[], Impl?: WebSocketConstructor): () => SocketLike {
  const Constructor = Impl ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!Constructor) {
    throw new Error(
      "this runtime has no WebSocket: use Node.js 22 or later (or node --experimental-websocket on 20), or pass { WebSocket } from the `ws` package",
    );
  }
  return () => {
    const ws = new Constructor(url, protocols);
    const socket: SocketLike = { send: (text) => ws.send(text), close: () => ws.close() };
    ws.onopen = () => socket.onopen?.();
    ws.onmessage = (event) => socket.onmessage?.(String(event.data));
    // Browsers follow an error with a close; some runtimes (Node.js 20's
    // WebSocket, on a refused handshake) do not. A second call is ignored.
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      socket.onclose?.();
    };
    ws.onclose = close;
    ws.onerror = close;
    return socket;
  };
}

const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5000;

export class Connection {
  state: LinkState = "connecting";
  private socket?: SocketLike;
  private nextId = 1;
  private pending = new Map<string, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private listeners = new Set<(frame: ServerFrame) => void>();
  private openHooks = new Set<() => void>();
  private watchers = new Set<() => void>();
  private retryMs = RETRY_MIN_MS;
  private retryTimer?: ReturnType<typeof setTimeout>;
  private closed = false;

  constructor(private readonly dial: () => SocketLike) {
    this.open();
  }

  /** A request that wants a reply: resolves with `result`, rejects with a
   * `RequestError` on `error`, or at once when the daemon is not connected. */
  request<T>(frame: Request): Promise<T> {
    const requestId = `req_${this.nextId++}`;
    return new Promise<T>((resolve, reject) => {
      if (this.state !== "online" || !this.socket) {
        reject(new RequestError("offline", "the daemon is not connected"));
        return;
      }
      this.pending.set(requestId, { resolve, reject });
      this.socket.send(JSON.stringify({ ...frame, requestId }));
    });
  }

  /** Run `hook` now if connected, and after every reconnect. */
  onOpen(hook: () => void): () => void {
    this.openHooks.add(hook);
    if (this.state === "online") hook();
    return () => this.openHooks.delete(hook);
  }

  /** Every frame that is not the reply to a request. */
  onFrame(listener: (frame: ServerFrame) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called whenever `state` changes. */
  watch(watcher: () => void): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  /** Whether `close` was called: no reconnect will come. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Close for good: no reconnect. */
  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.socket?.close();
  }

  private open(): void {
    const socket = this.dial();
    this.socket = socket;
    this.setState("connecting");
    socket.onopen = () => {
      this.retryMs = RETRY_MIN_MS;
      this.setState("online");
      for (const hook of [...this.openHooks]) hook();
    };
    socket.onmessage = (text) => this.receive(text);
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      for (const { reject } of this.pending.values()) {
        reject(new RequestError("offline", "the connection to the daemon was lost"));
      }
      this.pending.clear();
      this.setState("offline");
      if (!this.closed) {
        this.retryTimer = setTimeout(() => this.open(), this.retryMs);
        this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
      }
    };
  }

  private receive(text: string): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (frame.type === "response" || frame.type === "error") {
      const requestId = frame.requestId;
      const waiting = requestId ? this.pending.get(requestId) : undefined;
      if (waiting && requestId) {
        this.pending.delete(requestId);
        if (frame.type === "response") waiting.resolve(frame.result);
        else waiting.reject(new RequestError(frame.code, frame.message));
        return;
      }
    }
    for (const listener of [...this.listeners]) listener(frame);
  }

  private setState(state: LinkState): void {
    this.state = state;
    for (const watcher of [...this.watchers]) watcher();
  }
}
