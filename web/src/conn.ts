// One connection to one daemon (a WebSocket, or a channel through its
// relay): requests with replies, frames to listeners, and reconnection with
// backoff. What must be asked again after a reconnect (subscriptions)
// registers an `onOpen` hook.
import type { ClientFrame, ServerFrame } from "./protocol.gen";
import { Observable } from "./observable";

export type LinkState = "connecting" | "online" | "offline";

type Request = DistributiveOmit<ClientFrame, "requestId">;
type DistributiveOmit<T, K extends keyof any> = T extends unknown ? Omit<T, K> : never;

export class RequestError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
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

/** A browser WebSocket as a `SocketLike`. */
export function webSocket(url: string, protocols: string[]): () => SocketLike {
  return () => {
    const ws = new WebSocket(url, protocols);
    const socket: SocketLike = { send: (text) => ws.send(text), close: () => ws.close() };
    ws.onopen = () => socket.onopen?.();
    ws.onmessage = (event) => socket.onmessage?.(String(event.data));
    ws.onclose = () => socket.onclose?.();
    return socket;
  };
}

const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5000;

export class Connection extends Observable {
  state: LinkState = "connecting";
  private socket?: SocketLike;
  private nextId = 1;
  private pending = new Map<string, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private listeners = new Set<(frame: ServerFrame) => void>();
  private openHooks = new Set<() => void>();
  private retryMs = RETRY_MIN_MS;
  private retryTimer?: ReturnType<typeof setTimeout>;
  private closed = false;

  constructor(private readonly dial: () => SocketLike) {
    super();
    this.open();
  }

  /** A request that wants a reply: resolves with `result`, rejects on `error`. */
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

  onFrame(listener: (frame: ServerFrame) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

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
    this.changed();
  }
}
