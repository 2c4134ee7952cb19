// The read-only HTTP API against its own OpenAPI document: schemathesis
// (installed by ./scripts/test into target/tools/schemathesis) fetches
// /api/openapi.json from a real daemon and runs every check it has against
// every operation, with a bounded number of examples. And a browser-style
// EventSource resume, read with fetch.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { ViewportClient } from "../dist/index.js";
import { Daemon } from "./daemon.mjs";

const ROOT = resolve(import.meta.dirname, "../../..");
const SCHEMATHESIS = process.env.SCHEMATHESIS_BIN ?? join(ROOT, "target/tools/schemathesis/bin/st");

let daemon;
let client;
before(async () => {
  daemon = await Daemon.start();
  client = await ViewportClient.connect(daemon.url, { token: daemon.token });
});
after(async () => {
  client?.disconnect();
  await daemon?.remove();
});

/** A demo session run to its end, so its event stream closes by itself. */
async function endedSession(prompt) {
  const sessionId = await client.launch({ cwd: daemon.work, agent: "demo", prompt });
  for await (const { update } of client.subscribe(sessionId)) {
    if (update.updateType === "state-change" && update.state === "idle") break;
  }
  await client.close(sessionId);
  return sessionId;
}

test("the API answers as its OpenAPI document says (schemathesis, every check)", async () => {
  assert.ok(
    existsSync(SCHEMATHESIS),
    `schemathesis is not installed at ${SCHEMATHESIS}: ./scripts/test installs it (python3 -m venv target/tools/schemathesis, then pip install schemathesis), or set SCHEMATHESIS_BIN`,
  );
  await endedSession("burst 5");
  const args = [
    "run",
    `${daemon.url}/api/openapi.json`,
    "--header",
    `Authorization: Bearer ${daemon.token}`,
    "--checks",
    "all",
    "--max-examples",
    "30",
    "--request-timeout",
    "5",
    "--generation-deterministic",
    "--no-color",
  ];
  const { code, output } = await new Promise((done) => {
    execFile(SCHEMATHESIS, args, { timeout: 240_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      done({ code: error ? (error.code ?? 1) : 0, output: `${stdout}${stderr}` }),
    );
  });
  assert.equal(code, 0, `schemathesis found failures:\n${output}`);
  assert.match(output, /Tested: 4/);
});

test("an event stream resumes after Last-Event-ID and closes when the session has ended", async () => {
  const sessionId = await endedSession("burst 40");
  const stream = async (headers) => {
    const response = await fetch(`${daemon.url}/api/sessions/${sessionId}/events/stream`, {
      headers: { authorization: `Bearer ${daemon.token}`, ...headers },
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type"), /^text\/event-stream/);
    return parseEvents(await response.text());
  };
  const whole = await stream({});
  const updates = whole.filter((e) => e.event === "update");
  assert.deepEqual(updates.map((e) => Number(e.id)), updates.map((_, i) => i + 1));
  assert.equal(whole.at(-1).event, "ended");
  assert.equal(JSON.parse(whole.at(-1).data).reason, "completed");

  const resumed = await stream({ "last-event-id": "30" });
  const rest = resumed.filter((e) => e.event === "update");
  assert.equal(Number(rest[0].id), 31);
  assert.deepEqual(rest.map((e) => e.data), updates.slice(30).map((e) => e.data));
});

/** Server-Sent Events from a whole body: `{event, id, data}` each. */
function parseEvents(text) {
  return text
    .split("\n\n")
    .map((block) => {
      const event = { event: "", id: undefined, data: "" };
      for (const line of block.split("\n")) {
        const [field, ...rest] = line.split(": ");
        if (field in event) event[field] = rest.join(": ");
      }
      return event;
    })
    .filter((event) => event.event);
}
