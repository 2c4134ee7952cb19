// A daemon behind NAT, reached through a real nats-server: the browser pairs
// with the link `vpd pair` prints, sees its sessions live, answers a
// prompt, keeps the pairing across a reload, and the relay's own trace
// shows no plaintext.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { Daemon, browser, loggedIn, natsServer, screenshot } from "./harness.mjs";

const SECRET = "pelican-cipher-4711";
const nats = await natsServer();
const home = await Daemon.start();
const remote = await Daemon.start(`relay:\n  url: ${nats.url}\n  viewerUrl: ${nats.wsUrl}\n`);
const chromium = await browser();
after(async () => {
  await chromium.close();
  await home.remove();
  await remote.remove();
  await nats.remove();
});

async function onRelay(daemon) {
  const deadline = Date.now() + 15_000;
  while (!daemon.log.includes("serving viewports through the relay")) {
    if (Date.now() > deadline) throw new Error(`the daemon did not reach the relay: ${daemon.log}`);
    await sleep(20);
  }
}

test("a daemon through the relay: paired by link, live, a prompt answered", async () => {
  await onRelay(remote);
  remote.directory();
  const finished = remote.vpd("run", "--detach", `tell me about the ${SECRET} please`);
  const page = await loggedIn(chromium, home);

  await page.click("a[href='#/daemons']");
  const link = JSON.parse(remote.vpd("pair", "--json")).relayLink;
  assert.ok(link.startsWith(nats.wsUrl), link);
  await page.fill("input[name=address]", link);
  assert.equal(await page.locator("input[name=code]").count(), 0, "a relay link needs no separate code");
  await page.click("form.pair button[type=submit]");
  await page.waitForSelector("tr[data-daemon] .daemon-pill.online >> nth=1");
  await page.waitForSelector("td:has-text('relay, end-to-end encrypted')");
  await screenshot(page, "relay-daemon");

  // The session asks before it acts; the page answers through the relay.
  await page.click("a[href='#/']");
  const row = page.locator(`tr[data-session='${finished}']`);
  await row.waitFor();
  await row.locator("a").click();
  await page.waitForSelector(`.entry.user:has-text('${SECRET}')`);
  await page.click(".prompt button:has-text('Allow')");
  await page.waitForSelector(".permission-line:has-text('→ Allow')");
  await page.waitForSelector(".session-head [data-state=idle]");
  await screenshot(page, "relay-session");
  const shown = JSON.parse(remote.vpd("ls", "--json")).find((s) => s.sessionId === finished);
  assert.equal(shown.state, "idle");

  // The pairing stays in this browser: after a reload the daemon is back.
  await page.reload();
  await page.waitForSelector(`.entry.user:has-text('${SECRET}')`);

  const trace = nats.log();
  assert.ok(trace.includes("MSG_PAYLOAD"), "the relay traced what it carried");
  for (const plain of [SECRET, "browser at", "Allow"]) {
    assert.ok(!trace.includes(plain), `the relay saw ${plain}`);
  }
  const viewers = JSON.parse(remote.vpd("pair", "ls", "--json"));
  assert.ok(viewers.some((v) => v.relay && v.name.startsWith("browser at")), JSON.stringify(viewers));
});
