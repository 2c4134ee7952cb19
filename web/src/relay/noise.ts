// Noise_IK_25519_ChaChaPoly_SHA256 (noiseprotocol.org, revision 34), the
// initiator's side: all a viewport needs to reach a daemon through the
// relay. The primitives are the audited @noble packages; the daemon speaks
// the same handshake with the `snow` crate, and the browser tests run one
// against the other.
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";

/** The protocol name is exactly 32 bytes (the hash length), so it is the initial hash as is. */
const PROTOCOL_NAME = new TextEncoder().encode("Noise_IK_25519_ChaChaPoly_SHA256");
const KEY_BYTES = 32;

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Noise's HKDF with two outputs. */
function hkdf(chainingKey: Uint8Array, input: Uint8Array): [Uint8Array, Uint8Array] {
  const temp = hmac(sha256, chainingKey, input);
  const first = hmac(sha256, temp, Uint8Array.of(1));
  const second = hmac(sha256, temp, concat(first, Uint8Array.of(2)));
  return [first, second];
}

/** A key and its counter: ChaCha20-Poly1305 with a 32-bit zero then the
 * counter, little-endian, as the nonce. */
export class CipherState {
  private counter = 0n;

  constructor(private readonly key?: Uint8Array) {}

  encrypt(associated: Uint8Array, plain: Uint8Array): Uint8Array {
    if (!this.key) return plain;
    return chacha20poly1305(this.key, this.nextNonce(), associated).encrypt(plain);
  }

  /** Throws when the message does not open (forged, replayed, lost). */
  decrypt(associated: Uint8Array, sealed: Uint8Array): Uint8Array {
    if (!this.key) return sealed;
    return chacha20poly1305(this.key, this.nextNonce(), associated).decrypt(sealed);
  }

  private nextNonce(): Uint8Array {
    const nonce = new Uint8Array(12);
    new DataView(nonce.buffer).setBigUint64(4, this.counter, true);
    this.counter += 1n;
    return nonce;
  }
}

export interface KeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

export function generateKeyPair(): KeyPair {
  return x25519.keygen();
}

export function keyPairOf(secretKey: Uint8Array): KeyPair {
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

/** The two directions once the handshake is done. */
export interface Transport {
  send: CipherState;
  receive: CipherState;
}

/** One handshake as the initiator, who knows the responder's static key. */
export class Initiator {
  private hash: Uint8Array = PROTOCOL_NAME.slice();
  private chainingKey: Uint8Array = PROTOCOL_NAME.slice();
  private cipher = new CipherState();
  private ephemeral?: KeyPair;

  constructor(
    private readonly local: KeyPair,
    private readonly remoteStatic: Uint8Array,
  ) {
    if (remoteStatic.length !== KEY_BYTES) throw new Error("the daemon's key is not 32 bytes");
    this.mixHash(new Uint8Array(0)); // the empty prologue
    this.mixHash(remoteStatic); // <- s
  }

  /** -> e, es, s, ss, then the payload. */
  writeFirst(payload: Uint8Array): Uint8Array {
    const ephemeral = generateKeyPair();
    this.ephemeral = ephemeral;
    this.mixHash(ephemeral.publicKey);
    this.mixKey(x25519.getSharedSecret(ephemeral.secretKey, this.remoteStatic));
    const sealedStatic = this.encryptAndHash(this.local.publicKey);
    this.mixKey(x25519.getSharedSecret(this.local.secretKey, this.remoteStatic));
    const sealedPayload = this.encryptAndHash(payload);
    return concat(ephemeral.publicKey, sealedStatic, sealedPayload);
  }

  /** <- e, ee, se, then the payload; the handshake is done. */
  readSecond(message: Uint8Array): { payload: Uint8Array; transport: Transport } {
    if (!this.ephemeral) throw new Error("the first message was not written");
    if (message.length < KEY_BYTES + 16) throw new Error("the daemon's answer is too short");
    const remoteEphemeral = message.subarray(0, KEY_BYTES);
    this.mixHash(remoteEphemeral);
    this.mixKey(x25519.getSharedSecret(this.ephemeral.secretKey, remoteEphemeral));
    this.mixKey(x25519.getSharedSecret(this.local.secretKey, remoteEphemeral));
    const payload = this.decryptAndHash(message.subarray(KEY_BYTES));
    const [toResponder, toInitiator] = hkdf(this.chainingKey, new Uint8Array(0));
    return { payload, transport: { send: new CipherState(toResponder), receive: new CipherState(toInitiator) } };
  }

  private mixHash(data: Uint8Array): void {
    this.hash = sha256(concat(this.hash, data));
  }

  private mixKey(input: Uint8Array): void {
    const [chainingKey, key] = hkdf(this.chainingKey, input);
    this.chainingKey = chainingKey;
    this.cipher = new CipherState(key);
  }

  private encryptAndHash(plain: Uint8Array): Uint8Array {
    const sealed = this.cipher.encrypt(this.hash, plain);
    this.mixHash(sealed);
    return sealed;
  }

  private decryptAndHash(sealed: Uint8Array): Uint8Array {
    const plain = this.cipher.decrypt(this.hash, sealed);
    this.mixHash(sealed);
    return plain;
  }
}
