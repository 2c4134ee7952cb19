// The SDK against a real daemon running the scripted demo agent: a whole
// session driven through the client, pairing, refusals, and `subscribe`
// surviving connections cut by the test in the middle of a burst.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { ViewportClient, RequestError } from "../dist/index.js";
import { Daemon, relay } from "./daemon.mjs";

let daemon;
before(async () => {
  daemon = await Daemon.start();
});
after(async () => {
  await daemon?.remove();
});

/** Updates from `events` until one satisfies `done` (that one included).
 * It calls `next` itself: leaving a `for await` would end the iteration. */
async function until(events, done) {
  const seen = [];
  for (;;) {
    const { value, done: finished } = await events.next();
    if (finished) throw new Error(`the iteration ended first; last seen: ${JSON.stringify(seen.at(-1))}`);
    seen.push(value);
    if (done(value)) return seen;
  }
}

const isState = (state) => (event) => event.update.updateType === "state-change" && event.update.state === state;

test("a session is launched, answered, configured, read back and closed through the client", async () => {
  const client = await ViewportClient.connect(daemon.url, { token: daemon.token });
  try {
    const sessionId = await client.launch({ cwd: daemon.work, agent: "demo", prompt: "hello" });
    const events = client.subscribe(sessionId);
    const asked = await until(events, (e) => e.update.updateType === "permission-request");
    const request = asked.at(-1).update;
    await client.respondToPrompt(sessionId, request.promptId, { optionId: "allow" });
    const rest = await until(events, isState("idle"));
    const streamed = [...asked, ...rest];
    assert.deepEqual(
      streamed.map((e) => e.seq),
      streamed.map((_, i) => i + 1),
      "seqs from 1 with no gap",
    );
    assert.ok(rest.some((e) => e.update.updateType === "permission-resolved"));

    // Persisted history reads back the same updates, a page at a time.
    const first = await client.getEvents(sessionId, { limit: 5 });
    const second = await client.getEvents(sessionId, { afterSeq: 5, limit: 5000 });
    assert.deepEqual([...first, ...second].slice(0, streamed.length), streamed);

    const { sessions } = await client.listSessions();
    assert.equal(sessions.find((s) => s.sessionId === sessionId)?.state, "idle");
    const page = await client.listSessions({ limit: 1 });
    assert.equal(page.sessions.length, 1);

    await client.setConfig(sessionId, { mode: "plan" });
    await until(events, (e) => e.update.updateType === "system-status" && e.update.status === "config");
    await client.cancel(sessionId);

    // Closing ends the session, and with it the iteration.
    await client.close(sessionId);
    const ending = [];
    for await (const event of events) ending.push(event);
    assert.ok(ending.some(isState("ended")), "the ended state comes before the iteration stops");

    await client.destroy(sessionId);
    const after = await client.listSessions();
    assert.ok(!after.sessions.some((s) => s.sessionId === sessionId));
  } finally {
    client.disconnect();
  }
});

test("subscribe yields every seq once across connections cut mid-burst", async () => {
  const network = await relay(daemon);
  const client = await ViewportClient.connect(network.url, { token: daemon.token });
  try {
    const sessionId = await client.launch({ cwd: daemon.work, agent: "demo", prompt: "burst 20000" });
    const seqs = [];
    const cutAt = new Set([300, 4000, 12000]);
    let cuts = 0;
    for await (const event of client.subscribe(sessionId)) {
      seqs.push(event.seq);
      if (cutAt.has(seqs.length)) {
        network.cut();
        cuts += 1;
        setTimeout(() => network.restore(), 100);
      }
      if (isState("idle")(event)) break;
    }
    assert.equal(cuts, 3);
    assert.equal(new Set(seqs).size, seqs.length, "no update came twice");
    assert.deepEqual(seqs, seqs.map((_, i) => i + 1), "no update is missing");
    const stored = await client.getEvents(sessionId, { afterSeq: seqs.length - 1 });
    assert.equal(stored[0]?.seq, seqs.length, "the last one yielded is the last one stored");
  } finally {
    client.disconnect();
    await network.close();
  }
});

test("a subscription can start after a seq and is stopped by its signal", async () => {
  const client = await ViewportClient.connect(daemon.url, { token: daemon.token });
  try {
    const sessionId = await client.launch({ cwd: daemon.work, agent: "demo", prompt: "burst 10" });
    await until(client.subscribe(sessionId), isState("idle"));
    const stop = new AbortController();
    const seen = [];
    for await (const event of client.subscribe(sessionId, { afterSeq: 3, signal: stop.signal })) {
      seen.push(event.seq);
      if (seen.length === 2) stop.abort();
    }
    assert.deepEqual(seen, [4, 5]);
  } finally {
    client.disconnect();
  }
});

test("pairing with a one-time code gives a token that connects", async () => {
  const code = daemon.vpd("open", "--code");
  const paired = await ViewportClient.connect(daemon.url, { pairingCode: code, name: "sdk test" });
  try {
    assert.match(paired.token, /.{20,}/);
    assert.ok(Array.isArray((await paired.listSessions()).sessions));
  } finally {
    paired.disconnect();
  }
  const again = await ViewportClient.connect(daemon.url, { token: paired.token });
  again.disconnect();
  await assert.rejects(ViewportClient.connect(daemon.url, { pairingCode: code }), /pairing with .* failed/);
});

test("refusals say what was wrong", async () => {
  await assert.rejects(
    ViewportClient.connect(daemon.url, { token: "not-the-token" }),
    (error) => error instanceof RequestError && /is the token right/.test(error.message),
  );
  const client = await ViewportClient.connect(daemon.url, { token: daemon.token });
  try {
    await assert.rejects(client.prompt("ses_0000", "hi"), (error) => error.code === "unknown-session");
    const sessionId = await client.launch({ cwd: daemon.work, agent: "demo", prompt: "burst 3" });
    await until(client.subscribe(sessionId), isState("idle"));
    await assert.rejects(
      client.respondToPrompt(sessionId, "prm_0000", { optionId: "allow" }),
      (error) => error.code === "unknown-prompt",
    );
    await assert.rejects(client.launch({ prompt: "x" }), /directoryId or a cwd/);
    const events = client.subscribe("ses_0000");
    await assert.rejects(events.next(), (error) => error.code === "unknown-session");
  } finally {
    client.disconnect();
  }
});
