// A connection to a daemon through its NATS relay, from the browser: the
// relay's WebSocket listener carries Noise records (see docs/protocol.md,
// "Through a relay"), and this class offers what `Connection` needs of a
// socket, so frames, replay and prompts work as over a direct WebSocket.
// Loaded only when a relay daemon is shown (NATS and the ciphers are most
// of its weight).
import { wsconnect, type NatsConnection, type Subscription } from "@nats-io/nats-core";
import type { SocketLike } from "viewport-client";
import { parseLink, type RelayPairing } from "./link";
import { concat, Initiator, keyPairOf, type Transport } from "./noise";

export interface Welcome {
  viewerId: string;
  hostname: string;
}

const KIND_FINAL = 0;
const KIND_MORE = 1;
const KIND_PING = 2;
const KIND_CLOSE = 3;
const TAG_BYTES = 16;
const MAX_PIECE = 65_535 - TAG_BYTES - 1;
const MAX_PAYLOAD = 256 * 1024;
const HANDSHAKE_TIMEOUT_MS = 10_000;
const PING_INTERVAL_MS = 20_000;
const IDLE_LIMIT_MS = 65_000;

export function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64Url(text: string): Uint8Array {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

type Hello = { pair?: { code: string; name: string } };

interface Target {
  relayUrl: string;
  daemonId: string;
  daemonKey: string;
  viewerKey: string;
}

/** One connection through the relay. */
export class RelaySocket implements SocketLike {
  onopen?: () => void;
  onmessage?: (text: string) => void;
  onclose?: () => void;
  /** Why the connection ended, when it failed. */
  error?: Error;
  welcome?: Welcome;

  private nats?: NatsConnection;
  private transport?: Transport;
  private upSubject = "";
  private partial: Uint8Array[] = [];
  private pinger?: ReturnType<typeof setInterval>;
  private lastHeard = Date.now();
  private ended = false;

  constructor(target: Target, hello: Hello = {}) {
    this.run(target, hello).catch((error: Error) => this.end(error));
  }

  send(text: string): void {
    const bytes = new TextEncoder().encode(text);
    const records: Uint8Array[] = [];
    for (let at = 0; at < bytes.length || at === 0; at += MAX_PIECE) {
      const piece = bytes.subarray(at, at + MAX_PIECE);
      const last = at + MAX_PIECE >= bytes.length;
      records.push(this.seal(last ? KIND_FINAL : KIND_MORE, piece));
      if (last) break;
    }
    this.publish(records);
  }

  close(): void {
    if (this.ended) return;
    try {
      this.publish([this.seal(KIND_CLOSE, new Uint8Array(0))]);
    } catch {
      // Not connected yet: nothing to tell the daemon.
    }
    this.end();
  }

  private async run(target: Target, hello: Hello): Promise<void> {
    const nats = await wsconnect({ servers: [target.relayUrl], reconnect: false, name: "viewport browser" }).catch(
      (e: Error) => {
        throw new Error(`cannot reach the relay at ${target.relayUrl}: ${e.message}`);
      },
    );
    this.nats = nats;
    if (this.ended) return void nats.close();
    const connection = toHex(crypto.getRandomValues(new Uint8Array(12)));
    const down = nats.subscribe(`vp.${target.daemonId}.down.${connection}`);
    this.upSubject = `vp.${target.daemonId}.up.${connection}`;
    const noise = new Initiator(keyPairOf(fromBase64Url(target.viewerKey)), fromBase64Url(target.daemonKey));
    nats.publish(this.upSubject, noise.writeFirst(new TextEncoder().encode(JSON.stringify(hello))));
    const messages = down[Symbol.asyncIterator]();
    const answer = await firstMessage(messages, down, target.daemonId);
    let opened: ReturnType<Initiator["readSecond"]>;
    try {
      opened = noise.readSecond(answer);
    } catch {
      throw new Error(`the answer is not from daemon ${target.daemonId}: the link's key does not match`);
    }
    const reply = JSON.parse(new TextDecoder().decode(opened.payload));
    if (reply.answer === "refused") throw new Error(reply.message);
    this.welcome = { viewerId: reply.viewerId, hostname: reply.hostname };
    this.transport = opened.transport;
    this.lastHeard = Date.now();
    this.pinger = setInterval(() => this.keepAlive(), PING_INTERVAL_MS);
    this.onopen?.();
    for (let next = await messages.next(); !next.done; next = await messages.next()) {
      this.lastHeard = Date.now();
      if (!this.receive(next.value.data)) return this.end();
    }
    this.end();
  }

  /** Open every record of one NATS message; false once the daemon closed. */
  private receive(payload: Uint8Array): boolean {
    for (let at = 0; at < payload.length; ) {
      const length = (payload[at] << 8) | payload[at + 1];
      const sealed = payload.subarray(at + 2, at + 2 + length);
      at += 2 + length;
      const plain = this.transport!.receive.decrypt(new Uint8Array(0), sealed);
      const kind = plain[0];
      if (kind === KIND_CLOSE) return false;
      if (kind === KIND_MORE || kind === KIND_FINAL) {
        this.partial.push(plain.subarray(1));
        if (kind === KIND_FINAL) {
          const text = new TextDecoder().decode(concat(...this.partial));
          this.partial = [];
          this.onmessage?.(text);
        }
      }
    }
    return true;
  }

  private keepAlive(): void {
    if (Date.now() - this.lastHeard > IDLE_LIMIT_MS) {
      this.end(new Error("nothing heard from the daemon through the relay"));
      return;
    }
    this.publish([this.seal(KIND_PING, new Uint8Array(0))]);
  }

  private seal(kind: number, body: Uint8Array): Uint8Array {
    if (!this.transport) throw new Error("the relay connection is not open");
    return this.transport.send.encrypt(new Uint8Array(0), concat(Uint8Array.of(kind), body));
  }

  /** Records, each after its two-byte length, in NATS messages of at most 256 KiB. */
  private publish(records: Uint8Array[]): void {
    let batch: Uint8Array[] = [];
    let size = 0;
    const flush = () => {
      if (batch.length) this.nats?.publish(this.upSubject, concat(...batch));
      batch = [];
      size = 0;
    };
    for (const record of records) {
      if (size + record.length + 2 > MAX_PAYLOAD) flush();
      batch.push(Uint8Array.of(record.length >> 8, record.length & 0xff), record);
      size += record.length + 2;
    }
    flush();
  }

  private end(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    clearInterval(this.pinger);
    void this.nats?.flush().catch(() => {}).finally(() => this.nats?.close());
    this.onclose?.();
  }
}

async function firstMessage(
  messages: AsyncIterator<{ data: Uint8Array }>,
  subscription: Subscription,
  daemonId: string,
): Promise<Uint8Array> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      subscription.unsubscribe();
      reject(new Error(`daemon ${daemonId} did not answer through the relay: is it running with relay.url set to this relay?`));
    }, HANDSHAKE_TIMEOUT_MS);
  });
  try {
    const first = await Promise.race([messages.next(), timeout]);
    if (first.done) throw new Error("the relay closed the connection");
    return first.value.data;
  } finally {
    clearTimeout(timer);
  }
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Pair through the relay with a link from `vpd pair`: a new key for this
 * browser, the code proven once; what to keep comes back. */
export async function pairThroughRelay(text: string, name: string): Promise<{ pairing: RelayPairing; hostname: string }> {
  const link = parseLink(text);
  const viewerKey = toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
  const socket = new RelaySocket({ ...link, viewerKey }, { pair: { code: link.code, name } });
  await new Promise<void>((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onclose = () => reject(socket.error ?? new Error("the relay connection closed"));
  });
  socket.onclose = undefined;
  socket.close();
  const welcome = socket.welcome!;
  return {
    pairing: { relayUrl: link.relayUrl, daemonId: link.daemonId, daemonKey: link.daemonKey, viewerId: welcome.viewerId, viewerKey },
    hostname: welcome.hostname,
  };
}
