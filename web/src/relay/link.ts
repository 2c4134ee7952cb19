// Pairing links and what pairing through a relay leaves in this browser;
// small, so the page knows a link when it sees one without loading the
// relay's code.

/** What a browser keeps after pairing through a relay. */
export interface RelayPairing {
  /** The relay's WebSocket address (`ws://…` or `wss://…`). */
  relayUrl: string;
  daemonId: string;
  /** The daemon's public key, base64url. */
  daemonKey: string;
  viewerId: string;
  /** This browser's private key, base64url: it never leaves the browser. */
  viewerKey: string;
}

/** A pairing link from `vpd pair`: `RELAY_URL#DAEMON.KEY.CODE`. */
export interface PairingLink {
  relayUrl: string;
  daemonId: string;
  daemonKey: string;
  code: string;
}

export function looksLikeRelayLink(text: string): boolean {
  return /^(nats|tls|wss?):\/\/[^#]+#dmn_/.test(text.trim());
}

export function parseLink(text: string): PairingLink {
  const trimmed = text.trim();
  const hash = trimmed.lastIndexOf("#");
  if (hash < 0) throw new Error("not a pairing link: no # after the relay address");
  const relayUrl = trimmed.slice(0, hash);
  const [daemonId, daemonKey, code, ...rest] = trimmed.slice(hash + 1).split(".");
  if (!daemonId?.startsWith("dmn_") || !daemonKey || !code || rest.length) {
    throw new Error("not a pairing link: expected RELAY#DAEMON.KEY.CODE, as `vpd pair` prints it");
  }
  if (!/^wss?:\/\//.test(relayUrl)) {
    throw new Error(
      `a browser reaches the relay only by its WebSocket listener, and this link names ${relayUrl}: set relay.viewerUrl to a ws:// or wss:// address in the daemon's config`,
    );
  }
  return { relayUrl, daemonId, daemonKey, code };
}
