// Reloading while a reply streams: the page comes back to the same
// transcript with every seq applied once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loggedIn, screenshot, setUp } from "./harness.mjs";

const { daemon, chromium, network } = await setUp({ relay: true });

test("a reload mid-stream shows every update once", async () => {
  daemon.directory();
  // The browser reaches the daemon through a relay the test can cut.
  const page = await loggedIn(chromium, daemon, { via: network });
  const sessionId = daemon.vpd("run", "--detach", "stream 60 20");
  const id = await page.evaluate(async () => (await (await fetch("/api/info")).json()).daemonId);
  await page.goto(`${network.url}/#/session/${id}/${sessionId}`);
  await page.waitForFunction(() => Number(document.querySelector(".transcript")?.dataset.lastSeq) > 10);
  await page.reload();
  await page.waitForSelector(".entry.agent");
  // Losing the network (not the page) must resume the same way.
  await page.waitForFunction(() => Number(document.querySelector(".transcript")?.dataset.lastSeq) > 30);
  network.cut();
  await page.waitForSelector(".reconnecting");
  await screenshot(page, "reconnecting");
  network.restore();
  await page.waitForSelector(".reconnecting", { state: "detached" });
  await page.waitForSelector(".session-head [data-state=idle]", { timeout: 20_000 });

  const log = daemon.vpd("export", sessionId).split("\n").map((line) => JSON.parse(line));
  const updates = log.filter((line) => line.seq !== undefined);
  const lastSeq = Math.max(...updates.map((u) => u.seq));
  const streamed = updates
    .filter((u) => u.update.updateType === "agent-message-chunk")
    .map((u) => u.update.text)
    .join("");
  const shown = await page.locator(".transcript").evaluate((element) => ({
    first: Number(element.dataset.firstSeq),
    last: Number(element.dataset.lastSeq),
    applied: Number(element.dataset.applied),
  }));
  assert.deepEqual(shown, { first: 1, last: lastSeq, applied: lastSeq }, "every seq once, none missing");
  assert.equal((await page.locator(".entry.agent").first().textContent())?.trim(), streamed);
  await screenshot(page, "reloaded");
});
